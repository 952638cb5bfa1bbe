// The lab site's worker: runs Python (Pyodide) off the page's thread, installs the stepgrad wheel
// from the site itself, and answers the page's requests with viz.lab.handle_json, the function
// `stepgrad lab`'s server calls. Every file comes from this site's own origin.
// A module worker: Pyodide supports no classic workers.
import { loadPyodide } from "./pyodide/pyodide.mjs";

let handleJson = null; // viz.lab.handle_json, once Python is up

// Report bytes as Pyodide fetches its files, so the page can show real progress: fetch is
// wrapped to count each known file's body as it streams in.
const received = Object.create(null);
let sizes = {};
const realFetch = self.fetch.bind(self);

function siteName(url) {
  const path = new URL(url, self.location.href).pathname;
  return Object.keys(sizes).find((name) => path.endsWith("/" + name)) || null;
}

function report(stage) {
  let done = 0;
  let total = 0;
  for (const [name, size] of Object.entries(sizes)) {
    total += size;
    done += Math.min(received[name] || 0, size);
  }
  self.postMessage({ type: "progress", stage, done, total });
}

self.fetch = async (input, init) => {
  const url = typeof input === "string" ? input : input.url;
  const response = await realFetch(input, init);
  const name = siteName(url);
  if (!name || !response.ok || !response.body) return response;
  // count a copy of the body, and hand Pyodide the response itself: a response built anew from a
  // stream would lose the browser's cache entry, and with it V8's cached compiled WebAssembly
  received[name] = 0;
  const reader = response.clone().body.getReader();
  (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received[name] += value.byteLength;
      report("download");
    }
  })().catch(() => {});
  return response;
};

async function boot(manifest) {
  const timings = { start: performance.now() }; // ms since the worker started, per phase
  sizes = manifest.sizes;
  const base = new URL("./", self.location.href).href;
  const indexURL = base + "pyodide/";
  report("download");
  // packageBaseUrl is set so that nothing, not even a fallback, points at a CDN: the lab needs no
  // Pyodide package, only the standard library and the stepgrad wheel.
  const pyodide = await loadPyodide({
    indexURL,
    packageBaseUrl: indexURL,
    stdout: () => {},
    stderr: (line) => console.warn(line),
  });
  timings.python = performance.now();
  report("wheel");
  const wheel = await self.fetch(base + manifest.wheel);
  if (!wheel.ok) throw new Error(`${manifest.wheel}: HTTP ${wheel.status}`);
  pyodide.unpackArchive(await wheel.arrayBuffer(), "wheel");
  timings.wheel = performance.now();
  report("import");
  handleJson = pyodide.pyimport("viz.lab").handle_json;
  timings.imported = performance.now();
  self.postMessage({ type: "ready", timings });
}

self.onmessage = (event) => {
  const message = event.data;
  if (message.type === "boot") {
    boot(message.manifest).catch((error) => {
      self.postMessage({ type: "failed", error: String((error && error.message) || error) });
    });
  } else if (message.type === "request") {
    let text;
    try {
      text = handleJson(message.text);
    } catch (error) {
      // handle_json never raises; this is Python itself failing (out of memory, say)
      text = JSON.stringify({ ok: false, error: "Python failed: " + String(error).split("\n").pop() });
    }
    self.postMessage({ type: "response", id: message.id, text });
  }
};
