// The lab site's page script: starts Python in a worker (site_worker.js), shows its progress, and
// gives the lab page its transport: window.stepgradTransport(request) -> Promise of the response
// viz.lab.handle would give `stepgrad lab`'s server. Loaded before lab.js.
"use strict";

(function () {
  const manifest = JSON.parse(document.getElementById("stepgrad-site").textContent);
  const worker = new Worker("site_worker.js", { type: "module" });
  const pending = new Map(); // request id -> resolve
  let nextId = 1;
  let ready = false;
  let failed = null;
  const queue = []; // requests made before Python was ready
  const started = performance.now();
  const MB = (n) => (n / 1e6).toFixed(1);

  function send(request, resolve) {
    const id = nextId++;
    pending.set(id, resolve);
    worker.postMessage({ type: "request", id, text: JSON.stringify(request) });
  }

  window.stepgradTransport = function (request) {
    return new Promise((resolve) => {
      if (failed) resolve({ ok: false, error: failed });
      else if (ready) send(request, resolve);
      else queue.push([request, resolve]);
    });
  };
  // for the benchmark and the browser test: when Python answered its first request
  window.stepgradSite = { started, readyAt: null, manifest };

  // --- the loading panel -------------------------------------------------------------------
  let panel = null;
  let bar = null;
  let words = null;
  function buildPanel() {
    panel = document.createElement("div");
    panel.id = "site-loading";
    panel.setAttribute("role", "status");
    panel.setAttribute("aria-live", "polite");
    const title = document.createElement("p");
    title.className = "site-loading-title";
    title.textContent = "Starting Python in your browser…";
    bar = document.createElement("progress");
    bar.setAttribute("aria-label", "loading Python");
    bar.max = 1;
    bar.value = 0;
    words = document.createElement("p");
    words.className = "site-loading-words";
    words.textContent = "Downloading the Python runtime (Pyodide).";
    const note = document.createElement("p");
    note.className = "site-loading-note";
    note.textContent =
      "Everything runs on this device; after the first visit it loads from the browser's cache.";
    panel.append(title, bar, words, note);
    document.body.prepend(panel);
  }
  const STAGES = {
    download: (m) => `Downloading the Python runtime: ${MB(m.done)} of ${MB(m.total)} MB`,
    wheel: () => "Installing stepgrad…",
    import: () => "Loading the lesson…",
  };
  function show(message) {
    if (!panel) return;
    if (message.total) bar.value = Math.min(1, message.done / message.total);
    words.textContent = STAGES[message.stage](message);
  }

  // --- the full-install note -------------------------------------------------------------
  function buildNote() {
    const note = document.createElement("details");
    note.id = "site-full-install";
    const summary = document.createElement("summary");
    summary.textContent = "Running in your browser — what needs the full install";
    const body = document.createElement("p");
    body.textContent =
      "This page runs stepgrad itself in your browser (Python by Pyodide): every lesson, " +
      "edit, step and quiz works here. Three features need the full install " +
      "(pip install stepgrad, with NumPy and Graphviz): the NumPy twin that checks the engine " +
      "against the same network in matrix form (nn.NumpyMLP), training on data sets (nn.fit " +
      "with moons, circles, spirals), " +
      "and Graphviz drawings of computation graphs (stepgrad graph, viz.draw).";
    note.append(summary, body);
    document.body.append(note);
  }

  worker.onmessage = (event) => {
    const message = event.data;
    if (message.type === "progress") {
      show(message);
    } else if (message.type === "ready") {
      ready = true;
      window.stepgradSite.readyAt = performance.now();
      if (panel) panel.remove();
      for (const [request, resolve] of queue.splice(0)) send(request, resolve);
    } else if (message.type === "failed") {
      failed = "Python could not start in this browser: " + message.error;
      if (panel) {
        panel.setAttribute("role", "alert");
        words.textContent = failed;
        bar.remove();
      }
      for (const [, resolve] of queue.splice(0)) resolve({ ok: false, error: failed });
    } else if (message.type === "response") {
      const resolve = pending.get(message.id);
      pending.delete(message.id);
      if (resolve) resolve(JSON.parse(message.text));
    }
  };
  worker.onerror = (event) => {
    worker.onmessage({ data: { type: "failed", error: event.message || "the worker failed" } });
  };
  worker.postMessage({ type: "boot", manifest });

  document.addEventListener("DOMContentLoaded", () => {
    if (!ready && !failed) buildPanel();
    buildNote();
  });
})();
