// Writing offline, the service worker's part (sw.js imports it first): availability edits and the confirm-shift
// tap made without a connection are kept in IndexedDB and replayed in order on Background Sync (Chromium) or when
// a page asks ({type: "FLUSH_OUTBOX"}: outbox-page.js does at start-up and on "online", as Safari and Firefox have
// no Background Sync). A replay goes as htmx would send it, plus "X-Weft-Replay: <user id>" (the server refuses,
// 403, a change queued by someone else on this phone: it stays for its owner). A refusal the server names in
// "X-Weft-Refusal" (409 the week changed meanwhile, 422 its deadline passed, 410 the shift went) leaves the queue
// and is kept until the agent has read it. Nothing is dropped or overwritten silently.
"use strict";

(function (scope) {
  const { QUEUE, META, OUTCOMES, read, write, forget, waiting } = scope.weftOutboxStore; // outbox-store.js
  const SYNC_TAG = "weft-outbox";
  const REPLAY_HEADER = "X-Weft-Replay";
  const QUEUED_PATHS = [
    { kind: "availability", pattern: /^\/app\/availability\/?$/ },
    { kind: "confirm", pattern: /^\/app\/shifts\/\d+\/confirm\/?$/ },
  ];
  const inWorker = typeof ServiceWorkerGlobalScope !== "undefined" && scope instanceof ServiceWorkerGlobalScope;

  // The signed-in agent on this phone, as the last agent page saw them: {user, csrf, lang, texts}.
  const session = async () => (await read(META, "session")) || {};

  function kindOf(url) {
    const path = new URL(url, scope.location.href).pathname;
    const found = QUEUED_PATHS.find((queued) => queued.pattern.test(path));
    return found ? found.kind : null;
  }


  function replayBody(entry, current) {
    const fields = new URLSearchParams(entry.fields);
    if (fields.has("_csrf_token")) fields.set("_csrf_token", current.csrf || "");
    return fields.toString();
  }

  function refusalOf(response) {
    const header = response.headers.get("X-Weft-Refusal"); // "409 Week%202026-W50%20was..."
    return header && { message: decodeURIComponent(header.slice(header.indexOf(" ") + 1)) };
  }

  // Later queued edits of the week were made on top of this one: they are based on the version it produced.
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
      await write(OUTCOMES, { user: entry.user, message: refusal.message });
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
      // No Background Sync: pages replay at start-up and when back online.
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

  if (inWorker) startWorker();
})(self);
