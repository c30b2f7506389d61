// Weft as an app on the agent's phone: registers the service worker (scope /), shows "Offline — as of 14:05" on a
// kept page, a note when a tap needs the network, and "A new version of Weft is ready — Refresh" when an update
// waits. The words are in the page (web/templates/_pwa.html), so they are in the page's language.
"use strict";

(() => {
  const banner = document.getElementById("offline-banner");
  const toast = document.getElementById("offline-toast");
  const prompt = document.getElementById("update-prompt");
  const loadedAt = new Date().toISOString();

  const clock = (iso) => {
    const moment = new Date(iso);
    const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    try {
      return new Intl.DateTimeFormat(document.documentElement.lang, { ...options, timeZone: banner.dataset.timezone }).format(moment);
    } catch (error) {
      return new Intl.DateTimeFormat(document.documentElement.lang, options).format(moment);
    }
  };
  const showOffline = (iso) => {
    if (!banner || !iso || Number.isNaN(Date.parse(iso))) return;
    banner.textContent = (banner.dataset.text || "").replace("{time}", clock(iso));
    banner.hidden = false;
  };
  let toastTimer = 0;
  const needsNetwork = () => {
    if (!toast) return;
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toast.hidden = true; }, 5000);
  };

  if (banner) {
    const keptAt = banner.dataset.offlineAsOf; // filled by the service worker when it answers with a kept copy
    if (keptAt) showOffline(keptAt);
    window.addEventListener("offline", () => showOffline(keptAt || loadedAt));
    window.addEventListener("online", () => { if (!keptAt) banner.hidden = true; });
  }
  document.body.addEventListener("weft-offline", needsNetwork);
  document.body.addEventListener("weft-offline-copy", (event) => showOffline(event.detail && event.detail.asOf));
  document.body.addEventListener("htmx:sendError", needsNetwork);

  if (!("serviceWorker" in navigator)) return;
  const worker = navigator.serviceWorker;
  const hadController = Boolean(worker.controller);
  let reloading = false;
  let asked = false;
  worker.addEventListener("controllerchange", () => {
    // A new version took over (this tab's Refresh or another tab's): load the page with its shell. The very
    // first worker taking an uncontrolled page needs no reload.
    if (reloading || !(hadController || asked)) return;
    reloading = true;
    window.location.reload();
  });

  const offerUpdate = (registration) => {
    if (!prompt || !registration.waiting || !worker.controller) return;
    prompt.hidden = false;
  };
  worker.register("/sw.js", { scope: "/" }).then((registration) => {
    offerUpdate(registration);
    registration.addEventListener("updatefound", () => {
      const next = registration.installing;
      if (!next) return;
      next.addEventListener("statechange", () => { if (next.state === "installed") offerUpdate(registration); });
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") registration.update().catch(() => {});
    });
    const refresh = document.getElementById("update-refresh");
    if (refresh) {
      refresh.addEventListener("click", () => {
        refresh.disabled = true;
        asked = true;
        if (registration.waiting) registration.waiting.postMessage({ type: "SKIP_WAITING" });
      });
    }
  }).catch(() => {});
})();
