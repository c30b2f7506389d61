// Writing offline, the page's part (outbox.js is the service worker's): asks the worker to replay what waits at
// start-up and on "online" (Safari and Firefox have no Background Sync), shows a queued tap as if saved, says what
// waits and what the server refused, and turns [data-needs-network] buttons off while offline. Its words ride on
// its script tag (web/templates/_outbox.html), in the page's language.
"use strict";

(function (scope) {
  const { META, OUTCOMES, all, write, forget, waiting } = scope.weftOutboxStore; // outbox-store.js

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
      afterSignOutFlush(result.waiting);
    }

    function requestFlush() {
      const worker = navigator.serviceWorker && navigator.serviceWorker.controller;
      if (worker) worker.postMessage({ type: "FLUSH_OUTBOX" }); // uncontrolled (a hard reload): the next page asks
      return Boolean(worker);
    }

    // Signing out with changes still waiting: on a shared phone they would sit unsent until this agent is back,
    // so the first tap on "Sign out" says so, in the page, and offers to send them first.
    let signingOut = null; // the sign-out form, once "Send them first" was tapped

    function warnBeforeSignOut(form, pending) {
      let warning = document.getElementById("outbox-signout");
      if (!warning) {
        warning = element("div", "alert outbox-signout");
        warning.id = "outbox-signout";
        warning.setAttribute("role", "alert");
        form.after(warning);
      }
      const one = pending === 1;
      const words = (one ? texts.signOutOne : texts.signOutMany) || "";
      const send = element("button", "button primary wide", one ? texts.sendFirstOne : texts.sendFirstMany);
      send.type = "button";
      send.dataset.needsNetwork = "";
      send.addEventListener("click", () => {
        signingOut = form;
        send.disabled = requestFlush();
      });
      const anyway = element("button", "button secondary wide", texts.signOutAnyway);
      anyway.type = "button";
      anyway.addEventListener("click", () => form.submit());
      warning.replaceChildren(element("p", "", words.replace("%(num)s", String(pending))), send, anyway);
      markNetworkButtons(warning);
      warning.scrollIntoView({ block: "center" });
    }

    function afterSignOutFlush(pending) {
      const warning = document.getElementById("outbox-signout");
      if (!warning) return;
      if (pending && signingOut) warnBeforeSignOut(signingOut, pending); // still offline, or the server failed
      else if (signingOut) signingOut.submit(); // all sent: sign out, as the agent meant to
      else if (!pending) warning.remove(); // sent meanwhile (back online): nothing is left to warn about
      signingOut = null;
    }

    document.addEventListener("submit", (event) => {
      const form = event.target;
      const target = form instanceof HTMLFormElement && form.getAttribute("action"); // form.action may be a field
      if (!target || new URL(target, location.href).pathname !== "/logout") return;
      if (form.dataset.outboxChecked) return; // stopped once: a second tap signs out
      event.preventDefault();
      form.dataset.outboxChecked = "1";
      waiting(texts.user).then(
        (queued) => (queued.length ? warnBeforeSignOut(form, queued.length) : form.submit()),
        () => form.submit(), // no IndexedDB: nothing can be waiting
      );
    });

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

  if (document.currentScript) {
    const script = document.currentScript;
    const start = () => startPage(script);
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
  }
})(self);
