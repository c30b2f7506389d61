// Weft's service worker: shows Web Push notifications and opens the page a tap leads to.
// The push payload is small JSON from the server: {id, kind, title, body, url, tag}.
"use strict";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

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
    icon: "/static/icon.svg",
    badge: "/static/icon.svg",
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
