/* stepgrad step page: shows one step of the pass on a picture laid out once, and pans/zooms it.
 *
 * The page holds each picture (an SVG) once and the steps as data (a JSON script). Elements of
 * the pictures carry names: data-n="v3" on the group drawing node v3 (or "v3->op5" on an edge),
 * data-k="d3" / "g3" on the text showing v3's data / grad (and on the cell behind it), with its
 * words before the number in data-pre ("data ", "z1[0] = "). A step says which texts get which
 * new number ("s"), and per view which element is current ("c"),
 * which are its operands ("o") and which arrows and op nodes lead to it ("p"). Showing step k
 * replays the numbers of steps 0..k, so every step can be reached directly.
 */
(function () {
  "use strict";

  var MIN_FIT = 0.7;   // "fit" never shrinks below this: smaller numbers are unreadable
  var MIN_ZOOM = 0.08;
  var MAX_ZOOM = 4;
  var MARGIN = 18;     // px kept between the current node and the edge of the view

  function each(list, f) { for (var i = 0; i < list.length; i++) { f(list[i], i); } }
  function clamp(x, lo, hi) { return Math.max(lo, Math.min(hi, x)); }

  function start(root) {
    var data = JSON.parse(root.querySelector("script.sg-data").textContent);
    var steps = data.steps;
    var q = function (cls) { return root.querySelector("." + cls); };
    var formula = q("sg-formula");
    var counter = q("sg-counter");
    var about = q("sg-about");
    var prev = q("sg-prev");
    var next = q("sg-next");
    var listButtons = root.querySelectorAll(".sg-list button");
    var partButtons = root.querySelectorAll(".sg-parts button");
    var viewButtons = root.querySelectorAll(".sg-views button");
    var current = 0;
    var marked = [];     // elements given a class by the step on show, cleared on the next

    // 1. The texts that steps change, with what they show before any step.
    var texts = {};
    var cells = {};
    var initial = {};
    each(root.querySelectorAll("text[data-k]"), function (el) {
      var k = el.getAttribute("data-k");
      (texts[k] = texts[k] || []).push(el);
      (initial[k] = initial[k] || []).push(el.textContent);
    });
    each(root.querySelectorAll("polygon[data-k]"), function (el) {
      var k = el.getAttribute("data-k");
      (cells[k] = cells[k] || []).push(el);
    });

    // 2. The views (computation graph, network), each with its own pan and zoom.
    var views = [];
    each(root.querySelectorAll(".sg-view"), function (el) {
      var view = { name: el.getAttribute("data-view"), el: el, s: 1, x: 0, y: 0, named: {},
                   canvas: el.querySelector(".sg-canvas"), caption: el.querySelector(".sg-caption"),
                   placed: false };
      each(el.querySelectorAll("[data-n]"), function (g) {
        var n = g.getAttribute("data-n");
        (view.named[n] = view.named[n] || []).push(g);
      });
      views.push(view);
    });
    var view = views[0];

    function apply(v) {
      v.canvas.style.transform = "translate(" + v.x + "px," + v.y + "px) scale(" + v.s + ")";
    }

    function zoomAt(v, scale, px, py) {
      // keep the picture point under (px, py) (client coordinates) where it is
      var box = v.el.getBoundingClientRect();
      var s = clamp(scale, MIN_ZOOM, MAX_ZOOM);
      var ox = px - box.left, oy = py - box.top;
      v.x = ox - (ox - v.x) * (s / v.s);
      v.y = oy - (oy - v.y) * (s / v.s);
      v.s = s;
      apply(v);
    }

    function zoomBy(v, factor) {
      var box = v.el.getBoundingClientRect();
      zoomAt(v, v.s * factor, box.left + box.width / 2, box.top + box.height / 2);
    }

    function focusOf(v) {
      var m = steps[current].v[v.name];
      return m && v.named[m.c] ? v.named[m.c][0] : null;
    }

    function room(v) {
      // the part of the view not covered by the caption, in client coordinates
      var box = v.el.getBoundingClientRect();
      var top = box.top + (v.caption ? v.caption.offsetHeight + 6 : 0);
      return { left: box.left + MARGIN, right: box.right - MARGIN,
               top: top + MARGIN / 2, bottom: box.bottom - MARGIN };
    }

    // Bring the current element fully into view, with its operands and arrows when they fit
    // too: zoom out if the element alone is too big, then move the picture (when what is to
    // be seen is already in view, nothing moves).
    function reveal(v) {
      var el = focusOf(v);
      if (!el || v.el.hidden) { return; }
      var r = el.getBoundingClientRect();
      var w = room(v);
      var fw = (w.right - w.left) / r.width, fh = (w.bottom - w.top) / r.height;
      if (fw < 1 || fh < 1) {
        zoomAt(v, v.s * Math.min(fw, fh) * 0.98, r.left + r.width / 2, r.top + r.height / 2);
        r = el.getBoundingClientRect();
      }
      var target = withOperands(v, r);
      if (target.right - target.left > w.right - w.left ||
          target.bottom - target.top > w.bottom - w.top) {
        target = r;
      }
      // partly visible: move just enough (the picture stays where the reader knows it);
      // out of sight: centre it, which also shows what comes next around it
      var seen = r.right > w.left && r.left < w.right && r.bottom > w.top && r.top < w.bottom;
      v.x += shift(target.left, target.right, w.left, w.right, seen);
      v.y += shift(target.top, target.bottom, w.top, w.bottom, seen);
      apply(v);
    }

    function withOperands(v, r) {
      var m = steps[current].v[v.name];
      var box = { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
      (m.o || []).concat(m.p || []).forEach(function (n) {
        each(v.named[n] || [], function (el) {
          var e = el.getBoundingClientRect();
          box.left = Math.min(box.left, e.left);
          box.right = Math.max(box.right, e.right);
          box.top = Math.min(box.top, e.top);
          box.bottom = Math.max(box.bottom, e.bottom);
        });
      });
      return box;
    }

    function shift(lo, hi, roomLo, roomHi, nearest) {
      if (lo >= roomLo && hi <= roomHi) { return 0; }
      if (!nearest) { return (roomLo + roomHi) / 2 - (lo + hi) / 2; }
      return lo < roomLo ? roomLo - lo : roomHi - hi;
    }

    // Fit the whole picture, but never below MIN_FIT: a wide graph is then shown at a legible
    // size, centred on what fits, with the current node in view.
    function fit(v) {
      var box = v.el.getBoundingClientRect();
      var w = v.canvas.offsetWidth, h = v.canvas.offsetHeight;
      if (!w || !h || !box.width) { return; }
      var captionRoom = v.caption ? v.caption.offsetHeight + 6 : 0;
      var s = Math.min(box.width / w, (box.height - captionRoom) / h, 1.5);
      v.s = Math.max(s, MIN_FIT);
      v.x = (box.width - w * v.s) / 2;
      v.y = captionRoom + (box.height - captionRoom - h * v.s) / 2;
      apply(v);
      reveal(v);
    }

    // 3. Showing a step: numbers, marks, words.
    function show(k) {
      current = clamp(k, 0, steps.length - 1);
      var step = steps[current];
      var state = {};
      for (var j = 0; j <= current; j++) {
        each(steps[j].s, function (change) { state[change[0]] = change[1]; });
      }
      Object.keys(texts).forEach(function (key) {
        var known = Object.prototype.hasOwnProperty.call(state, key);
        each(texts[key], function (el, i) {
          // each text keeps its own words ("data ", "z1[0] = "); the step gives the number
          var text = known ? el.getAttribute("data-pre") + state[key] : initial[key][i];
          if (el.textContent !== text) { el.textContent = text; }
        });
      });
      each(marked, function (item) { item[0].classList.remove(item[1]); });
      marked = [];
      function mark(list, cls) {
        each(list || [], function (el) { el.classList.add(cls); marked.push([el, cls]); });
      }
      each(step.s, function (change) {
        mark(texts[change[0]], "sg-new");
        mark(cells[change[0]], "sg-new");
      });
      views.forEach(function (v) {
        var m = step.v[v.name];
        if (!m) { return; }
        each(m.p, function (n) { mark(v.named[n], "sg-path"); });
        each(m.o, function (n) { mark(v.named[n], "sg-near"); });
        mark(v.named[m.c], "sg-cur");
        if (v.caption) { v.caption.firstChild.textContent = step.t; }
      });
      var part = data.parts[step.part];
      formula.textContent = step.f;
      counter.textContent = "step " + (current + 1) + " of " + steps.length;
      about.textContent = part.about;
      prev.disabled = current === 0;
      next.disabled = current === steps.length - 1;
      each(partButtons, function (b, i) { b.setAttribute("aria-pressed", String(i === step.part)); });
      each(listButtons, function (b, i) {
        if (i === current) {
          b.setAttribute("aria-current", "step");
          scrollListTo(b);
        } else {
          b.removeAttribute("aria-current");
        }
      });
      if (data.standalone) {
        try { history.replaceState(null, "", "#step-" + (current + 1)); } catch (e) { /* file:// */ }
      }
      reveal(view);
    }

    function scrollListTo(button) {
      // scroll only the list, never the page around it (a notebook must not jump)
      var list = button.parentNode;
      var top = button.offsetTop;   // the list is positioned: offsets are within it
      if (top < list.scrollTop || top + button.offsetHeight > list.scrollTop + list.clientHeight) {
        list.scrollTop = top - list.clientHeight / 3;
      }
    }

    function showView(name) {
      views.forEach(function (v) {
        v.el.hidden = v.name !== name;
        if (v.name === name) { view = v; }
      });
      each(viewButtons, function (b) {
        b.setAttribute("aria-pressed", String(b.getAttribute("data-view") === name));
      });
      if (!view.placed) { view.placed = true; fit(view); } else { reveal(view); }
    }

    // 4. Controls: buttons, keys, wheel, drag, pinch.
    prev.addEventListener("click", function () { show(current - 1); });
    next.addEventListener("click", function () { show(current + 1); });
    each(listButtons, function (b, i) { b.addEventListener("click", function () { show(i); }); });
    each(partButtons, function (b, i) {
      b.addEventListener("click", function () { show(data.parts[i].first); });
    });
    each(viewButtons, function (b) {
      b.addEventListener("click", function () { showView(b.getAttribute("data-view")); });
    });
    q("sg-zoom-in").addEventListener("click", function () { zoomBy(view, 1.25); });
    q("sg-zoom-out").addEventListener("click", function () { zoomBy(view, 0.8); });
    q("sg-fit").addEventListener("click", function () { fit(view); });
    q("sg-center").addEventListener("click", function () {
      var el = focusOf(view);
      if (!el) { return; }
      var r = el.getBoundingClientRect(), w = room(view);
      view.x += (w.left + w.right) / 2 - (r.left + r.right) / 2;
      view.y += (w.top + w.bottom) / 2 - (r.top + r.bottom) / 2;
      apply(view);
    });

    function partStart(direction) {
      var p = steps[current].part + direction;
      if (direction < 0 && current !== data.parts[steps[current].part].first) { p += 1; }
      return p >= 0 && p < data.parts.length ? data.parts[p].first : current;
    }

    var keys = {
      ArrowRight: function () { show(current + 1); },
      ArrowLeft: function () { show(current - 1); },
      Home: function () { show(0); },
      End: function () { show(steps.length - 1); },
      PageDown: function () { show(partStart(1)); },
      PageUp: function () { show(partStart(-1)); },
      "+": function () { zoomBy(view, 1.25); },
      "=": function () { zoomBy(view, 1.25); },
      "-": function () { zoomBy(view, 0.8); },
      "0": function () { fit(view); },
      f: function () { fit(view); },
      v: function () {
        var i = views.indexOf(view);
        showView(views[(i + 1) % views.length].name);
      }
    };
    var pans = { ArrowUp: [0, 1], ArrowDown: [0, -1], ArrowLeft: [1, 0], ArrowRight: [-1, 0] };
    var keyTarget = data.standalone ? document : root;
    keyTarget.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey) { return; }
      var tag = (event.target.tagName || "").toLowerCase();
      if (tag === "input" || tag === "textarea" || tag === "select") { return; }
      var pan = pans[event.key];
      if (pan && (event.shiftKey || event.key === "ArrowUp" || event.key === "ArrowDown")) {
        view.x += pan[0] * 80;   // Shift+arrows (and up/down) move the picture
        view.y += pan[1] * 80;
        apply(view);
      } else if (Object.prototype.hasOwnProperty.call(keys, event.key)) {
        keys[event.key]();
      } else {
        return;
      }
      event.preventDefault();
    });

    views.forEach(function (v) {
      v.el.addEventListener("wheel", function (event) {
        event.preventDefault();
        if (Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
          v.x -= event.deltaX;     // sideways scrolling pans
          apply(v);
          return;
        }
        var unit = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? 400 : 1;
        zoomAt(v, v.s * Math.exp(-event.deltaY * unit * 0.0015), event.clientX, event.clientY);
      }, { passive: false });
      // One pointer drags the picture; two (fingers on a phone) pinch to zoom.
      var pointers = {};
      var drag = null;
      var pinch = null;
      function spread() {
        var p = Object.keys(pointers).map(function (id) { return pointers[id]; });
        return { d: Math.hypot(p[0].x - p[1].x, p[0].y - p[1].y) || 1,
                 x: (p[0].x + p[1].x) / 2, y: (p[0].y + p[1].y) / 2 };
      }
      v.el.addEventListener("pointerdown", function (event) {
        if (event.button !== 0) { return; }
        pointers[event.pointerId] = { x: event.clientX, y: event.clientY };
        v.el.setPointerCapture(event.pointerId);
        var count = Object.keys(pointers).length;
        if (count === 1) {
          drag = { x: event.clientX, y: event.clientY, vx: v.x, vy: v.y };
          v.el.classList.add("sg-dragging");
        } else if (count === 2) {
          drag = null;
          pinch = spread();
        }
      });
      v.el.addEventListener("pointermove", function (event) {
        if (!pointers[event.pointerId]) { return; }
        pointers[event.pointerId] = { x: event.clientX, y: event.clientY };
        if (pinch && Object.keys(pointers).length === 2) {
          var now = spread();
          zoomAt(v, v.s * now.d / pinch.d, now.x, now.y);
          v.x += now.x - pinch.x;
          v.y += now.y - pinch.y;
          apply(v);
          pinch = now;
        } else if (drag) {
          v.x = drag.vx + event.clientX - drag.x;
          v.y = drag.vy + event.clientY - drag.y;
          apply(v);
        }
      });
      function stop(event) {
        delete pointers[event.pointerId];
        pinch = null;
        drag = null;
        v.el.classList.remove("sg-dragging");
      }
      v.el.addEventListener("pointerup", stop);
      v.el.addEventListener("pointercancel", stop);
    });
    window.addEventListener("resize", function () { reveal(view); });

    // 5. First picture: the step named in the address (#step-5), else the first.
    var linked = data.standalone ? /^#step-(\d+)$/.exec(location.hash) : null;
    current = linked ? clamp(parseInt(linked[1], 10) - 1, 0, steps.length - 1) : 0;
    showView(view.name);
    show(current);
  }

  window.stepgradStepper = start;
})();
