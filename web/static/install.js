// The install coach (web/templates/_install_coach.html): shown once, and only where installing is possible.
// Chromium announces that Weft can be installed with beforeinstallprompt; iPhone Safari never does, so it gets
// the two steps instead. A tap on "Not now" (or installing) hides it for good on this phone.
"use strict";

(() => {
  const coach = document.getElementById("install-coach");
  if (!coach) return;
  const DISMISSED = "weft-install-coach-dismissed";
  const installed = window.matchMedia("(display-mode: standalone)").matches || window.navigator.standalone === true;
  const dismissed = () => {
    try {
      return window.localStorage.getItem(DISMISSED) === "1";
    } catch (error) {
      return false;
    }
  };
  if (installed || dismissed()) return;

  const part = (name) => coach.querySelector(`[data-install="${name}"]`);
  const hide = () => {
    coach.hidden = true;
    try {
      window.localStorage.setItem(DISMISSED, "1");
    } catch (error) {
      // private mode: it comes back next visit, which is all we can do
    }
  };
  const show = (name) => {
    part(name).hidden = false;
    coach.hidden = false;
  };

  let offer = null;
  window.addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault(); // our button, at a moment the agent chooses, instead of the browser's bar
    offer = event;
    show("prompt");
  });
  window.addEventListener("appinstalled", hide);
  document.getElementById("install-button").addEventListener("click", async () => {
    if (!offer) return;
    offer.prompt();
    const choice = await offer.userChoice;
    offer = null;
    if (choice && choice.outcome === "accepted") hide();
  });
  document.getElementById("install-dismiss").addEventListener("click", hide);

  const iPhone = /iPhone|iPad|iPod/.test(navigator.userAgent)
    || (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
  const safari = /Safari/.test(navigator.userAgent) && !/CriOS|FxiOS|EdgiOS/.test(navigator.userAgent);
  if (iPhone && safari) show("ios");
})();
