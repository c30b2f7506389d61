// Weft's offline outbox: availability edits and the confirm-shift tap made without a connection are kept
// on the phone (IndexedDB) and sent, in order, when it comes back.
//
// The same file runs in two places:
// - in the service worker (sw.js imports it first): it answers those two POSTs, queueing them when the
//   network fails (or when older ones still wait, so the order holds), and replays the queue on Background
//   Sync (Chromium) or when a page asks ({type: "FLUSH_OUTBOX"});
// - in agent pages (a deferred script): it asks for a replay at start-up and on the "online" event (Safari
//   and Firefox have no Background Sync), shows what is waiting and what the server refused, and turns
//   the buttons that need the network ([data-needs-network]) off while offline.
//
// A replay is sent as htmx would send it, plus "X-Weft-Replay: <user id>": the server refuses (403) a
// change queued by someone else on this phone, and names every refusal in "X-Weft-Refusal" (409 the week
// changed meanwhile, 422 its deadline passed, 410 the shift was cancelled): the change is dropped from the
// queue and the refusal is kept until the agent has read it. Nothing is dropped or overwritten silently.
"use strict";

(function (scope) {
  const DB_NAME = "weft-outbox";
  const QUEUE = "queue";
  const META = "meta";
  const OUTCOMES = "outcomes";
  const SYNC_TAG = "weft-outbox";
  const REPLAY_HEADER = "X-Weft-Replay";
  const QUEUED_PATHS = [
    { kind: "availability", pattern: /^\/app\/availability\/?$/ },
    { kind: "confirm", pattern: /^\/app\/shifts\/\d+\/confirm\/?$/ },
  ];
  const inWorker = typeof ServiceWorkerGlobalScope !== "undefined" && scope instanceof ServiceWorkerGlobalScope;

  // IndexedDB, as promises -------------------------------------------------------------------------

  let opened = null;

  function database() {
    if (!opened) {
      opened = new Promise((resolve, reject) => {
        const request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = () => {
          const db = request.result;
          db.createObjectStore(QUEUE, { keyPath: "id", autoIncrement: true });
          db.createObjectStore(OUTCOMES, { keyPath: "id", autoIncrement: true });
          db.createObjectStore(META);
        };
        request.onsuccess = () => {
          const db = request.result;
          db.onversionchange = () => { db.close(); opened = null; };
          resolve(db);
        };
        request.onerror = () => { opened = null; reject(request.error); };
      });
    }
    return opened;
  }

  function done(request) {
    return new Promise((resolve, reject) => {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function objects(name, mode) {
    return (await database()).transaction(name, mode).objectStore(name);
  }

  const all = async (name) => done((await objects(name, "readonly")).getAll());
  const read = async (name, key) => done((await objects(name, "readonly")).get(key));
  const write = async (name, value, key) => done((await objects(name, "readwrite")).put(value, key));
  const forget = async (name, key) => done((await objects(name, "readwrite")).delete(key));

  // The signed-in agent on this phone, as the last agent page saw them: {user, csrf, lang, texts}.
  const session = async () => (await read(META, "session")) || {};

  async function waiting(user) {
    return (await all(QUEUE)).filter((entry) => entry.user === user);
  }

  function kindOf(url) {
    const path = new URL(url, scope.location.href).pathname;
    const found = QUEUED_PATHS.find((queued) => queued.pattern.test(path));
    return found ? found.kind : null;
  }

  // Replaying the queue ------------------------------------------------------------------------------

  function replayBody(entry, current) {
    const fields = new URLSearchParams(entry.fields);
    if (fields.has("_csrf_token")) fields.set("_csrf_token", current.csrf || "");
    return fields.toString();
  }

  function refusalOf(response) {
    const header = response.headers.get("X-Weft-Refusal");
    if (!header) return null;
    const space = header.indexOf(" ");
    return { status: Number(header.slice(0, space)), message: decodeURIComponent(header.slice(space + 1)) };
  }

  // A later edit of the same week was made on top of an earlier queued one: once that one is in, the
  // later ones are based on the version it produced, not on the page's (now older) version.
  async function rebaseAfter(sent, version) {
    for (const entry of await waiting(sent.user)) {
      if (entry.kind === "availability" && entry.fields.week === sent.fields.week && entry.fields.version) {
        entry.fields.version = version;
        await write(QUEUE, entry);
      }
    }
  }

  async function replay(entry, current) {
    let response;
    try {
      response = await fetch(entry.url, {
        method: "POST",
        body: replayBody(entry, current),
        credentials: "same-origin",
        redirect: "manual",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          "HX-Request": "true",
          "x-csrftoken": current.csrf || "",
          [REPLAY_HEADER]: String(entry.user),
        },
      });
    } catch (error) {
      return "offline";
    }
    const refusal = refusalOf(response);
    if (refusal) {
      await write(OUTCOMES, {
        user: entry.user, kind: entry.kind, status: refusal.status, message: refusal.message,
        created_at: entry.created_at, url: entry.url,
      });
      await forget(QUEUE, entry.id);
      return "refused";
    }
    if (response.status >= 200 && response.status < 300) {
      await forget(QUEUE, entry.id);
      const version = response.headers.get("X-Weft-Week-Version");
      if (version && entry.kind === "availability") await rebaseAfter(entry, version);
      return "sent";
    }
    return "kept"; // signed out, another person's session, server trouble: it waits for a later try
  }

  async function flushNow() {
    const result = { sent: 0, refused: 0, waiting: 0 };
    const current = await session();
    if (!current.user) return result;
    for (const entry of await waiting(current.user)) {
      const fresh = await read(QUEUE, entry.id); // rebased by an earlier replay in this round
      if (!fresh) continue;
      const outcome = await replay(fresh, current);
      if (outcome === "sent") result.sent += 1;
      else if (outcome === "refused") result.refused += 1;
      else break; // keep the order: nothing after a change that could not go
    }
    result.waiting = (await waiting(current.user)).length;
    return result;
  }

  // One replay at a time, across the worker and every tab (a change must never be sent twice).
  function flush() {
    if (scope.navigator && scope.navigator.locks) return scope.navigator.locks.request(SYNC_TAG, flushNow);
    return flushNow();
  }

  // The worker's part -------------------------------------------------------------------------------

  function handles(request) {
    if (request.method !== "POST" || request.headers.has(REPLAY_HEADER)) return false;
    const url = new URL(request.url);
    return url.origin === scope.location.origin && kindOf(request.url) !== null;
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function queuedAnswer(entry, request, current) {
    if (entry.htmx) {
      const event = { "weft-queued": { kind: entry.kind, fields: entry.fields } };
      return new Response("", { status: 200, headers: { "HX-Reswap": "none", "HX-Trigger": JSON.stringify(event) } });
    }
    // A plain form post (no htmx): a small page that says so and leads back.
    const texts = current.texts || {};
    const back = request.referrer && new URL(request.referrer).origin === scope.location.origin ? request.referrer : "/app";
    const html = `<!doctype html><html lang="${escapeHtml(current.lang || "en")}"><head><meta charset="utf-8">` +
      `<meta name="viewport" content="width=device-width, initial-scale=1"><title>Weft</title>` +
      `<link rel="stylesheet" href="/static/app.css"></head><body class="agent"><main id="main">` +
      `<p class="notice" role="status">${escapeHtml(texts.queued || "Saved on this phone.")}</p>` +
      `<a class="button primary wide" href="${escapeHtml(back)}">${escapeHtml(texts.back || "Back")}</a>` +
      `</main></body></html>`;
    return new Response(html, { status: 200, headers: { "Content-Type": "text/html; charset=utf-8" } });
  }

  async function askForSync() {
    try {
      if (scope.registration && scope.registration.sync) await scope.registration.sync.register(SYNC_TAG);
    } catch (error) {
      // No Background Sync (or not allowed): the pages replay at start-up and when back online.
    }
  }

  async function sendOrQueue(request) {
    const kind = kindOf(request.url);
    const body = await request.clone().text();
    const current = await session();
    if (!current.user) return fetch(request); // no agent page has run yet: nothing to queue for
    if (scope.navigator.onLine && (await waiting(current.user)).length === 0) {
      try {
        return await fetch(request);
      } catch (error) {
        // The network failed: queue it below.
      }
    }
    const entry = {
      url: request.url, kind, user: current.user, created_at: Date.now(),
      htmx: request.headers.get("HX-Request") === "true",
      fields: Object.fromEntries(new URLSearchParams(body)),
    };
    if (entry.htmx && entry.fields.action === "paint" && !entry.fields.anchor) {
      return queuedAnswer(entry, request, current); // the first tap of a range only marks it: nothing to send
    }
    entry.id = await write(QUEUE, entry);
    await askForSync();
    if (scope.navigator.onLine) flush().then(announce); // online but older changes waited: send them now
    return queuedAnswer(entry, request, current);
  }

  async function announce(result) {
    const windows = await scope.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const client of windows) client.postMessage({ type: "OUTBOX_FLUSHED", result });
    return result;
  }

  function startWorker() {
    scope.addEventListener("fetch", (event) => {
      if (handles(event.request)) event.respondWith(sendOrQueue(event.request));
    });
    scope.addEventListener("sync", (event) => {
      if (event.tag !== SYNC_TAG) return;
      event.waitUntil(flush().then(announce).then((result) => {
        if (result.waiting) throw new Error("Some changes are still waiting; the browser will try again.");
      }));
    });
    scope.addEventListener("message", (event) => {
      if (event.data && event.data.type === "FLUSH_OUTBOX") event.waitUntil(flush().then(announce));
    });
    scope.weftOutbox = { handles, flush, SYNC_TAG };
  }

  // The page's part ---------------------------------------------------------------------------------

  function startPage(script) {
    const texts = Object.assign({}, script.dataset);
    let lastSent = 0;

    function csrfToken() {
      try {
        return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || "";
      } catch (error) {
        return "";
      }
    }

    function element(tag, className, text) {
      const made = document.createElement(tag);
      if (className) made.className = className;
      if (text) made.textContent = text;
      return made;
    }

    async function showReport() {
      const user = texts.user;
      const pending = (await waiting(user)).length;
      const refused = (await all(OUTCOMES)).filter((outcome) => outcome.user === user);
      let report = document.getElementById("outbox-report");
      if (!report) {
        report = element("section", "outbox-report");
        report.id = "outbox-report";
        report.setAttribute("aria-live", "polite");
        const main = document.getElementById("main");
        main.parentNode.insertBefore(report, main);
      }
      report.replaceChildren();
      if (pending) {
        const words = (pending === 1 ? texts.pendingOne : texts.pendingMany) || "";
        report.append(element("p", "notice outbox-pending", words.replace("%(num)s", String(pending))));
      } else if (lastSent) {
        report.append(element("p", "notice outbox-sent", texts.sent));
      }
      const shown = new Set();
      for (const outcome of refused) {
        if (shown.has(outcome.message)) continue; // several taps refused for one reason: say it once
        shown.add(outcome.message);
        const line = element("p", "alert outbox-refused");
        line.setAttribute("role", "alert");
        line.append(element("strong", "", texts.refused), " ", outcome.message);
        report.append(line);
      }
      if (refused.length) {
        const ok = element("button", "button secondary", texts.dismiss);
        ok.type = "button";
        ok.addEventListener("click", async () => {
          for (const outcome of refused) await forget(OUTCOMES, outcome.id);
          showReport();
        });
        report.append(ok);
      }
      report.hidden = !report.childElementCount;
    }

    function refreshGrid() {
      if (document.getElementById("availability") && scope.htmx) {
        scope.htmx.ajax("GET", location.pathname + location.search, { target: "#main", select: "#availability", swap: "innerHTML" });
      }
    }

    function afterFlush(result) {
      if (!result) return;
      if (result.sent) lastSent = result.sent; // a second, empty round (sync and "online" both ask) keeps the news
      showReport();
      if (result.sent || result.refused) refreshGrid();
    }

    async function requestFlush() {
      const worker = navigator.serviceWorker && navigator.serviceWorker.controller;
      if (worker) {
        worker.postMessage({ type: "FLUSH_OUTBOX" });
      } else {
        afterFlush(await flush());
      }
    }

    function cycleSlot(button, grid) {
      const order = ["off", "preferred", "if_needed"];
      const now = order.find((name) => button.classList.contains(name)) || "off";
      const next = order[(order.indexOf(now) + 1) % order.length];
      paintSlot(button, next, grid);
    }

    function paintSlot(button, state, grid) {
      button.classList.remove("off", "preferred", "if_needed", "anchor");
      button.classList.add(state);
      const label = button.querySelector(".slot-state");
      if (label) label.textContent = state === "off" ? "" : (grid.dataset["label" + (state === "preferred" ? "Preferred" : "IfNeeded")] || "");
    }

    // Show a queued grid edit as if it were saved: the page stays usable offline.
    function showQueuedEdit(fields) {
      const grid = document.querySelector("form.avail-grid");
      if (!grid || !fields.slot) return;
      const button = grid.querySelector(`button.slot[value="${CSS.escape(fields.slot)}"]`);
      if (!button) return;
      if (fields.action === "tap") {
        cycleSlot(button, grid);
      } else if (fields.action === "paint" && !fields.anchor) {
        const anchor = grid.querySelector('input[name="anchor"]') || element("input");
        anchor.type = "hidden";
        anchor.name = "anchor";
        anchor.value = fields.slot;
        grid.append(anchor);
        button.classList.add("anchor");
      } else if (fields.action === "paint") {
        const [low, high] = [Number(fields.anchor), Number(fields.slot)].sort((a, b) => a - b);
        const state = fields.brush === "off" ? "off" : fields.brush;
        for (const slot of grid.querySelectorAll("button.slot")) {
          if (Number(slot.value) >= low && Number(slot.value) <= high) paintSlot(slot, state, grid);
        }
        const anchor = grid.querySelector('input[name="anchor"]');
        if (anchor) anchor.remove();
      }
    }

    function showQueuedConfirm(form) {
      if (!form || !form.parentNode) return;
      const note = element("p", "notice", texts.confirmQueued);
      note.setAttribute("role", "status");
      form.replaceWith(note);
    }

    function markNetworkButtons(root) {
      const offline = !navigator.onLine;
      for (const button of (root || document).querySelectorAll("[data-needs-network]")) {
        if (offline && !button.dataset.onlineLabel) {
          button.dataset.onlineLabel = button.textContent;
          button.dataset.wasDisabled = button.disabled ? "1" : "";
          button.textContent = texts.offlineLabel;
          button.disabled = true;
        } else if (!offline && button.dataset.onlineLabel) {
          button.textContent = button.dataset.onlineLabel;
          button.disabled = button.dataset.wasDisabled === "1";
          delete button.dataset.onlineLabel;
        }
      }
    }

    document.body.addEventListener("weft-queued", (event) => {
      const detail = event.detail || {};
      if (detail.kind === "availability") showQueuedEdit(detail.fields || {});
      if (detail.kind === "confirm") showQueuedConfirm(event.target.closest("form"));
      lastSent = 0;
      showReport();
    });
    document.body.addEventListener("htmx:load", (event) => markNetworkButtons(event.target));
    window.addEventListener("online", () => { markNetworkButtons(); requestFlush(); });
    window.addEventListener("offline", () => markNetworkButtons());
    if (navigator.serviceWorker) {
      navigator.serviceWorker.addEventListener("message", (event) => {
        if (event.data && event.data.type === "OUTBOX_FLUSHED") afterFlush(event.data.result);
      });
    }

    markNetworkButtons();
    const current = { user: texts.user, csrf: csrfToken(), lang: document.documentElement.lang, texts };
    write(META, current, "session").then(showReport).then(() => {
      if (navigator.onLine) requestFlush();
    }).catch(() => {
      // No IndexedDB (a private window on some browsers): edits then simply need the network.
    });
  }

  if (inWorker) {
    startWorker();
  } else if (document.currentScript) {
    const script = document.currentScript;
    const start = () => startPage(script);
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
  }
})(self);
