"""The backward pass step by step: one drawing per chain-rule step, as SVGs or one HTML page."""

from __future__ import annotations

import html
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from autograd import Value, topological_order
from autograd.trace import BackwardTrace, TraceStep, trace_backward
from viz.draw import ROLE_COLORS, draw, format_number
from viz.render import GraphvizNotFoundError, pipe

# Options that the frames set themselves, so a caller cannot pass them.
_FRAME_OPTIONS = ("grads", "highlight", "grad_width")


@dataclass(frozen=True)
class Frame:
    """One chain-rule step drawn: the step, the DOT text and the SVG picture."""

    step: TraceStep
    source: str
    svg: str  # a complete SVG document, as `dot -Tsvg` wrote it


def step_frames(root: Value | BackwardTrace, **draw_options: object) -> list[Frame]:
    """One frame per chain-rule step of the backward pass from ``root``.

    Frame k shows the graph right after step k: the node being visited (and the edges to its
    operands) in red, with the class ``highlight`` on their SVG groups; every gradient found so
    far filled in; nodes the chain rule has not reached yet with an empty grad. All frames have
    the same layout, so that stepping through them only changes numbers and colours.

    ``root`` is the output Value (a fresh backward pass is traced from zero gradients, and every
    node's ``.grad`` is restored afterwards, so your graph is left as it was) or a
    ``BackwardTrace`` from ``autograd.trace.trace_backward``. ``draw_options`` go to
    :func:`viz.draw.draw` (``rankdir``, ``model``, ``names``, ``collapse``, ``precision``, ...).
    """
    for option in _FRAME_OPTIONS:
        if option in draw_options:
            raise TypeError(f"{option!r} is set by each frame; it cannot be passed as an option")
    trace = _trace(root)
    if not trace.steps:
        raise ValueError(
            "there is no chain-rule step to show: the output is a leaf (no operation made it)"
        )
    # Drawing the complete graph first checks the options and the size before any work.
    draw(trace.root, **draw_options)
    precision = draw_options.get("precision", 4)
    shown = _grads_after_each_step(trace)
    width = max(
        len(f"grad {format_number(g, precision)}") for grads in shown for g in grads.values()
    )
    sources = [
        draw(
            trace.root,
            grads=grads,
            highlight=[step.node, *((p.node, step.node) for p in step.parents)],
            grad_width=width,
            **draw_options,
        ).source
        for step, grads in zip(trace.steps, shown)
    ]
    svgs = _render_svgs(sources)
    return [Frame(step, source, svg) for step, source, svg in zip(trace.steps, sources, svgs)]


def write_step_svgs(
    root: Value | BackwardTrace, directory: str | os.PathLike[str], **draw_options: object
) -> list[Path]:
    """Write one SVG per chain-rule step (``step-01.svg``, ...) into ``directory``.

    The directory is created if needed. See :func:`step_frames` for what each frame shows and
    for ``draw_options``. Returns the files written, in step order.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"cannot write step SVGs into {directory}: it is a file")
    directory.mkdir(parents=True, exist_ok=True)
    frames = _frames_or_save_source(root, directory / "graph.dot", draw_options)
    digits = len(str(len(frames)))
    paths = []
    for number, frame in enumerate(frames, start=1):
        path = directory / f"step-{number:0{digits}d}.svg"
        path.write_text(frame.svg, encoding="utf-8")
        paths.append(path)
    return paths


def write_steps_html(
    root: Value | BackwardTrace, path: str | os.PathLike[str], **draw_options: object
) -> Path:
    """Write one self-contained HTML page that steps through the backward pass from ``root``.

    The page shows one frame at a time (see :func:`step_frames`) with the step's formula under
    the picture; the buttons ``#prev`` / ``#next`` or the left / right arrow keys move between
    steps, ``#step-counter`` says where you are. Everything is inline (SVG, CSS, JavaScript):
    the file opens offline. Returns the path written.
    """
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"the step-by-step page must be an .html file; got {os.fspath(path)!r}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: directory {path.parent} does not exist")
    frames = _frames_or_save_source(root, path.with_suffix(".dot"), draw_options)
    color_by = draw_options.get("color_by", "role")
    path.write_text(_page(frames, legend=color_by == "role"), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# Tracing and frames
# ---------------------------------------------------------------------------------------------


def _trace(root: object) -> BackwardTrace:
    """The trace of one backward pass from zero grads; the nodes' grads are restored after."""
    if isinstance(root, BackwardTrace):
        return root
    if not isinstance(root, Value):
        raise TypeError(f"need the output Value or a BackwardTrace, got {type(root).__name__}")
    nodes = topological_order(root)
    saved = [v.grad for v in nodes]
    try:
        for v in nodes:
            v.grad = 0.0  # leaves accumulate: start from zero so each frame shows one pass
        return trace_backward(root)
    finally:
        for v, g in zip(nodes, saved):
            v.grad = g


def _grads_after_each_step(trace: BackwardTrace) -> list[dict[Value, float]]:
    """For each step, every gradient known right after it (nodes not reached are absent)."""
    known: dict[Value, float] = {}
    frames = []
    for step in trace.steps:
        known[step.node] = step.grad
        for parent in step.parents:
            known[parent.node] = parent.grad_after
        frames.append(dict(known))
    return frames


def _render_svgs(sources: list[str]) -> list[str]:
    # One `dot` run for all frames: starting a process per frame would dominate the time.
    output = pipe("\n".join(sources), "svg").decode("utf-8")
    svgs = [part for part in re.split(r"(?=<\?xml )", output) if part.strip()]
    if len(svgs) != len(sources):
        raise RuntimeError(f"Graphviz returned {len(svgs)} SVG pictures for {len(sources)} frames")
    return svgs


def _frames_or_save_source(root: object, dot_path: Path, draw_options: dict) -> list[Frame]:
    """step_frames, but if Graphviz is missing the complete graph's DOT text is saved first."""
    try:
        return step_frames(root, **draw_options)
    except GraphvizNotFoundError as error:
        trace = _trace(root)
        grads = _grads_after_each_step(trace)[-1]
        source = draw(trace.root, grads=grads, **draw_options).source
        dot_path.write_text(source, encoding="utf-8")
        raise GraphvizNotFoundError(
            f"{error} The DOT source of the whole graph was saved to {dot_path}.", source, dot_path
        ) from None


# ---------------------------------------------------------------------------------------------
# The HTML page
# ---------------------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       margin: 1.5rem; color: #222; max-width: 80rem; }
h1 { font-size: 1.4rem; margin-bottom: .3rem; }
.help { color: #555; margin-top: 0; }
nav { display: flex; gap: .8rem; align-items: center; margin: .8rem 0; }
nav button { font-size: 1rem; padding: .3rem .9rem; cursor: pointer; }
#step-counter { min-width: 8rem; text-align: center; font-variant-numeric: tabular-nums; }
.frame { margin: 0; overflow: auto; max-height: 70vh; border: 1px solid #ddd; }
#frames.fit svg { max-width: 100%; height: auto; }
.fit-toggle { color: #555; font-size: .9rem; }
#formula { background: #f6f6f6; border-left: 4px solid #d62728; padding: .7rem 1rem;
           white-space: pre-wrap; font-family: ui-monospace, Menlo, Consolas, monospace;
           font-size: .95rem; }
.legend span { display: inline-block; padding: 0 .5rem; margin-right: .4rem;
               border: 1px solid #444; font-size: .85rem; }
"""

# The page's script: show one frame, keep counter, formula and buttons in step with it.
_SCRIPT = """
(function () {
  "use strict";
  var formulas = FORMULAS;
  var frames = document.querySelectorAll("#frames .frame");
  var prev = document.getElementById("prev");
  var next = document.getElementById("next");
  var counter = document.getElementById("step-counter");
  var formula = document.getElementById("formula");
  var fit = document.getElementById("fit");
  var current = 0;

  function show(k) {
    current = Math.max(0, Math.min(frames.length - 1, k));
    for (var i = 0; i < frames.length; i++) { frames[i].hidden = (i !== current); }
    formula.textContent = formulas[current];
    counter.textContent = "step " + (current + 1) + " of " + frames.length;
    prev.disabled = (current === 0);
    next.disabled = (current === frames.length - 1);
    try { history.replaceState(null, "", "#step-" + (current + 1)); } catch (e) { /* file:// */ }
    // a big graph scrolls sideways: bring the node of this step into view
    var node = frames[current].querySelector("g.node.highlight");
    if (node && node.scrollIntoView) {
      node.scrollIntoView({ block: "nearest", inline: "center" });
    }
  }

  fit.addEventListener("change", function () {
    document.getElementById("frames").classList.toggle("fit", fit.checked);
  });

  prev.addEventListener("click", function () { show(current - 1); });
  next.addEventListener("click", function () { show(current + 1); });
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var moves = { ArrowLeft: current - 1, ArrowRight: current + 1,
                  Home: 0, End: frames.length - 1 };
    if (Object.prototype.hasOwnProperty.call(moves, event.key)) {
      event.preventDefault();
      show(moves[event.key]);
    }
  });
  var linked = /^#step-(\\d+)$/.exec(location.hash);
  show(linked ? parseInt(linked[1], 10) - 1 : 0);
})();
"""


def _page(frames: list[Frame], legend: bool) -> str:
    root_label = frames[0].step.label or "the output"
    title = f"Backward pass of {root_label}, step by step"
    figures = "\n".join(_figure(k, frame) for k, frame in enumerate(frames))
    formulas = [frame.step.formula() for frame in frames]
    script = _SCRIPT.replace("FORMULAS", _json_for_script(formulas))
    legend_html = _legend() if legend else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p class="help">Each step applies the chain rule at one node (framed in red): its gradient is
complete, and it adds <i>local derivative &times; its gradient</i> to each operand's gradient.
Gradients the pass has not reached yet are empty. Use the buttons or the &larr; &rarr; keys.</p>
{legend_html}
<nav>
<button id="prev" type="button">&larr; previous</button>
<span id="step-counter">step 1 of {len(frames)}</span>
<button id="next" type="button">next &rarr;</button>
<label class="fit-toggle"><input type="checkbox" id="fit"> fit the picture to the window</label>
</nav>
<div id="frames">
{figures}
</div>
<pre id="formula">{html.escape(formulas[0])}</pre>
<script>{script}</script>
</body>
</html>
"""


def _figure(k: int, frame: Frame) -> str:
    svg = frame.svg[frame.svg.index("<svg") :]
    # Each frame's SVG is inline in one document: make its ids unique to it.
    svg = re.sub(r'\bid="', f'id="s{k + 1}-', svg)
    hidden = " hidden" if k else ""
    node = html.escape(frame.step.label, quote=True)
    return (
        f'<figure class="frame" id="frame-{k + 1}" data-node="{node}"{hidden}>\n{svg}</figure>'
    )


def _legend() -> str:
    swatches = "".join(
        f'<span style="background:{color}">{role}</span>' for role, color in ROLE_COLORS.items()
    )
    return f'<p class="legend">{swatches}</p>'


def _json_for_script(value: object) -> str:
    # JSON inside <script>: escape what could close the element or start markup.
    text = json.dumps(value, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")

