// "Enable notifications on this phone" (web/templates/_push_card.html): PushManager.subscribe is something htmx
// cannot do. The button carries its URLs and messages in data- attributes; the CSRF token comes from
// <body hx-headers>. Permission is asked only after the tap; where push cannot work the inbox link is shown.
"use strict";

(() => {
  const button = document.getElementById("push-toggle");
  const status = document.getElementById("push-status");
  const fallback = document.getElementById("push-fallback");
  if (!button || !status) return;
  const FALLS_BACK = new Set(["msgDenied", "msgUnsupported", "msgInstallFirst", "msgFailed"]);
  const say = (name) => {
    status.textContent = button.dataset[name] || "";
    if (fallback) fallback.hidden = !FALLS_BACK.has(name);
  };
  const csrf = () => {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || "";
    } catch (error) {
      return "";
    }
  };
  const keyBytes = (text) => {
    const base64 = (text + "=".repeat((4 - (text.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  };
  const send = (method, body) => fetch(button.dataset.subscriptionUrl, {
    method,
    credentials: "same-origin",
    headers: { "content-type": "application/json", "x-csrftoken": csrf() },
    body: JSON.stringify(body),
  });
  const show = (subscribed) => {
    button.dataset.subscribed = subscribed ? "1" : "";
    button.textContent = subscribed ? button.dataset.labelOff : button.dataset.labelOn;
    button.disabled = false;
    say(subscribed ? "msgOn" : "msgOff");
  };

  const iPhone = /iPhone|iPad|iPod/.test(navigator.userAgent)
    || (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
  const installed = window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say(iPhone && !installed ? "msgInstallFirst" : "msgUnsupported");  // iOS: Web Push only from the Home Screen
    return;
  }
  const ready = navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(() => navigator.serviceWorker.ready);

  ready.then(async (registration) => {
    if (Notification.permission === "denied") {
      say("msgDenied");
      return;
    }
    const existing = await registration.pushManager.getSubscription();
    if (existing) await send("POST", existing.toJSON());  // keep the server's copy current
    show(Boolean(existing));
  }).catch(() => say("msgFailed"));

  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const registration = await ready;
      const existing = await registration.pushManager.getSubscription();
      if (button.dataset.subscribed && existing) {
        await send("DELETE", { endpoint: existing.endpoint });
        await existing.unsubscribe();
        show(false);
        return;
      }
      if ((await Notification.requestPermission()) !== "granted") {
        say("msgDenied");
        return;
      }
      const answer = await fetch(button.dataset.keyUrl, { credentials: "same-origin" });
      const { public_key: key } = await answer.json();
      const subscription = existing || await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(key),
      });
      const saved = await send("POST", subscription.toJSON());
      if (!saved.ok) throw new Error(String(saved.status));
      show(true);
    } catch (error) {
      say("msgFailed");
    } finally {
      button.disabled = false;
    }
  });
})();
