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
    summary.textContent = "Runs in your browser · what needs the full install";
    const body = document.createElement("p");
    body.textContent =
      "This page runs stepgrad itself in your browser (Python by Pyodide): every lesson, " +
      "edit, step and quiz works here. Three features need the full install " +
      "(pip install stepgrad, with NumPy and Graphviz): the NumPy twin that checks the engine " +
      "against the same network in matrix form (nn.NumpyMLP), training on data sets (nn.fit " +
      "with moons, circles, spirals), " +
      "and Graphviz drawings of computation graphs (stepgrad graph, viz.draw).";
    note.append(summary, body);
    return note;
  }

  // --- your own lesson: a file, pasted text, or a link -----------------------------------
  // A shared link carries the lesson in the URL fragment (never sent to the host) as
  // `file=NAME,TEXT` with TEXT the lesson's UTF-8 in base64url. Checking is Python's: the text is
  // sent as {"lesson": {"file": {name, text}}}, read exactly as `stepgrad example FILE` reads it.
  const MAX_FILE_BYTES = 1000000; // a lesson file the page reads (viz.lab takes up to 1 MiB)
  const MAX_LINK_BYTES = 48 * 1024; // a lesson carried in a link (64 KB of fragment)
  const MAX_NAME = 100;
  let shared = null; // {name, text} of the file lesson on show, for the link

  function toBase64Url(text) {
    let binary = "";
    for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function fromBase64Url(code) {
    if (!/^[A-Za-z0-9_-]*$/.test(code)) throw new Error("not base64url text");
    const binary = atob(code.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  }
  function filePart() {
    return shared ? "file=" + encodeURIComponent(shared.name) + "," + toBase64Url(shared.text) : "";
  }
  // the lesson from the link, read before lab.js starts (it asks for window.stepgradRequest)
  let linkError = null;
  for (const part of location.hash.replace(/^#/, "").split("&")) {
    if (!part.startsWith("file=")) continue;
    const comma = part.indexOf(",");
    try {
      if (comma < 0) throw new Error("no lesson text");
      if (part.length - comma - 1 > Math.ceil((MAX_LINK_BYTES * 4) / 3)) {
        throw new Error(`over the limit of ${MAX_LINK_BYTES / 1024} KB of lesson text`);
      }
      const name = decodeURIComponent(part.slice(5, comma)).slice(0, MAX_NAME) || "lesson.toml";
      const text = fromBase64Url(part.slice(comma + 1));
      shared = { name, text };
      window.stepgradRequest = { lesson: { file: { name, text } } };
    } catch (error) {
      linkError = "link: the lesson in this link cannot be read (" + error.message + ")";
    }
  }
  // lab.js rewrites the fragment (step, edits) as the learner moves; keep the lesson in it
  const replaceState = history.replaceState.bind(history);
  history.replaceState = function (data, unused, url) {
    if (typeof url === "string" && url.startsWith("#") && shared) {
      const parts = url.slice(1).split("&").filter((p) => p && !/^(file|lesson)=/.test(p));
      url = "#" + [filePart()].concat(parts).join("&");
    }
    return replaceState(data, unused, url);
  };

  function lessonPanel() {
    const box = document.createElement("details");
    box.id = "site-lesson";
    const summary = document.createElement("summary");
    summary.textContent = "Open your own lesson";
    const help = document.createElement("p");
    help.textContent =
      "A lesson file (.toml or .json) as `stepgrad example FILE` reads it; " +
      "start from a built-in one: ";
    for (const name of ["2-2-1", "1-1-1", "softmax", "2-2-2", "rnn", "conv1d", "softmax-ce"]) {
      const a = document.createElement("a");
      a.href = `lessons/${name}.toml`;
      a.download = `${name}.toml`;
      a.textContent = `${name}.toml`;
      help.append(a, " ");
    }
    const picker = document.createElement("input");
    picker.type = "file";
    picker.id = "site-lesson-file";
    picker.accept = ".toml,.json,text/plain,application/json";
    picker.setAttribute("aria-label", "open a lesson file");
    const paste = document.createElement("textarea");
    paste.id = "site-lesson-text";
    paste.rows = 6;
    paste.spellcheck = false;
    paste.setAttribute("aria-label", "lesson text (TOML or JSON)");
    paste.placeholder = "…or paste a lesson here (TOML or JSON)";
    const open = document.createElement("button");
    open.type = "button";
    open.id = "site-lesson-open";
    open.textContent = "Open the pasted lesson";
    const share = document.createElement("button");
    share.type = "button";
    share.id = "site-lesson-share";
    share.textContent = "Link to this lesson";
    const link = document.createElement("input");
    link.id = "site-lesson-link";
    link.readOnly = true;
    link.hidden = true;
    link.setAttribute("aria-label", "link to this lesson");
    const message = document.createElement("p");
    message.id = "site-lesson-message";
    message.setAttribute("role", "alert");
    message.hidden = true;
    const say = (line) => {
      message.textContent = line || "";
      message.hidden = !line;
    };
    async function load(name, text) {
      say("");
      const lab = window.stepgradLab;
      if (!lab || typeof lab.load !== "function") return say("the lab page is not ready yet");
      const ok = await lab.load({ lesson: { file: { name, text } } });
      if (ok) {
        shared = { name, text };
        link.hidden = true;
      } else {
        // the lab shows Python's line in its own message; repeat it here, beside the input
        const shown = document.getElementById("lab-message");
        say(shown && shown.textContent ? shown.textContent : "the lesson could not be read");
      }
    }
    picker.addEventListener("change", async () => {
      const file = picker.files && picker.files[0];
      if (!file) return;
      const name = file.name.slice(0, MAX_NAME);
      if (file.size > MAX_FILE_BYTES) {
        return say(`${name}: ${file.size} bytes, over the limit of ${MAX_FILE_BYTES} bytes for a lesson file`);
      }
      let text;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(await file.arrayBuffer());
      } catch (error) {
        return say(`${name}: not UTF-8 text`);
      }
      await load(name, text);
    });
    open.addEventListener("click", () => {
      const text = paste.value;
      if (!text.trim()) return say("paste a lesson first");
      if (new TextEncoder().encode(text).length > MAX_FILE_BYTES) {
        return say(`pasted lesson: over the limit of ${MAX_FILE_BYTES} bytes`);
      }
      load(text.trim().startsWith("{") ? "pasted.json" : "pasted.toml", text);
    });
    share.addEventListener("click", () => {
      say("");
      if (!shared) {
        link.value = location.href;
      } else if (new TextEncoder().encode(shared.text).length > MAX_LINK_BYTES) {
        return say(`this lesson is over ${MAX_LINK_BYTES / 1024} KB: too large for a link; share the file instead`);
      } else {
        history.replaceState(null, "", location.hash || "#");
        link.value = location.href;
      }
      link.hidden = false;
      link.select();
      if (navigator.clipboard) navigator.clipboard.writeText(link.value).catch(() => {});
    });
    box.append(summary, help, picker, paste, open, share, link, message);
    if (linkError) {
      box.open = true;
      say(linkError);
    }
    return box;
  }

  worker.onmessage = (event) => {
    const message = event.data;
    if (message.type === "progress") {
      show(message);
    } else if (message.type === "ready") {
      ready = true;
      window.stepgradSite.readyAt = performance.now();
      window.stepgradSite.timings = message.timings;
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
    // under the lesson's title: open your own lesson, and what needs the full install
    const row = document.createElement("div");
    row.id = "site-row";
    row.append(lessonPanel(), buildNote());
    const head = document.querySelector(".lab-head") || document.body.firstElementChild;
    head.after(row);
  });
})();
