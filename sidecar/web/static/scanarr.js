// Scanarr pages: live status (polls /api/status every second) and copy buttons.
// No build step, no framework. Text is only ever set with textContent, so nothing the
// server sends can become markup.
"use strict";

(function () {
  const POLL_MS = 1000;

  function lookup(data, path) {
    return path.split(".").reduce((obj, key) => (obj == null ? undefined : obj[key]), data);
  }

  function setText(id, text) {
    const el = document.getElementById(id);
    if (el && text != null) el.textContent = String(text);
  }

  function render(view, state) {
    document.querySelectorAll("[data-bind]").forEach((el) => {
      const value = lookup(view, el.getAttribute("data-bind"));
      if (value !== undefined) el.textContent = value === null ? "—" : String(value);
    });
    const p = view.progress;
    const bar = document.getElementById("scan-progress");
    if (bar) {
      bar.max = p.bar_max;
      bar.value = p.bar_value;
    }
    setText("scan-text", view.progress_text);
    setText("scan-percent", p.percent);
    setText("scan-eta", view.eta_text);
    const section = document.getElementById("scan");
    if (section) section.dataset.running = p.running ? "true" : "false";
    if (state.wasRunning && !p.running) {
      const done = document.getElementById("scan-finished");
      if (done) done.classList.remove("hidden");
    }
    state.wasRunning = p.running;
  }

  function poll(state) {
    fetch("/api/status", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((view) => render(view, state))
      .catch(() => {})
      .finally(() => window.setTimeout(() => poll(state), POLL_MS));
  }

  function copyButtons() {
    document.querySelectorAll("button.copy").forEach((button) => {
      button.addEventListener("click", () => {
        const field = document.getElementById(button.dataset.copy);
        if (!field) return;
        field.select();
        const done = () => { button.textContent = "Copied"; };
        if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(done, done);
        else { document.execCommand("copy"); done(); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    copyButtons();
    const section = document.getElementById("scan");
    if (section) poll({ wasRunning: section.dataset.running === "true" });
  });
})();
