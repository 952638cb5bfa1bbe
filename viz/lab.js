/* The lab page: draws what viz/lab.py computed, steps through it, and sends edits back.
   No number is computed here: every value comes from the response of viz.lab.handle, through
   one function, window.stepgradTransport(request) -> Promise(response), or by default a POST
   of the request's JSON to /api on the page's own origin. An offline copy has the response
   embedded (script#lab-data) and no editing. */
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  const state = {
    data: null, step: 0, quiz: false, answers: {}, playing: null, speed: 1, edits: {},
    request: null, offline: false, zoom: 1, pan: [0, 0], drill: false, busy: false, code: false,
  };

  // -- talking to Python ------------------------------------------------------------------------
  function transport(request) {
    if (typeof window.stepgradTransport === "function") return window.stepgradTransport(request);
    return fetch("/api", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request),
    }).then((r) => r.json());
  }
  function canEdit() {
    return typeof window.stepgradTransport === "function" || (!state.offline && /^https?:$/.test(location.protocol));
  }
  function ask(request) {
    state.busy = true;
    const started = performance.now();
    // The script costs as much again as the rest on a wide lesson: asked for only with "code" on.
    const sent = state.code ? Object.assign({}, request, { code: true }) : request;
    return Promise.resolve().then(() => transport(sent)).then((response) => {
      state.busy = false;
      if (!response || response.ok !== true) {
        showMessage((response && response.error) || "no answer");
        return false;
      }
      state.request = request;
      setData(response);
      state.lastRecomputeMs = performance.now() - started;  // read by benchmarks/bench_lab.py
      return true;
    }, (error) => {
      state.busy = false;
      showMessage("the lab could not reach stepgrad: " + error);
      return false;
    });
  }
  function showMessage(text) {
    const m = $("lab-message");
    m.textContent = text;
    m.hidden = !text;
  }

  // -- helpers ----------------------------------------------------------------------------------
  function el(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function h(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function known(name) {  // a value's text once the current step has reached it, else null
    if (state.pass) return state.pass.values[name] || null;  // a training step's own pass
    const v = state.data.values[name];
    if (!v) return null;
    if (v.step > state.step) return null;
    if (v.step === state.step && state.quiz && !state.answers[state.step]) return null;
    return v;
  }
  function symbolOf(name) {
    const v = state.data.values[name];
    return v ? v.symbol : name;
  }
  function textWidth(text, px) { return text.length * px * 0.56; }

  // -- the data ---------------------------------------------------------------------------------
  function setData(data) {
    const old = state.data;
    state.data = data;
    showMessage("");
    showScript();
    state.step = Math.max(0, Math.min(state.step, data.steps.length - 1));
    // An edit keeps the lesson's shape: the same steps, numbers and picture, new values. Then
    // the page updates texts in place instead of building a wide lesson's hundreds of elements.
    const same = old && old.kind === data.kind && old.title === data.title &&
      old.steps.length === data.steps.length && old.editable.length === data.editable.length &&
      old.steps.every((s, i) => s.name === data.steps[i].name);
    if (same) {
      fillStepTexts();
      for (const n of data.editable) {
        const input = state.inputs[n.symbol];
        if (input && document.activeElement !== input) input.value = n.text;
      }
      go(state.step, true);
      return;
    }
    $("lab-title").textContent = data.title;
    $("lab-source").textContent = "From " + data.source + ".";
    $("lab-notes").textContent = data.notes.join(" ");
    $("lab-notes-box").hidden = !data.notes.length;
    document.title = data.title + " · stepgrad lab";
    $("lab-drill").hidden = data.kind !== "lesson";
    const names = data.editable.slice(0, 2).map((n) => n.label).join(", ");
    $("lab-search").placeholder = "find a symbol" + (names ? ": " + names + "…" : "");
    buildSections();
    buildSteps();
    buildNumbers();
    buildLegend();
    const list = $("lab-symbols");
    list.textContent = "";
    const seen = new Set();
    for (const s of data.steps) {
      for (const sym of [s.symbol, ...s.operands.map((o) => o.symbol)]) {
        if (!seen.has(sym)) { seen.add(sym); list.appendChild(h("option", { value: sym })); }
      }
    }
    go(state.step, true);
    if (state.readyAt === undefined) state.readyAt = performance.now();  // since navigation
  }

  function buildSections() {
    const box = $("lab-sections");
    box.textContent = "";
    for (const s of state.data.sections) {
      const b = h("button", { type: "button", "data-first": s.first }, s.name + " · " + s.count);
      b.addEventListener("click", () => go(s.first));
      box.appendChild(b);
    }
  }

  function buildSteps() {
    const list = $("lab-steps");
    list.textContent = "";
    // Long lists are laid out only where visible (their scroll position is then approximate).
    list.classList.toggle("long", state.data.steps.length > 150);
    let section = null;
    state.stepButtons = [];
    for (const s of state.data.steps) {
      if (s.section !== section) {
        section = s.section;
        list.appendChild(h("li", { class: "head" }, section));
      }
      const li = h("li");
      const b = h("button", { type: "button", "data-step": s.index });
      b.addEventListener("click", () => go(s.index));
      li.appendChild(b);
      list.appendChild(li);
      state.stepButtons.push(b);
    }
    fillStepTexts();
  }
  function fillStepTexts() {
    for (const s of state.data.steps) {
      const b = state.stepButtons[s.index];
      const hide = state.quiz && s.quiz && (s.index > state.step || (s.index === state.step && !state.answers[s.index]));
      b.textContent = hide ? s.symbol + " = ?" : s.line;
      if (!hide && s.mark && s.mark.mismatch) {
        const x = h("span", { class: "x", title: s.mark.text }, " ✗ printed " + s.mark.printed);
        b.appendChild(x);
      }
    }
  }

  function buildNumbers() {
    const box = $("lab-numbers");
    box.textContent = "";
    const editing = canEdit();
    if (state.data.editable.length > 40 && !state.numbersOpened) $("lab-numbers-box").open = false;
    $("lab-edit-note").textContent = editing ? "(change one, press Enter)" : "(a saved page: run `stepgrad lab` to change them)";
    let group = null, row = null;
    state.inputs = {};
    for (const n of state.data.editable) {
      if (n.group !== group) { group = n.group; row = h("div", { class: "lab-group" }); box.appendChild(row); }
      const label = h("label", { class: "lab-num" });
      label.appendChild(h("span", {}, n.label + " ="));
      const input = h("input", { type: "text", inputmode: "decimal", "aria-label": n.symbol, value: n.text,
        "data-symbol": n.symbol, spellcheck: "false", autocomplete: "off" });
      if (!editing) input.readOnly = true;
      if (state.edits[n.symbol] !== undefined) input.classList.add("edited");
      input.addEventListener("keydown", (e) => {
        if (e.key === "Enter") { e.preventDefault(); edit(n.symbol, input); }
        if (e.key === "Escape") { input.value = n.text; input.blur(); }
      });
      label.appendChild(input);
      row.appendChild(label);
      state.inputs[n.symbol] = input;
    }
    $("lab-reset").hidden = !editing || Object.keys(state.edits).length === 0;
  }

  function edit(symbol, input) {
    if (!canEdit() || state.busy) return;
    const edits = Object.assign({}, state.edits);
    edits[symbol] = input.value;
    const request = Object.assign({}, state.request, { edits: edits });
    ask(request).then((ok) => {
      if (ok) { state.edits = edits; markEdited(); writeFragment(); const i = state.inputs[symbol]; if (i) i.focus(); }
      else {
        const n = state.data.editable.find((e) => e.symbol === symbol);
        input.value = n ? n.text : input.value;  // nothing changes: the page keeps its numbers
      }
    });
  }

  function markEdited() {  // the numbers you changed stand out; their text is the engine's
    for (const n of state.data.editable) {
      const input = state.inputs[n.symbol];
      if (!input) continue;
      input.value = n.text;
      input.classList.toggle("edited", state.edits[n.symbol] !== undefined);
    }
    $("lab-reset").hidden = !canEdit() || Object.keys(state.edits).length === 0;
  }

  function buildLegend() {
    const box = $("lab-legend");
    box.textContent = "";
    const items = [
      ["var(--now-bg)", "var(--now)", "computed by this step"],
      ["var(--reads-bg)", "var(--reads)", "read by this step"],
    ];
    if (state.data.kind === "lesson") {
      items.push(["#dbeafe", "#6b7280", "input"], ["#dcfce7", "#6b7280", "output"]);
    }
    for (const [fill, stroke, text] of items) {
      const s = h("span");
      const i = h("i");
      i.style.background = fill; i.style.border = "2px solid " + stroke;
      s.appendChild(i); s.appendChild(document.createTextNode(text));
      box.appendChild(s);
    }
    if (state.data.kind === "lesson") {
      for (const [color, text] of [["var(--pos)", "weight > 0"], ["var(--neg)", "weight < 0"]]) {
        const s = h("span");
        const i = h("i");
        i.style.background = color; i.style.height = "4px";
        s.appendChild(i); s.appendChild(document.createTextNode(text));
        box.appendChild(s);
      }
      box.appendChild(h("span", {}, "thicker edge = larger |weight|"));
      box.appendChild(h("span", {}, "δ = " + (state.data.error_sign < 0 ? "−" : "") + "∂" + state.data.loss_symbol + "/∂z"));
    } else {
      box.appendChild(h("span", {}, "each box: its label, data and grad (∂" + state.data.loss_symbol + "/∂ it)"));
    }
  }

  // -- going to a step --------------------------------------------------------------------------
  function go(index, keepScroll) {
    const steps = state.data.steps;
    if (!steps.length) return;
    state.step = Math.max(0, Math.min(index, steps.length - 1));
    const s = steps[state.step];
    state.pass = passOf(s);
    $("lab-count").textContent = "step " + (state.step + 1) + " of " + steps.length;
    $("lab-section-name").textContent = s.section;
    for (const b of $("lab-sections").children) {
      const first = +b.getAttribute("data-first");
      const sec = state.data.sections.find((x) => x.first === first);
      b.classList.toggle("current", state.step >= first && state.step < first + sec.count);
    }
    drawCard(s);
    if (state.quiz || state.quizWas) fillStepTexts();  // only the quiz hides numbers in the list
    state.quizWas = state.quiz;
    state.stepButtons.forEach((b, i) => b.classList.toggle("cur", i === state.step));
    // Scroll the list itself (never the page: on a phone the picture must stay where it is).
    const cur = state.stepButtons[state.step];
    if (cur) {
      const list = $("lab-steps");
      const top = cur.parentNode.offsetTop, bottom = top + cur.parentNode.offsetHeight;
      if (keepScroll || top < list.scrollTop || bottom > list.scrollTop + list.clientHeight) {
        list.scrollTop = Math.max(0, top - list.clientHeight / 3);
      }
    }
    draw();
    drawCurve();
    if (state.drill) drawDrill();
    writeFragment();
  }

  function drawCard(s) {
    const live = $("lab-live");
    live.textContent = "";
    const hidden = state.quiz && s.quiz && !state.answers[s.index];
    live.appendChild(h("span", { class: "sym" }, s.symbol));
    const parts = [];
    if (s.meaning) parts.push(["meaning", s.meaning]);
    if (s.formula && s.formula !== s.symbol) parts.push(["formula", s.formula]);
    if (!hidden && s.filled && s.filled !== s.formula) parts.push(["filled", s.filled]);
    parts.push(["val", hidden ? "?" : s.text]);
    for (const [cls, text] of parts) {
      live.appendChild(document.createTextNode(" = "));
      live.appendChild(h("span", { class: cls }, text));
    }
    drawCode(s);
    const mark = $("lab-mark");
    mark.hidden = !(s.mark && !hidden);
    if (s.mark) mark.textContent = s.mark.text;
    const form = $("lab-answer");
    const verdict = $("lab-verdict");
    form.hidden = !(state.quiz && s.quiz && !state.answers[s.index]);
    $("lab-answer-label").textContent = s.symbol + " =";
    $("lab-answer-input").setAttribute("aria-label", "your value of " + s.symbol);
    const a = state.answers[s.index];
    verdict.hidden = !(state.quiz && a);
    if (a) {
      verdict.className = "lab-verdict " + (a.right ? "right" : "wrong");
      verdict.textContent = a.right ? "✓ right: " + s.text : (a.shown ? "shown: " + s.text : "✗ you said " + a.answer + "; it is " + s.text);
    }
    if (!form.hidden && state.quiz) setTimeout(() => $("lab-answer-input").focus(), 0);
  }

  // -- the code view: the lines of `stepgrad example --code`'s script computing the step --------
  function buildCode() {
    const bar = $("lab-quiz");
    const toggle = h("button", { type: "button", id: "lab-code", "aria-pressed": "false",
      "aria-label": "code: show the Python lines of each step",
      title: "show the lines of the lesson's Python script that compute each step" }, "code");
    bar.parentNode.insertBefore(toggle, bar.nextSibling);
    const pre = h("pre", { class: "lab-code", id: "lab-code-lines", "aria-label": "the step's Python code", hidden: "" });
    $("lab-live").insertAdjacentElement("afterend", pre);
    const box = h("details", { class: "lab-script", id: "lab-script-box", hidden: "" });
    const summary = h("summary", {}, "the whole script ");
    const save = h("a", { id: "lab-script-save", download: "stepgrad_lesson.py" }, "download");
    summary.appendChild(save);
    box.appendChild(summary);
    box.appendChild(h("pre", { id: "lab-script" }));
    $("lab-numbers-box").insertAdjacentElement("afterend", box);
    toggle.addEventListener("click", () => setCode(!state.code));
  }
  function setCode(on) {
    state.code = on;
    $("lab-code").setAttribute("aria-pressed", String(on));
    if (on && !state.data.script && canEdit()) {
      ask(state.request);  // its answer is drawn by setData
      return;
    }
    showScript();
    go(state.step, true);
  }
  function showScript() {
    const script = state.data.script;
    // Asked for and not given: this kind of lesson has no script, so no toggle.
    $("lab-code").hidden = !(script || (canEdit() && !state.code && state.data.steps.length));
    $("lab-script-box").hidden = !(state.code && script);
    if (!script || $("lab-script").textContent === script) return;
    $("lab-script").textContent = script;
    const save = $("lab-script-save");
    if (save.href) URL.revokeObjectURL(save.href);
    save.href = URL.createObjectURL(new Blob([script], { type: "text/x-python" }));
  }
  function drawCode(s) {
    const pre = $("lab-code-lines");
    pre.hidden = !(state.code && s.code);
    if (pre.hidden) return;
    pre.textContent = s.code.length ? s.code.join("\n") : "# no line of the script: the script stops after the first update";
  }

  // -- the picture ------------------------------------------------------------------------------
  function lit() {
    const s = state.data.steps[state.step];
    return { now: new Set(s.lights), reads: new Set(s.reads) };
  }
  function size() {
    const svg = $("lab-picture");
    const r = svg.getBoundingClientRect();
    return [Math.max(200, r.width), Math.max(160, r.height)];
  }
  function applyView(svg, w, h_) {
    const z = state.zoom;
    const vw = w / z, vh = h_ / z;
    const x = (w - vw) / 2 - state.pan[0] / z, y = (h_ - vh) / 2 - state.pan[1] / z;
    svg.setAttribute("viewBox", [x, y, vw, vh].map((v) => v.toFixed(1)).join(" "));
  }
  function draw() {
    if (state.data.kind === "lesson") drawNetwork(); else drawGraph($("lab-picture"), state.data.graph, true);
  }

  // The picture shows one pass of the network at a time: the first (before training), with
  // each number appearing at its step, or at a training step the network as that many updates
  // left it (every number from that pass, carried by the response; see viz/lab.py _passes).
  function passOf(s) {
    const data = state.data;
    if (!s || !s.after || !data.passes) return null;
    if (!data.passByAfter) { data.passByAfter = {}; for (const p of data.passes) data.passByAfter[p.after] = p; }
    return data.passByAfter[s.after] || null;
  }
  function caption(s) {
    if (s.after) {
      return state.pass ? "the network after " + s.after + (s.after === 1 ? " update" : " updates")
        : "the network before training (a lesson this large keeps only its first " + (state.data.passes || []).length + " updates)";
    }
    return s.section.startsWith("Update") ? "the network before training; → its new numbers" : "the network before training";
  }
  function longest(name) {  // the longest text a name has in any pass: the boxes are sized once
    const v = state.data.values[name];
    let text = v ? v.text : "?";
    for (const p of state.data.passes || []) { const q = p.values[name]; if (q && q.text.length > text.length) text = q.text; }
    return text;
  }
  function weightOf(name) {  // the weight an edge is drawn with: this pass's, else the given one
    const v = state.pass ? state.pass.values[name] : state.data.values[name];
    return v ? v.value : 0;
  }

  // Boxes of the picture, [left, top, right, bottom], that labels must keep clear of.
  function overlaps(a, b) { return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]; }
  function placeAt(g, box, rect) {  // move a group measured at the origin so its box is rect
    g.setAttribute("transform", "translate(" + (rect[0] - box.x).toFixed(1) + "," + (rect[1] - box.y).toFixed(1) + ")");
  }
  // Try each candidate rectangle (left, top) of a w×h block; the first inside the picture and
  // clear of every obstacle (with a pixel to spare) is taken and becomes an obstacle itself.
  function findSpot(candidates, w, h, area, obstacles) {
    // each candidate as given, then slid sideways into the picture (a box at its right edge)
    const slid = candidates.map(([x, y]) => [Math.max(area[0], Math.min(area[2] - w, x)), y]);
    for (const [x, y] of [...candidates, ...slid]) {
      const r = [x, y, x + w, y + h];
      if (r[0] < area[0] || r[1] < area[1] || r[2] > area[2] || r[3] > area[3]) continue;
      const grown = [r[0] - 1, r[1] - 1, r[2] + 1, r[3] + 1];
      if (obstacles.some((o) => overlaps(grown, o))) continue;
      obstacles.push(r);
      return r;
    }
    return null;
  }
  function textBlock(lines, cls) {  // a text of one line per entry, centred, at the origin
    const t = el("text", { class: cls, "text-anchor": "middle" });
    lines.forEach((line, k) => t.appendChild(el("tspan", { x: 0, dy: k ? 14 : 0 }, line)));
    return t;
  }

  function drawNetwork() {
    const svg = $("lab-picture");
    svg.textContent = "";
    const net = state.data.network;
    const [W, H] = size();
    applyView(svg, W, H);
    const s = state.data.steps[state.step];
    // Portrait screens (phones) draw the layers top to bottom: the units then get the width.
    const vertical = W < 560 || W < 0.9 * H;
    // a caption line says which pass the numbers are of; the zoom buttons sit at the bottom
    const top = vertical ? 24 : 40, pad = 8, bottom = 40;
    const mark = lit();
    const columns = net.columns.map((c) => c.units);
    const nC = net.n_columns;
    // Each column's boxes are as wide as their longest row (measured in the page's own font),
    // so the gaps between columns - where the weights are written - get the rest.
    const sizing = columns.map((units) => units.map((u) => unitRows(u, true)));
    sizing.push([lossRows(net.loss, true)]);
    const nRows = sizing.map((col) => Math.max(1, ...col.map((rows) => rows.length)));
    const measure = el("g", { class: "measure" });
    svg.appendChild(measure);
    const texts = sizing.map((col) => col.map((rows) => rows.map(([text, c]) => {
      const t = el("text", { class: c }, text); measure.appendChild(t); return t;
    })));
    const widthOf = new Map();
    sizing.forEach((col, c) => col.forEach((rows, u) => rows.forEach(([text], r) => widthOf.set(text, texts[c][u][r].getComputedTextLength()))));
    svg.removeChild(measure);
    const need = sizing.map((col) => Math.max(50, ...col.map((rows) => Math.max(0, ...rows.map(([t]) => widthOf.get(t) || 0)))) + 14);
    const across = vertical ? net.rows : nC, along = vertical ? nC : net.rows;
    const colW = (W - 2 * pad) / across, rowH = (H - top - bottom) / along;
    const dims = [], cx = [];
    if (vertical) {
      const bw = Math.min(170, colW * 0.9);
      for (let c = 0; c < nC; c++) dims.push([bw, Math.max(20, Math.min(rowH * 0.62, 15 * nRows[c] + 10))]);
    } else {
      // each gap gets 24 px, and the rest of the width by how many weights it has to write
      const edgesInto = {};
      for (const e of net.edges) if (e.w) { const k = e.to.split("-")[0]; edgesInto[k] = (edgesInto[k] || 0) + 1; }
      const weights = [];
      for (let c = 0; c < nC - 1; c++) weights.push(c < nC - 2 ? Math.min(4, edgesInto["u" + (c + 1)] || 1) : 0.1);
      const total = weights.reduce((a, b) => a + b, 0);
      let widths = need.map((w) => Math.min(w, 190));
      // too wide together: the widest columns give way first (narrow ones keep their rows)
      const room = W - 2 * pad - 30 * (nC - 1);
      let cap = 190;
      while (cap > 40 && widths.reduce((a, w) => a + Math.min(w, cap), 0) > room) cap -= 2;
      widths = widths.map((w) => Math.min(w, cap));
      const free = W - 2 * pad - widths.reduce((a, b) => a + b, 0) - 24 * (nC - 1);
      let x = pad;
      for (let c = 0; c < nC; c++) {
        cx.push(x + widths[c] / 2);
        x += widths[c] + (c < nC - 1 ? 24 + Math.max(0, free) * weights[c] / total : 0);
        dims.push([widths[c], Math.max(20, Math.min(rowH * 0.84, 15 * nRows[c] + 10))]);
      }
    }
    const py = (y) => top + y * (H - top - bottom), px = (x) => pad + x * (W - 2 * pad);
    const colOf = (x) => Math.max(0, Math.min(nC - 1, Math.round(x * nC - 0.5)));
    const P = (x, y) => (vertical ? [px(y), py(x)] : [cx[colOf(x)], py(y)]);
    const pos = {}, dim = {};
    columns.forEach((units, c) => units.forEach((u) => { pos[u.id] = P(u.x, u.y); dim[u.id] = dims[c]; }));
    pos.loss = P(net.loss.x, net.loss.y);
    dim.loss = dims[nC - 1];
    for (const b of net.biases) pos[b.id] = P(b.x, b.y);
    const obstacles = [];
    const area = [1, 1, W - 1, H - bottom + 4];
    // the caption and the column titles (on a phone the legend names the rows' colours)
    const cap = el("text", { x: pad, y: vertical ? 15 : 14, class: "pic-caption pic-label" + (state.pass ? " after" : "") }, caption(s));
    svg.appendChild(cap);
    if (!vertical) {
      net.columns.forEach((c, k) => svg.appendChild(el("text", { x: cx[k], y: 32, "text-anchor": "middle", class: "col-title pic-label" }, c.title)));
      svg.appendChild(el("text", { x: cx[nC - 1], y: 32, "text-anchor": "middle", class: "col-title pic-label" }, "loss"));
    }
    const ends = (from, to) => (vertical
      ? [[pos[from][0], pos[from][1] + dim[from][1] / 2], [pos[to][0], pos[to][1] - dim[to][1] / 2]]
      : [[pos[from][0] + dim[from][0] / 2, pos[from][1]], [pos[to][0] - dim[to][0] / 2, pos[to][1]]]);
    // edges
    let maxW = 0;
    for (const e of net.edges) if (e.w) maxW = Math.max(maxW, Math.abs(weightOf(e.w)));
    const perLayer = {}, readsIn = {};
    for (const e of net.edges) {
      const k = e.to.split("-")[0];
      perLayer[k] = (perLayer[k] || 0) + 1;
      if (mark.reads.has(e.id)) readsIn[k] = (readsIn[k] || 0) + 1;
    }
    const gEdges = el("g"), gUnits = el("g"), gLabels = el("g");
    svg.appendChild(gEdges);
    svg.appendChild(gUnits);
    svg.appendChild(gLabels);
    const labelled = [];
    for (const e of net.edges) {
      const [a, b] = ends(e.from, e.to);
      const cls = "edge" + (mark.now.has(e.id) ? " now" : mark.reads.has(e.id) ? " reads" : "");
      let color = "#9ca3af", width = 1.2;
      if (e.w) {
        const v = weightOf(e.w);
        color = v > 0 ? "var(--pos)" : v < 0 ? "var(--neg)" : "#9ca3af";
        width = maxW ? 0.8 + 4 * Math.abs(v) / maxW : 1.2;
      }
      const busy = perLayer[e.to.split("-")[0]] > 9;
      if (mark.now.has(e.id) || mark.reads.has(e.id)) width = Math.max(width, 3.5);
      else if (busy) width = Math.min(width, 2.5);
      const line = el("line", { x1: a[0], y1: a[1], x2: b[0], y2: b[1], class: cls, "data-id": e.id });
      // CSSOM, not a style attribute: the page's content security policy forbids inline styles
      line.style.stroke = color;
      line.style.strokeWidth = width.toFixed(2);
      if (!e.w) line.style.strokeDasharray = "4 3";
      if (busy && !mark.now.has(e.id) && !mark.reads.has(e.id)) line.style.strokeOpacity = "0.35";
      if (e.w) {
        line.appendChild(el("title", {}, tipLines(e.id).join("\n")));
        gEdges.appendChild(el("line", { x1: a[0], y1: a[1], x2: b[0], y2: b[1], "data-id": e.id, stroke: "transparent", "stroke-width": 12, class: "hit" }));
      }
      gEdges.appendChild(line);
      // Weights are written on their edges when a layer has few; otherwise only the step's own
      // and, when there are a handful, the ones it reads. Each label is put where it covers
      // no box and no other label, or not at all (then its edge's tooltip and a tap show it).
      const layer = e.to.split("-")[0];
      const few = perLayer[layer] <= 4;
      const readsFew = mark.reads.has(e.id) && readsIn[layer] <= 4;
      if (e.w && (few || readsFew || mark.now.has(e.id))) labelled.push([e, a, b, few]);
    }
    // units
    const finish = [];
    columns.forEach((units, c) => units.forEach((u) => finish.push(drawUnit(gUnits, u, pos[u.id], dims[c], mark))));
    finish.push(drawLoss(gUnits, net.loss, pos.loss, dims[nC - 1], mark));
    for (const b of net.biases) {
      const [x, y] = pos[b.id];
      const g = el("g", { class: "unit bias" + (mark.now.has(b.id) ? " now" : mark.reads.has(b.id) ? " reads" : ""), "data-id": b.id });
      for (const to of b.to) {
        const end = vertical ? [pos[to][0] + dim[to][0] / 2, pos[to][1]] : [pos[to][0], pos[to][1] + dim[to][1] / 2];
        gEdges.appendChild(el("line", { x1: x, y1: y, x2: end[0], y2: end[1], stroke: "#9ca3af", "stroke-dasharray": "2 3" }));
      }
      const v = known(b.symbol), nv = b.new && !state.pass ? known(b.new) : null;
      const text = symbolOf(b.symbol) + " = " + (v ? v.text : "?") + (nv ? " → " + nv.text : "") + " (shared)";
      const t = el("text", { x: x, y: y + 4, "text-anchor": "middle" }, text);
      g.appendChild(t);
      gUnits.appendChild(g);
      const w = Math.max(dim[b.to[0]][0], t.getComputedTextLength() + 12);
      g.insertBefore(el("rect", { x: x - w / 2, y: y - 11, width: w, height: 22, rx: 6 }), t);
      g.appendChild(el("title", {}, tipLines(b.id).join("\n")));
      obstacles.push([x - w / 2, y - 11, x + w / 2, y + 11]);
    }
    finish.forEach((f) => f());
    for (const id in pos) if (dim[id]) obstacles.push([pos[id][0] - dim[id][0] / 2, pos[id][1] - dim[id][1] / 2, pos[id][0] + dim[id][0] / 2, pos[id][1] + dim[id][1] / 2]);
    for (const t of svg.querySelectorAll(".pic-label")) {
      const r = t.getBBox();
      obstacles.push([r.x, r.y, r.x + r.width, r.y + r.height]);
    }
    // the current element's number, large enough to read at any size, beside its box
    const hideNow = state.quiz && s.quiz && !state.answers[s.index];
    const id = s.lights[0];
    const callout = (text, candidatesOf, anchor) => {
      const g = el("g", { class: "callout pic-label" });
      const t = el("text", { x: 0, y: 0, "text-anchor": "middle" }, text);
      g.appendChild(t);
      svg.appendChild(g);
      const r = t.getBBox();
      const w = r.width + 14, h = r.height + 6;
      g.insertBefore(el("rect", { x: r.x - 7, y: r.y - 3, width: w, height: h, rx: 5 }), t);
      const near = candidatesOf(w, h);
      let spot = findSpot(near, w, h, area, obstacles);
      if (!spot && anchor) {
        // no room beside it (a wide layer): the free place nearest to it, with a leader line
        const grid = [];
        for (let y = area[1]; y + h <= area[3]; y += 8) for (let x = area[0]; x + w <= area[2]; x += 8) grid.push([x, y]);
        const d = ([x, y]) => (x + w / 2 - anchor[0]) ** 2 + (y + h / 2 - anchor[1]) ** 2;
        grid.sort((p, q) => d(p) - d(q));
        spot = findSpot(grid, w, h, area, obstacles);
        if (spot) {
          const c = [(spot[0] + spot[2]) / 2, spot[1] > anchor[1] ? spot[1] : spot[3]];
          gEdges.appendChild(el("line", { x1: c[0], y1: c[1], x2: anchor[0], y2: anchor[1], class: "callout-leader" }));
        }
      }
      if (!spot) { svg.removeChild(g); return false; }
      placeAt(g, { x: r.x - 7, y: r.y - 3 }, spot);
      return true;
    };
    const litEdge = id && id.startsWith("e") ? labelled.find(([e]) => e.id === id) : null;
    if (id && pos[id] && !hideNow) {
      const [x, y] = pos[id], [bw, bh] = dim[id] || [0, 0];
      callout(s.symbol + " = " + s.text, (w, h) => [
        [x - w / 2, y - bh / 2 - h - 4], [x - w / 2, y + bh / 2 + 4], [x + bw / 2 + 4, y - h / 2],
        [x - bw / 2 - w - 4, y - h / 2], [x - w / 2, y - bh / 2 - h - 30], [x - w / 2, y + bh / 2 + 30]], [x, y]);
    }
    // edge labels: the step's own first, then what it reads, then the rest
    const order = (e) => (mark.now.has(e.id) ? 0 : mark.reads.has(e.id) ? 1 : 2);
    labelled.sort((p, q) => order(p[0]) - order(q[0]));
    let litShown = false;
    for (const [e, a, b, few] of labelled) {
      const now = mark.now.has(e.id);
      const lines = edgeLines(e, few || now || mark.reads.has(e.id), now && hideNow);
      const ts = [0.3, 0.7, 0.5, 0.2, 0.8, 0.4, 0.6, 0.12, 0.88];
      let placed = false;
      // the lines as they are, then ever narrower: the gradient on two lines, the new value on
      // its own line, the weight's "= value" on its own line
      const cut = (l, at) => { const i = l.indexOf(at); return i < 0 ? [l] : [l.slice(0, i), at.trim() + " " + l.slice(i + at.length)]; };
      const [first, ...rest] = lines;
      const gradCut = rest.flatMap((l) => cut(l, " = "));
      const forms = [lines, [first, ...gradCut], [...cut(first, " → "), ...gradCut],
        [...cut(first, " → ").flatMap((m) => cut(m, " = ")), ...gradCut]];
      for (const block of forms) {
        const t = textBlock(block, "edge-label pic-label" + (now ? " now" : ""));
        t.setAttribute("data-edge", e.id);
        gLabels.appendChild(t);
        const r = t.getBBox();
        const cands = [];
        // a level edge keeps its line visible: its label goes above or below it first
        const level = Math.abs(b[1] - a[1]) < 0.15 * Math.abs(b[0] - a[0]);
        for (const f of ts) {
          const x = a[0] + (b[0] - a[0]) * f, y = a[1] + (b[1] - a[1]) * f;
          const centred = [x - r.width / 2, y - r.height / 2], above = [x - r.width / 2, y - r.height - 3], below = [x - r.width / 2, y + 3];
          cands.push(...(level ? [above, below, centred] : [centred, above, below]), [x + 4, y - r.height / 2], [x - r.width - 4, y - r.height / 2]);
        }
        const spot = findSpot(cands, r.width, r.height, area, obstacles);
        if (spot) { placeAt(t, r, spot); placed = true; break; }
        gLabels.removeChild(t);
      }
      if (now) litShown = placed;
    }
    if (litEdge && !litShown && !hideNow) {  // no room for its label: the step's number alone
      const [, a, b] = litEdge;
      callout(s.symbol + " = " + s.text, (w, h) => [0.5, 0.3, 0.7, 0.2, 0.8].map((f) =>
        [a[0] + (b[0] - a[0]) * f - w / 2, a[1] + (b[1] - a[1]) * f - h / 2]), [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2]);
    }
  }
  // An edge's label: its weight (→ the updated weight from the update step on) and, once
  // reached, the gradient, in the lesson's own symbols (∂L/∂W1[0][0]).
  function edgeLines(e, withGrad, hidden) {
    const w = known(e.w);
    if (state.pass) return [symbolOf(e.w) + " = " + (w ? w.text : "?")];
    const nw = e.new ? known(e.new) : null, g = e.grad ? known(e.grad) : null;
    const lines = [symbolOf(e.w) + " = " + (w ? w.text : "?") + (nw ? " → " + nw.text : hidden && e.new && state.data.steps[state.step].name === e.new ? " → ?" : "")];
    if (g && withGrad) lines.push(symbolOf(e.grad) + " = " + g.text);
    else if (hidden && e.grad && state.data.steps[state.step].name === e.grad) lines.push(symbolOf(e.grad) + " = ?");
    return lines;
  }

  // A unit's rows: a, z, δ and its bias (→ its new value from the update step on); at a
  // training step the pass's a, z and bias (no δ: that pass's backward is not on the sheet).
  // ``widest``: the longest text each row can have, for sizing the boxes.
  function unitRows(u, widest) {
    const rows = [];
    const show = (name) => (widest ? longest(name) : (known(name) || {}).text || "?");
    rows.push([symbolOf(u.a) + " = " + show(u.a), "sym"]);
    if (u.role === "input") return rows;
    if (u.z) rows.push([symbolOf(u.z) + " = " + show(u.z), ""]);
    if (u.delta && (widest || !state.pass)) rows.push([symbolOf(u.delta) + " = " + show(u.delta), ""]);
    if (u.bias) {
      const b = symbolOf(u.bias) + " = ";
      if (widest) {  // the longer of the first pass's "b = 0.1 → 0.100278" and any pass's b
        const v = state.data.values, first = b + (v[u.bias] || {}).text + (u.bias_new ? " → " + v[u.bias_new].text : "");
        const later = b + longest(u.bias);
        rows.push([first.length >= later.length ? first : later, ""]);
      } else {
        const nb = u.bias_new && !state.pass ? known(u.bias_new) : null;
        rows.push([b + show(u.bias) + (nb ? " → " + nb.text : ""), ""]);
      }
    }
    return rows;
  }
  function lossRows(loss, widest) {
    const show = (name) => (widest ? longest(name) : (known(name) || {}).text || "?");
    return [[loss.symbol + " = " + show("loss"), "sym"], ...loss.targets.map((t) => [symbolOf(t) + " = " + show(t), ""])];
  }
  function drawBox(g0, cls, id, p, dims, rows) {
    const [bw, bh] = dims;
    const g = el("g", { class: cls, "data-id": id, tabindex: "-1" });
    g.appendChild(el("rect", { x: p[0] - bw / 2, y: p[1] - bh / 2, width: bw, height: bh, rx: 8 }));
    g0.appendChild(g);
    g.appendChild(el("title", {}, tipLines(id).join("\n")));
    const text = (t, c) => g.appendChild(el("text", { x: p[0], "text-anchor": "middle", class: c }, t));
    // each row whole, and cut at its " = " into two lines for a box too narrow for it whole
    const texts = rows.map(([t, c]) => {
      const i = t.indexOf(" = ");
      return [[text(t, c)], i < 0 ? null : [text(t.slice(0, i), c), text("= " + t.slice(i + 3), c)]];
    });
    // Measured once every box is drawn (one layout for all), then: only rows that fit whole, a
    // cut-off number is worse than none (tap the unit for all).
    return () => {
      const lines = Math.max(1, Math.floor((bh - 5) / 15));
      const fit = (ts) => ts && ts.every((t) => t.getComputedTextLength() <= bw - 6);
      const choice = texts.map(([whole, cut]) => (fit(whole) ? whole : fit(cut) ? cut : null));
      const shown = [];
      choice.forEach((ts) => { if (ts && shown.length + ts.length <= lines) shown.push(...ts); });
      for (const [whole, cut] of texts) for (const t of [...whole, ...(cut || [])]) if (!shown.includes(t)) g.removeChild(t);
      const y0 = p[1] - (shown.length - 1) * 7.5 + 4;
      shown.forEach((t, k) => t.setAttribute("y", y0 + 15 * k));
    };
  }
  function drawUnit(g0, u, p, dims, mark) {
    const cls = "unit " + u.role + (mark.now.has(u.id) ? " now" : mark.reads.has(u.id) ? " reads" : "");
    return drawBox(g0, cls, u.id, p, dims, unitRows(u, false));
  }
  function drawLoss(g0, loss, p, dims, mark) {
    const cls = "unit loss" + (mark.now.has("loss") ? " now" : mark.reads.has("loss") ? " reads" : "");
    return drawBox(g0, cls, "loss", p, dims, lossRows(loss, false));
  }

  function tipLines(id) {  // every number the element shows, as far as the steps have come
    const net = state.data.network;
    if (net && !net.byId) {  // an index, built once per response: wide layers have many edges
      net.byId = {};
      for (const e of net.edges) net.byId[e.id] = ["edge", e];
      for (const b of net.biases) net.byId[b.id] = ["bias", b];
      for (const c of net.columns) for (const u of c.units) net.byId[u.id] = ["unit", u];
    }
    const out = [];
    if (state.pass) out.push(caption(state.data.steps[state.step]) + ":");
    const add = (name, prefix) => {
      if (!name) return;
      const v = known(name);
      if (state.pass && !v) return;  // a number this pass does not have (its δ, its gradient)
      out.push((prefix || symbolOf(name)) + " = " + (v ? v.text : "?"));
    };
    if (!net) return out;
    if (id === "loss") {
      add("loss", net.loss.symbol);
      for (const t of net.loss.targets) add(t);
      return out;
    }
    const [kind, item] = net.byId[id] || [];
    const edge = kind === "edge" ? item : null;
    if (edge) {
      if (!edge.w) return out;
      add(edge.w); add(edge.grad); add(edge.new);
      return out;
    }
    if (kind === "bias") { add(item.symbol); add(item.grad); add(item.new); return out; }
    if (kind === "unit") {
      const u = item;
      if (u.z) add(u.z);
      add(u.a);
      if (u.delta) add(u.delta);
      if (u.bias) { add(u.bias); add(u.bias_grad); add(u.bias_new); }
    }
    return out;
  }

  // a small computation graph: boxes label | data | grad, op circles between them
  function drawGraph(svg, graph, main) {
    svg.textContent = "";
    // Each box needs about 170 px for "grad −0.00278036": a narrow screen scrolls sideways
    // (the box around the picture scrolls) rather than cutting numbers off.
    const holder = svg.parentNode.getBoundingClientRect();
    const need = graph.columns * 170;
    if (main) { svg.style.width = ""; } else { svg.style.width = Math.max(holder.width, need) + "px"; }
    const r = svg.getBoundingClientRect();
    // A narrow main picture (a phone) runs the graph top to bottom: leaves on top.
    const vertical = main && r.width < 560;
    const W = Math.max(240, r.width);
    const H = Math.max(vertical ? graph.columns * 80 + 16 : graph.rows * 62 + 16, r.height);
    if (!main) svg.style.height = H + "px";
    if (main) applyView(svg, W, H); else svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    const pad = 8;
    const colW = vertical ? (W - 2 * pad) / graph.rows : (W - 2 * pad) / graph.columns;
    const boxW = vertical ? Math.min(colW - 6, 200) : Math.min(colW - 34, 240), boxH = 54;
    const P = {};
    for (const n of graph.nodes) {
      P[n.id] = vertical ? [pad + n.y * (W - 2 * pad), pad + 26 + n.x * (H - 2 * pad - 26)]
        : [pad + n.x * (W - 2 * pad), pad + n.y * (H - 2 * pad)];
    }
    const mark = main ? lit() : { now: new Set(), reads: new Set() };
    const reached = (name) => (name ? known(name) : null);
    for (const e of graph.edges) {
      const [x1, y1] = P[e.from], [x2, y2] = P[e.to];
      const d = vertical
        ? "M" + x1 + "," + (y1 + boxH / 2) + " C" + x1 + "," + (y1 + boxH / 2 + 14) + " " + x2 + "," + (y2 - boxH / 2 - 40) + " " + x2 + "," + (y2 - boxH / 2 - 26)
        : "M" + (x1 + boxW / 2) + "," + y1 + " C" + (x1 + boxW / 2 + 20) + "," + y1 + " " + (x2 - boxW / 2 - 36) + "," + y2 + " " + (x2 - boxW / 2 - 16) + "," + y2;
      svg.appendChild(el("path", { class: "graph-edge", d: d }));
    }
    for (const n of graph.nodes) {
      const [x, y] = P[n.id];
      const cls = "graph-node" + (mark.now.has(n.id) ? " now" : mark.reads.has(n.id) ? " reads" : "");
      const g = el("g", { class: cls, "data-id": n.id });
      g.appendChild(el("rect", { x: x - boxW / 2, y: y - boxH / 2, width: boxW, height: boxH, rx: 4 }));
      let data = n.data, grad = n.grad;
      if (main) {
        const d = reached(n.value_name), gr = reached(n.grad_name);
        // "?" until its step; "—" when no step gives it (an input whose gradient is not asked for)
        data = d ? d.text : "?"; grad = gr ? gr.text : n.grad_name ? "?" : "—";
      } else if (!state.gradsShown) grad = "?";
      // label on top; data | grad below it, as in the micrograd lecture's boxes
      const fit = (t, w) => (t.length * 6.8 > w ? t.slice(0, Math.max(1, Math.floor(w / 6.8) - 1)) + "…" : t);
      const left = x - boxW / 2 + 4, top_ = y - boxH / 2;
      g.appendChild(el("text", { x: left, y: top_ + 14, class: "lbl" }, fit(n.label, boxW - 8)));
      g.appendChild(el("line", { x1: x - boxW / 2, y1: top_ + 19, x2: x + boxW / 2, y2: top_ + 19 }));
      // a narrow box drops the words, never digits: data above, grad below the line
      const words = boxW >= 6.8 * (5 + Math.max(data.length, grad.length)) + 8;
      // a number wider than its box is squeezed to fit, never cut (a phone's narrow boxes)
      const squeeze = (t) => (t.length * 6.8 > boxW - 8 ? { textLength: boxW - 8, lengthAdjust: "spacingAndGlyphs" } : {});
      const dataText = (words ? "data " : "") + data, gradText = (words ? "grad " : "") + grad;
      g.appendChild(el("text", Object.assign({ x: left, y: top_ + 33 }, squeeze(dataText)), dataText));
      g.appendChild(el("text", Object.assign({ x: left, y: top_ + 48 }, squeeze(gradText)), gradText));
      g.appendChild(el("title", {}, n.label + "\ndata " + data + "\ngrad " + grad));
      svg.appendChild(g);
      if (n.op) {
        const o = el("g", { class: "graph-op" });
        const [ox, oy] = vertical ? [x, y - boxH / 2 - 13] : [x - boxW / 2 - 16, y];
        o.appendChild(el("circle", { cx: ox, cy: oy, r: vertical ? 12 : 14 }));
        o.appendChild(el("text", { x: ox, y: oy + 4, "text-anchor": "middle" }, n.op.length > 4 ? n.op.slice(0, 4) : n.op));
        o.appendChild(el("title", {}, n.op));
        svg.appendChild(o);
      }
    }
  }

  function drawDrill() {
    const s = state.data.steps[state.step];
    const net = state.data.network;
    let id = (s.lights[0] || "");
    if (id.startsWith("e")) { const e = net.edges.find((q) => q.id === id); id = e.to; }
    if (!state.data.graphs[id]) id = [...s.reads].find((r) => state.data.graphs[r]) || Object.keys(state.data.graphs).slice(-1)[0];
    const unit = net.columns.flatMap((c) => c.units).find((u) => u.id === id);
    const d = unit && unit.delta ? state.data.values[unit.delta] : null;
    state.gradsShown = d && d.step <= state.step;
    $("lab-drill-title").textContent = "The computation graph of unit " + (unit ? unit.symbol : "") +
      (s.after ? " (its numbers: the first pass, before training)" : state.gradsShown ? "" : " (grad after its δ step)");
    drawGraph($("lab-drill-svg"), state.data.graphs[id], false);
  }

  // -- the loss curve ---------------------------------------------------------------------------
  function drawCurve() {
    const svg = $("lab-curve");
    svg.textContent = "";
    const pts = state.data.curve;
    const fig = svg.parentNode;
    fig.hidden = !pts.length;
    if (!pts.length) return;
    const r = svg.getBoundingClientRect();
    const W = Math.max(200, r.width), H = Math.max(60, r.height);
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    const lo = Math.min(...pts.map((p) => p.loss)), hi = Math.max(...pts.map((p) => p.loss));
    const left = 70, right = 10, top = 8, bottom = 16;
    const X = (k) => left + (pts.length > 1 ? k / (pts.length - 1) : 0.5) * (W - left - right);
    const Y = (v) => top + (hi > lo ? (hi - v) / (hi - lo) : 0.5) * (H - top - bottom);
    svg.appendChild(el("line", { x1: left, y1: H - bottom, x2: W - right, y2: H - bottom, class: "curve-axis" }));
    let current = -1;
    pts.forEach((p, k) => { if (p.step >= 0 && p.step <= state.step) current = k; });
    if (state.quiz) {  // the quiz shows only the losses already worked out
      const shown = pts.slice(0, current + 1);
      $("lab-curve-caption").textContent = "The loss " + state.data.loss_symbol + ": its points appear as you reach them";
      if (!shown.length) return;
      svg.appendChild(el("polyline", { class: "curve-line", points: shown.map((p, k) => X(k) + "," + Y(p.loss)).join(" ") }));
      shown.forEach((p, k) => svg.appendChild(el("circle", { cx: X(k), cy: Y(p.loss), r: k === current ? 5 : 3, class: "curve-dot" + (k === current ? " now" : "") })));
      return;
    }
    svg.appendChild(el("polyline", { class: "curve-line", points: pts.map((p, k) => X(k) + "," + Y(p.loss)).join(" ") }));
    pts.forEach((p, k) => {
      const c = el("circle", { cx: X(k), cy: Y(p.loss), r: k === current ? 5 : 3, class: "curve-dot" + (k === current ? " now" : ""), "data-after": p.after });
      c.appendChild(el("title", {}, state.data.loss_symbol + " after " + p.after + " updates = " + (state.data.values[stepName(p.step)] || {}).text));
      c.addEventListener("click", () => go(p.step));
      svg.appendChild(c);
    });
    const fmt = (k) => (state.data.values[stepName(pts[k].step)] || {}).text || "";
    svg.appendChild(el("text", { x: 2, y: top + 8, class: "curve-text" }, fmt(pts.findIndex((p) => p.loss === hi))));
    svg.appendChild(el("text", { x: 2, y: H - bottom, class: "curve-text" }, fmt(pts.findIndex((p) => p.loss === lo))));
    svg.appendChild(el("text", { x: left, y: H - 3, class: "curve-text" }, "0"));
    svg.appendChild(el("text", { x: W - right, y: H - 3, class: "curve-text", "text-anchor": "end" }, (pts.length - 1) + " updates"));
    $("lab-curve-caption").textContent = "The loss " + state.data.loss_symbol + " over " + (pts.length - 1) + " training steps" +
      (current >= 0 ? "; the marked point: after " + pts[current].after + " updates" : "; reached at the loss step");
  }
  function stepName(index) { return index >= 0 ? state.data.steps[index].name : ""; }

  // -- quiz, search, play, fragment -------------------------------------------------------------
  function setQuiz(on) {
    state.quiz = on;
    $("lab-quiz").setAttribute("aria-pressed", String(on));
    $("lab-score").hidden = !on;
    updateScore();
    go(state.step, true);
  }
  function updateScore() {
    const answered = Object.values(state.answers).filter((a) => !a.shown);
    $("lab-score").textContent = "score " + answered.filter((a) => a.right).length + " / " + answered.length;
  }
  function check(event) {
    event.preventDefault();
    const s = state.data.steps[state.step];
    const text = $("lab-answer-input").value.trim().replace("−", "-");
    const answer = Number(text);
    if (!text || !isFinite(answer)) { $("lab-verdict").hidden = false; $("lab-verdict").className = "lab-verdict wrong"; $("lab-verdict").textContent = "type a number, e.g. 0.41"; return; }
    // the tolerance of viz.quiz.is_close_enough, sent by Python with the lesson
    const right = Math.abs(answer - s.value) <= state.data.tolerance * Math.max(Math.abs(s.value), 0.1);
    state.answers[s.index] = { answer: text, right: right };
    $("lab-answer-input").value = "";
    updateScore();
    go(state.step, true);
  }
  function reveal() {
    state.answers[state.step] = { shown: true, right: false };
    go(state.step, true);
  }
  function search(query) {
    const q = query.trim();
    if (!q) return;
    const steps = state.data.steps;
    const norm = (t) => t.replace(/\s+/g, "").toLowerCase();
    const nq = norm(q);
    let hit = steps.find((s) => norm(s.symbol) === nq || norm(s.name) === nq);
    if (!hit) hit = steps.find((s) => s.operands.some((o) => norm(o.symbol) === nq));
    if (!hit) hit = steps.find((s) => norm(s.symbol).includes(nq));
    if (!hit) { showMessage("no step mentions " + q); return; }
    showMessage("");
    go(hit.index);
  }
  function play(on) {
    if (state.playing) { clearInterval(state.playing); state.playing = null; }
    if (on) {
      state.playing = setInterval(() => {
        if (state.step >= state.data.steps.length - 1) { play(false); return; }
        go(state.step + 1);
      }, 1500 / state.speed);
    }
    $("lab-play").setAttribute("aria-pressed", String(!!on));
    $("lab-play").textContent = on ? "pause" : "play";
  }
  function writeFragment() {
    const parts = ["step=" + (state.step + 1)];
    const lesson = state.request && state.request.lesson;
    if (lesson && lesson.builtin && lesson.builtin !== "2-2-1") parts.push("lesson=" + encodeURIComponent(lesson.builtin));
    for (const k in state.edits) parts.push("e." + encodeURIComponent(k) + "=" + encodeURIComponent(state.edits[k]));
    const frag = "#" + parts.join("&");
    if (location.hash !== frag) history.replaceState(null, "", frag);
  }
  function readFragment() {
    const out = { step: null, edits: {}, lesson: null };
    for (const part of location.hash.replace(/^#/, "").split("&")) {
      if (!part) continue;
      const i = part.indexOf("=");
      if (i < 0) continue;
      let key, value;
      try { key = decodeURIComponent(part.slice(0, i)); value = decodeURIComponent(part.slice(i + 1)); } catch (e) { continue; }
      if (key === "step") out.step = parseInt(value, 10) - 1;
      else if (key === "lesson") out.lesson = value;
      else if (key.startsWith("e.") && Object.keys(out.edits).length < 500) out.edits[key.slice(2)] = value.slice(0, 60);
    }
    return out;
  }

  // -- wiring -----------------------------------------------------------------------------------
  function wire() {
    $("lab-prev").addEventListener("click", () => go(state.step - 1));
    $("lab-next").addEventListener("click", () => go(state.step + 1));
    $("lab-play").addEventListener("click", () => play(!state.playing));
    $("lab-speed").addEventListener("change", (e) => { state.speed = +e.target.value; if (state.playing) play(true); });
    $("lab-search").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); search(e.target.value); } });
    $("lab-search").addEventListener("change", (e) => search(e.target.value));
    $("lab-quiz").addEventListener("click", () => setQuiz(!state.quiz));
    $("lab-answer").addEventListener("submit", check);
    $("lab-reveal").addEventListener("click", reveal);
    $("lab-reset").addEventListener("click", () => {
      const request = Object.assign({}, state.request, { edits: {} });
      ask(request).then((ok) => { if (ok) { state.edits = {}; markEdited(); writeFragment(); } });
    });
    $("lab-zoom-in").addEventListener("click", () => { state.zoom = Math.min(6, state.zoom * 1.25); draw(); });
    $("lab-zoom-out").addEventListener("click", () => { state.zoom = Math.max(0.5, state.zoom / 1.25); draw(); });
    $("lab-fit").addEventListener("click", () => { state.zoom = 1; state.pan = [0, 0]; draw(); });
    $("lab-drill").addEventListener("click", () => {
      state.drill = !state.drill;
      $("lab-drill").setAttribute("aria-pressed", String(state.drill));
      $("lab-drill-panel").hidden = !state.drill;
      if (state.drill) drawDrill();
    });
    $("lab-drill-close").addEventListener("click", () => { state.drill = false; $("lab-drill").setAttribute("aria-pressed", "false"); $("lab-drill-panel").hidden = true; });
    const pic = $("lab-picture");
    pic.addEventListener("click", (e) => {
      const target = e.target.closest("[data-id]");
      const tip = $("lab-tip");
      if (!target || !state.data.network) { tip.hidden = true; return; }
      const id = target.getAttribute("data-id");
      const lines = tipLines(id);
      tip.textContent = lines.join("\n");
      tip.hidden = !lines.length;
      const editable = state.data.editable.find((n) => n.element === id && n.role !== "target");
      if (editable && state.inputs[editable.symbol]) { $("lab-numbers-box").open = true; }
    });
    pic.addEventListener("wheel", (e) => {
      // The wheel zooms where the page itself does not scroll (a desktop); elsewhere ctrl+wheel.
      if (!e.ctrlKey && document.documentElement.scrollHeight > innerHeight + 1) return;
      e.preventDefault();
      state.zoom = Math.max(0.5, Math.min(6, state.zoom * (e.deltaY < 0 ? 1.15 : 1 / 1.15)));
      draw();
    }, { passive: false });
    let drag = null;
    pic.addEventListener("pointerdown", (e) => { if (state.zoom !== 1) drag = [e.clientX, e.clientY, state.pan[0], state.pan[1]]; });
    window.addEventListener("pointermove", (e) => { if (drag) { state.pan = [drag[2] + (e.clientX - drag[0]), drag[3] + (e.clientY - drag[1])]; draw(); } });
    window.addEventListener("pointerup", () => { drag = null; });
    document.addEventListener("keydown", (e) => {
      if (e.target.closest && e.target.closest("input, select, textarea")) return;
      if (e.key === "ArrowRight") { go(state.step + 1); e.preventDefault(); }
      else if (e.key === "ArrowLeft") { go(state.step - 1); e.preventDefault(); }
      else if (e.key === " " && e.target === document.body) { play(!state.playing); e.preventDefault(); }
    });
    window.addEventListener("resize", () => { if (state.data) { draw(); drawCurve(); if (state.drill) drawDrill(); } });
  }

  function start() {
    buildCode();
    wire();
    let embedded = null;
    try { embedded = JSON.parse($("lab-data").textContent); } catch (e) { embedded = null; }
    const frag = readFragment();
    if (frag.step !== null && frag.step >= 0) state.step = frag.step;
    if (embedded && embedded.response) {
      state.offline = !!embedded.offline;
      state.request = embedded.response.request || embedded.request;
      setData(embedded.response);
      if (Object.keys(frag.edits).length) {
        if (canEdit()) {
          const request = Object.assign({}, state.request, { edits: frag.edits });
          ask(request).then((ok) => { if (ok) { state.edits = frag.edits; markEdited(); go(state.step, true); } });
        } else showMessage("this saved page cannot recompute the edited numbers in its link: open it with `stepgrad lab`");
      }
      return;
    }
    const first = window.stepgradRequest || { lesson: { builtin: frag.lesson || "2-2-1" } };
    const request = Object.assign({}, first, Object.keys(frag.edits).length ? { edits: frag.edits } : {});
    ask(request).then((ok) => { if (ok) { state.edits = request.edits || {}; markEdited(); go(state.step, true); } });
  }
  window.stepgradLab = { go: (i) => go(i), draw: () => draw(), drawCurve: () => drawCurve(), state: state,  // for tests, benchmarks and the site
    // the site's "open your own lesson": show another lesson, or keep this one and say why not
    load: (request) => ask(request).then((ok) => { if (ok) { state.edits = request.edits || {}; buildNumbers(); go(0); } return ok; }) };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
