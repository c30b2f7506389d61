// Lighthouse on a list of pages in one Chromium, for tests/e2e/test_lighthouse.py.
//
//   node tests/quality/lighthouse.mjs REQUEST.json
//
// REQUEST.json: {"urls": [...], "cookies": [{"name", "value", "url", "httpOnly", "sameSite"}],
//                "chrome": "/usr/bin/chromium", "chromeFlags": [...], "runs": 3}
// The cookies go into the browser's own jar (not an extra header): the service worker's fetches carry
// them too. Lighthouse's storage reset before each run clears the worker and its caches, not cookies,
// so every run is a signed-in agent's first visit.
// Prints one JSON object on stdout: {"pages": [{"url", "runs", "scores": {category: 0-100},
// "failing": {category: [{"id", "title", "score", "weight", "displayValue"}]},
// "performanceRuns": [{"score", "failing"}]}]}: each run's performance score, to see how it varies.
// Each page runs until its performance is 100 or `runs` runs are done; a category keeps its best score
// over the runs (the performance score moves with the machine's load, the other two do not).
import fs from 'node:fs';

import * as chromeLauncher from 'chrome-launcher';
import lighthouse from 'lighthouse';
import puppeteer from 'puppeteer-core';

const CATEGORIES = ['performance', 'accessibility', 'best-practices'];
// Audits that weigh nothing in any score and cost seconds per run (a back-and-forward navigation, screenshots).
const UNSCORED_SLOW_AUDITS = ['bf-cache', 'full-page-screenshot', 'screenshot-thumbnails', 'final-screenshot'];

function failingAudits(lhr, category) {
  return lhr.categories[category].auditRefs
    .map((ref) => ({ref, audit: lhr.audits[ref.id]}))
    .filter(({audit}) => audit.score !== null && audit.score < 1 && audit.scoreDisplayMode !== 'informative')
    .map(({ref, audit}) => ({
      id: audit.id,
      title: audit.title,
      score: audit.score,
      weight: ref.weight,
      displayValue: audit.displayValue || '',
    }));
}

async function measure(url, request, port) {
  const best = {scores: {}, failing: {}, performanceRuns: []};
  let runs = 0;
  let attempts = 0;
  while (runs < request.runs && attempts < 2 * request.runs) {
    attempts += 1;
    const result = await lighthouse(url, {
      port,
      output: 'json',
      logLevel: 'error',
      onlyCategories: CATEGORIES,
      skipAudits: UNSCORED_SLOW_AUDITS,
      formFactor: 'mobile',
    });
    const lhr = result.lhr;
    if (lhr.runtimeError) { // a failed trace (NO_NAVSTART...) is no measurement: try again, within limits
      best.error = `${lhr.runtimeError.code}: ${lhr.runtimeError.message}`;
      continue;
    }
    runs += 1;
    delete best.error;
    best.performanceRuns.push({
      score: Math.round((lhr.categories.performance.score || 0) * 100),
      failing: failingAudits(lhr, 'performance').filter((audit) => audit.weight > 0),
    });
    for (const category of CATEGORIES) {
      const score = Math.round((lhr.categories[category].score || 0) * 100);
      if (best.scores[category] === undefined || score > best.scores[category]) {
        best.scores[category] = score;
        best.failing[category] = failingAudits(lhr, category);
      }
    }
    best.finalUrl = lhr.finalDisplayedUrl;
    if (best.scores.performance === 100) break; // only performance varies from run to run
  }
  return {url, runs, ...best};
}

async function main() {
  const request = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const chrome = await chromeLauncher.launch({
    chromePath: request.chrome,
    chromeFlags: request.chromeFlags,
  });
  try {
    const browser = await puppeteer.connect({browserURL: `http://127.0.0.1:${chrome.port}`});
    const session = await browser.target().createCDPSession();
    await session.send('Storage.setCookies', {cookies: request.cookies});
    await session.detach();
    await browser.disconnect();
    const pages = [];
    for (const url of request.urls) {
      pages.push(await measure(url, request, chrome.port));
    }
    process.stdout.write(JSON.stringify({pages}));
  } finally {
    await chrome.kill();
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
