// Weft's service worker: keeps the shell for offline use, keeps the pages an agent reads (per reader, forgotten
// at sign-out), answers offline, waits politely for an update, and shows Web Push notifications.
// /sw.js is served by backend/core/pwa.py, which writes the configuration below (cache version, shell files).
"use strict";

const WEFT = /*WEFT_CONFIG*/{};

if (WEFT.outbox && WEFT.outbox.length) {
  try {
    importScripts(...WEFT.outbox); // writing offline (outbox-store.js, outbox.js): its own sync and message listeners
  } catch (error) {
    // Without the outbox the worker still reads offline; the page's forms then need the network.
  }
}

const SHELL_CACHE = `weft-shell-${WEFT.version || "dev"}`;
const READER_PREFIX = "weft-reader-";
const READER_META = "/__weft/reader";
const READER_HEADER = "x-weft-reader";
const LANGUAGE_HEADER = "x-weft-lang";
const FETCHED_AT_HEADER = "x-weft-fetched-at";
const NETWORK_PATIENCE_MS = 6000; // after this a kept copy is shown; the network answer still refreshes it
// The pages an agent reads on the go: Home, My schedule, handover notes, Earnings and its statements, lessons.
const READABLE = [
  /^\/app\/?$/,
  /^\/app\/shifts\/?$/,
  /^\/app\/shifts\/\d+\/handover$/,
  /^\/app\/handover\/(schedule|shifts\/\d+)$/,
  /^\/app\/earnings\/?$/,
  /^\/app\/earnings\/periods\/\d+$/,
  /^\/app\/learn\/courses\/\d+(\/lessons\/\d+)?$/,
  /^\/app\/inbox\/badge$/,
];

self.addEventListener("install", (event) => {
  // No skipWaiting here: a new version waits until the agent taps Refresh (the page's SKIP_WAITING).
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(WEFT.shell || [])));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names
      .filter((name) => name.startsWith("weft-shell-") && name !== SHELL_CACHE)
      .map((name) => caches.delete(name)));
    await self.clients.claim();
  })());
});

self.addEventListener("message", (event) => {
  const type = event.data && event.data.type;
  if (type === "SKIP_WAITING") self.skipWaiting();
  if (type === "FORGET_READER") event.waitUntil(forgetReaders(""));
});

async function forgetReaders(keep) {
  // The next person on a shared phone must find nothing of the last one's pages.
  const names = await caches.keys();
  await Promise.all(names
    .filter((name) => name.startsWith(READER_PREFIX) && name !== keep)
    .map((name) => caches.delete(name)));
}

async function readerCache() {
  const names = await caches.keys();
  const name = names.find((found) => found.startsWith(READER_PREFIX));
  return name ? caches.open(name) : null;
}

function isReadable(url) {
  return READABLE.some((pattern) => pattern.test(url.pathname));
}

function cacheKey(request, url, htmx) {
  if (!htmx) return url.origin + url.pathname + url.search;
  const target = request.headers.get("HX-Target") || "";
  return `${url.origin}${url.pathname}${url.search}${url.search ? "&" : "?"}weft-fragment=${encodeURIComponent(target)}`;
}

function isHtml(response) {
  return (response.headers.get("content-type") || "").startsWith("text/html");
}

async function keep(response, key) {
  const reader = response.headers.get(READER_HEADER);
  if (!reader) return;
  const name = READER_PREFIX + reader;
  await forgetReaders(name);
  const cache = await caches.open(name);
  const headers = new Headers(response.headers);
  headers.set(FETCHED_AT_HEADER, new Date().toISOString());
  headers.delete("content-length"); // the kept body is decoded, and the banner changes its length
  headers.delete("content-encoding");
  const body = await response.blob();
  await cache.put(key, new Response(body, { status: response.status, statusText: response.statusText, headers }));
  const meta = JSON.stringify({ lang: response.headers.get(LANGUAGE_HEADER) || "" });
  await cache.put(READER_META, new Response(meta, { headers: { "content-type": "application/json" } }));
}

async function keptCopy(key) {
  const cache = await readerCache();
  return cache ? cache.match(key) : undefined;
}

async function withOfflineBanner(copy) {
  // base.html has a hidden banner whose data-offline-as-of the page's script turns into "Offline — as of 14:05".
  const fetchedAt = copy.headers.get(FETCHED_AT_HEADER) || "";
  const text = (await copy.text()).replace('data-offline-as-of=""', `data-offline-as-of="${fetchedAt}"`);
  return new Response(text, { status: 200, headers: copy.headers });
}

function fragmentFromCopy(copy) {
  const headers = new Headers(copy.headers);
  headers.set("HX-Trigger", JSON.stringify({ "weft-offline-copy": { asOf: copy.headers.get(FETCHED_AT_HEADER) || "" } }));
  return new Response(copy.body, { status: 200, headers });
}

function offlineFragment() {
  // Swaps nothing (the page stays as it was); the page's script shows its "you are offline" note.
  return new Response('<p class="offline-note">offline</p>', {
    status: 200,
    headers: { "content-type": "text/html; charset=utf-8", "HX-Reswap": "none", "HX-Trigger": "weft-offline" },
  });
}

async function offlinePage() {
  const cache = await readerCache();
  const meta = cache ? await cache.match(READER_META) : undefined;
  const saved = meta ? (await meta.json()).lang : "";
  const offline = WEFT.offline || {};
  const lang = offline[saved] ? saved : (self.navigator.language || "").toLowerCase().startsWith("zh") ? "zh-Hans" : "en";
  const page = offline[lang] ? await caches.match(offline[lang], { cacheName: SHELL_CACHE }) : undefined;
  return page || new Response("Offline", { status: 503, headers: { "content-type": "text/plain; charset=utf-8" } });
}

function patience(ms) {
  return new Promise((resolve) => setTimeout(() => resolve(null), ms));
}

async function answerPage(event, url, htmx) {
  const request = event.request;
  const readable = isReadable(url);
  const key = cacheKey(request, url, htmx);
  const network = fetch(request).then((response) => {
    if (response.status === 200 && isHtml(response)) {
      if (!response.headers.get(READER_HEADER)) {
        event.waitUntil(forgetReaders("")); // nobody is signed in any more
      } else if (readable) {
        event.waitUntil(keep(response.clone(), key));
      }
    }
    return response;
  });
  const copy = readable ? keptCopy(key) : Promise.resolve(undefined);
  try {
    const first = await Promise.race([network, copy.then((found) => (found ? patience(NETWORK_PATIENCE_MS) : network))]);
    if (first) return first;
  } catch (error) {
    // offline (or the server is unreachable): a kept copy, else say so
  }
  event.waitUntil(network.catch(() => null));
  const found = await copy;
  if (found) return htmx ? fragmentFromCopy(found) : withOfflineBanner(found);
  return htmx ? offlineFragment() : offlinePage();
}

async function answerStatic(request) {
  const shell = await caches.open(SHELL_CACHE);
  const exact = await shell.match(request);
  if (exact) return exact;
  try {
    return await fetch(request);
  } catch (error) {
    // a page kept before a deploy names an older fingerprint: the current file is the next best thing
    return (await shell.match(request, { ignoreSearch: true })) || Response.error();
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (self.weftOutbox && self.weftOutbox.handles(request)) return;
  if (request.method === "POST" && url.pathname === "/logout") {
    event.waitUntil(forgetReaders(""));
    return;
  }
  if (request.method !== "GET") return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(answerStatic(request));
    return;
  }
  const htmx = request.headers.get("HX-Request") === "true";
  if (request.mode === "navigate" || htmx) event.respondWith(answerPage(event, url, htmx));
});

// Web Push: the payload is small JSON from the server: {id, kind, title, body, url, tag}.
function samePath(url) {
  // Only a path on this site: a notification never leads elsewhere.
  return typeof url === "string" && url.startsWith("/") && !url.startsWith("//") ? url : "/app/inbox";
}

self.addEventListener("push", (event) => {
  let message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch (error) {
    message = { title: event.data ? event.data.text() : "" };
  }
  const title = message.title || "Weft";
  const options = {
    body: message.body || "",
    tag: message.tag || undefined,
    renotify: Boolean(message.tag),
    icon: WEFT.icon || "/static/icon.svg",
    badge: WEFT.icon || "/static/icon.svg",
    data: { url: samePath(message.url), id: message.id },
  };
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(samePath(event.notification.data && event.notification.data.url), self.location.origin);
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const client of windows) {
      if (new URL(client.url).origin === target.origin && "focus" in client) {
        await client.focus();
        if ("navigate" in client) await client.navigate(target.href);
        return;
      }
    }
    await self.clients.openWindow(target.href);
  })());
});
