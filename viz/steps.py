"""The pass step by step: one page for forward, loss, backward and update, and per-step SVGs."""

from __future__ import annotations

import html
import itertools
import json
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from autograd import Value, topological_order
from autograd.trace import BackwardTrace, TraceStep, _grouped, _name, trace_backward
from nn.network import NetworkLayout, layout_of_mlp
from nn.safe_write import encode_text, write_file
from viz.draw import (
    _MAX_ROWS_IN_BOX,
    ROLE_COLORS,
    _collapsed_neurons,
    _Graph,
    draw,
    format_number,
    graph_of,
)
from viz.render import pipe

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
    frames = step_frames(root, **draw_options)
    digits = len(str(len(frames)))
    named = [(directory / f"step-{k:0{digits}d}.svg", encode_text(frame.svg, directory))
             for k, frame in enumerate(frames, start=1)]  # fmt: skip
    return [write_file(path, data) for path, data in named]


def write_steps_html(
    root: Value | BackwardTrace,
    path: str | os.PathLike[str],
    *,
    lr: float | None = None,
    parameters: Iterable[Value] | None = None,
    title: str | None = None,
    layout: NetworkLayout | None = None,
    view: str = "graph",
    **draw_options: object,
) -> Path:
    """Write the step page of the pass from ``root`` (see :func:`step_page`) to an .html file.

    One self-contained page: the graph drawn once, the forward pass, the loss, the backward pass
    and (with ``lr``) the update as a list of steps; buttons, the arrow keys, the wheel and
    dragging move through the steps and around the picture. Nothing is fetched from anywhere:
    the file opens offline. If Graphviz is missing, :class:`GraphvizNotFoundError` is raised and
    no file is written (not even a .dot beside ``path``: it may be the user's own). Returns the
    path written.
    """
    path = _html_path(path)
    page = step_page(
        root,
        lr=lr,
        parameters=parameters,
        title=title,
        layout=layout,
        view=view,
        **draw_options,
    )
    return page.write(path)


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


# ---------------------------------------------------------------------------------------------
# The step page: the whole pass, laid out once, each step as data
# ---------------------------------------------------------------------------------------------

PARTS = ("forward", "loss", "backward", "update")
_PART_TITLES = {
    "forward": "Forward pass",
    "loss": "Loss",
    "backward": "Backward pass",
    "update": "Update",
}
_PART_ABOUT = {
    "forward": "Each operation computes its value from its operands, in an order where every "
    "operand comes first. A value not computed yet is empty.",
    "loss": "The output is compared with the target: the loss is the number that the backward "
    "pass differentiates.",
    "backward": "The chain rule visits each node once its gradient is complete, and adds "
    "local derivative × its gradient to each operand's gradient. The numbers a step changes "
    "are marked yellow.",
    "update": "Gradient descent: each parameter moves against its gradient, p ← p − η·grad, with "
    "learning rate η = {lr}. The other values stay as they are until the next forward pass.",
}
_PAGE_FILES = Path(__file__).parent  # stepper.js and stepper.css, shipped as package data
_CONTENT_SECURITY = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
_page_numbers = itertools.count(1)  # a fresh element id for each page shown in one notebook


@dataclass(frozen=True)
class PageStep:
    """One step of the page: the part it belongs to, its node, its words and the numbers it shows.

    ``shows`` lists what the step writes on the picture: ``(node, "data" or "grad", number)``.
    """

    part: str  # one of PARTS
    node: Value
    caption: str  # short, for the step list and the picture's caption
    formula: str  # with the operands' numbers filled in
    shows: tuple[tuple[Value, str, float], ...]


class StepPage:
    """The step page of one pass: forward, loss, backward and update, on a picture laid out once.

    Made by :func:`step_page`. ``steps`` holds the steps in order (each a :class:`PageStep`);
    ``html()`` gives the self-contained page, ``write(path)`` saves it, and in Jupyter the same
    stepper shows inline (``_repr_html_``, no server needed).
    """

    def __init__(
        self,
        title: str,
        steps: list[PageStep],
        lr: float | None,
        views: dict[str, tuple[str, str, list[dict]]],
        index: dict[int, int],
        precision: int,
        negated: frozenset[int] = frozenset(),
    ) -> None:
        self.title = title
        self._negated = negated  # nodes whose gradient the network view shows as Err = -grad
        self.steps = steps
        self.lr = lr
        self._views = views  # view name -> (button label, prepared SVG, each step's marks)
        self._index = index  # id(node) -> its number in the drawing: node v3's texts are d3, g3
        self._precision = precision

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {part}" for part, n in self.part_counts().items())
        return f"<StepPage {self.title!r}: {len(self.steps)} steps ({counts})>"

    @property
    def views(self) -> list[str]:
        """The pictures on the page, the one shown first first: "graph" and maybe "network"."""
        return list(self._views)

    def part_counts(self) -> dict[str, int]:
        """How many steps each part has, in page order (parts without steps are left out)."""
        counts: dict[str, int] = {}
        for step in self.steps:
            counts[step.part] = counts.get(step.part, 0) + 1
        return counts

    def html(self) -> str:
        """The page as one HTML document: SVG, CSS, script and data inline, nothing fetched."""
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CONTENT_SECURITY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(self.title)}</title>
<style>body {{ margin: 0; }}</style>
</head>
<body>
{self._fragment("sg-page", standalone=True)}
</body>
</html>
"""

    def _repr_html_(self) -> str:
        return self._fragment(f"sg-page-{next(_page_numbers)}", standalone=False)

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the page to ``path`` (an .html file in an existing folder); returns the path."""
        path = _html_path(path)
        return write_file(path, self.html())  # encoded first: a bad character changes no file

    # -- the page ------------------------------------------------------------------------------

    def _data(self, standalone: bool) -> dict:
        parts = []
        for part, count in self.part_counts().items():
            first = next(k for k, s in enumerate(self.steps) if s.part == part)
            about = _PART_ABOUT[part].format(lr=f"{self.lr:g}" if self.lr is not None else "")
            parts.append({"name": _PART_TITLES[part], "about": about, "first": first, "n": count})
        part_index = {part: i for i, part in enumerate(self.part_counts())}
        steps = []
        for k, step in enumerate(self.steps):
            # each text on the pictures knows its own words ("data ", "z1[0] = "): a step
            # sends only the number
            changes = [
                [f"{what[0]}{self._index[id(node)]}", format_number(number, self._precision)]
                for node, what, number in step.shows
            ] + [
                [f"e{self._index[id(node)]}", format_number(-number, self._precision)]
                for node, what, number in step.shows
                if what == "grad" and id(node) in self._negated
            ]
            steps.append(
                {
                    "part": part_index[step.part],
                    "t": f"{_PART_TITLES[step.part]}: {step.caption}",
                    "f": step.formula,
                    "s": changes,
                    "v": {name: marks[k] for name, (_, _, marks) in self._views.items()},
                }
            )
        return {"standalone": standalone, "parts": parts, "steps": steps}

    def _fragment(self, uid: str, standalone: bool) -> str:
        data = self._data(standalone)
        first = data["steps"][0]
        parts = "".join(
            f'<button type="button" aria-pressed="{str(i == 0).lower()}">'
            f'{html.escape(p["name"])} <span class="sg-n">{p["n"]}</span></button>'
            for i, p in enumerate(data["parts"])
        )
        view_buttons = ""
        if len(self._views) > 1:
            view_buttons = "".join(
                f'<button type="button" data-view="{name}" aria-pressed="{str(i == 0).lower()}">'
                f"{html.escape(label)}</button>"
                for i, (name, (label, _, _)) in enumerate(self._views.items())
            )
        views = "\n".join(
            f'<div class="sg-view" data-view="{name}"{" hidden" if i else ""}>'
            f'<div class="sg-caption"><span>{html.escape(first["t"])}</span></div>'
            f'<div class="sg-canvas">{svg}</div></div>'
            for i, (name, (_, svg, _)) in enumerate(self._views.items())
        )
        items = []
        for k, step in enumerate(self.steps):
            if k == 0 or step.part != self.steps[k - 1].part:
                items.append(f'<div class="sg-part-head">{_PART_TITLES[step.part]}</div>')
            current = ' aria-current="step"' if k == 0 else ""
            items.append(f'<button type="button"{current}>{html.escape(step.caption)}</button>')
        legend = "".join(
            f'<span style="background:{color}">{role}</span>' for role, color in ROLE_COLORS.items()
        )
        legend += (
            '<span style="background:#fde68a">changed by this step</span>'
            '<span style="border:2px solid #d62728">current</span>'
            '<span style="border:2px solid #2563eb">operands</span>'
        )
        css = (_PAGE_FILES / "stepper.css").read_text(encoding="utf-8")
        script = (_PAGE_FILES / "stepper.js").read_text(encoding="utf-8")
        standalone_class = " sg-standalone" if standalone else ""
        return f"""<div class="sg-stepper{standalone_class}" id="{uid}" tabindex="-1">
<style>{css}</style>
<header>
<h1 class="sg-title">{html.escape(self.title)}</h1>
<p class="sg-about">{html.escape(data["parts"][0]["about"])}</p>
<div class="sg-row"><div class="sg-row sg-parts">{parts}</div>\
<div class="sg-row sg-views">{view_buttons}</div></div>
</header>
<div class="sg-main">
{views}
<div class="sg-list">{"".join(items)}</div>
</div>
<div class="sg-row sg-bar">
<button type="button" class="sg-prev" disabled>&larr; previous</button>
<span class="sg-counter">step 1 of {len(self.steps)}</span>
<button type="button" class="sg-next">next &rarr;</button>
<span class="sg-row">\
<button type="button" class="sg-zoom-out" title="zoom out (-)">&minus;</button>\
<button type="button" class="sg-fit" title="fit to the window (0)">fit</button>\
<button type="button" class="sg-zoom-in" title="zoom in (+)">+</button>\
<button type="button" class="sg-center" title="centre on the current node">current node</button>\
</span>
<span class="sg-legend">{legend}</span>
</div>
<pre class="sg-formula">{html.escape(first["f"])}</pre>
<script type="application/json" class="sg-data">{_json_for_script(data)}</script>
<script>{script}
window.stepgradStepper(document.getElementById("{uid}"));</script>
</div>"""


def step_page(
    root: Value | BackwardTrace,
    *,
    lr: float | None = None,
    parameters: Iterable[Value] | None = None,
    title: str | None = None,
    layout: NetworkLayout | None = None,
    view: str = "graph",
    **draw_options: object,
) -> StepPage:
    """The step page of the whole pass that computed ``root``: forward, loss, backward, update.

    The graph is drawn once (one Graphviz run); each step is data that the page's small script
    applies to that picture: the forward pass (each value appears in order), the loss (when the
    graph has neurons, from ``model=`` or ``names=``: the nodes after the network's output),
    the backward pass (one step per chain-rule step of :func:`autograd.trace_backward`, the
    gradients it changes marked), and, when ``lr`` is given, the update ``p ← p − lr·grad`` of
    each parameter (``parameters``, by default those named by ``model=``/``names=``).

    The page has a second picture, the network view (units in layers, weights on the edges;
    see ``draw(..., view="network")``), when ``layout`` (an :class:`nn.network.NetworkLayout`,
    e.g. a worked example's or a lesson's) is given or ``model`` is an ``nn.MLP``: the same
    steps light up the unit or weight they are about. ``view`` ("graph" or "network") is the
    picture shown first; a button or the V key switches.

    ``root`` is the output Value (its graph's gradients are left as they were: the pass is
    traced from zero gradients and restored) or a ``BackwardTrace``. ``draw_options`` go to
    :func:`viz.draw.draw` (``model``, ``names``, ``collapse``, ``rankdir``, ``precision``, ...).
    ``title`` replaces the page's heading.
    """
    for option in _FRAME_OPTIONS:
        if option in draw_options:
            raise TypeError(f"{option!r} is set by each step; it cannot be passed as an option")
    value = root.root if isinstance(root, BackwardTrace) else root
    if not isinstance(value, Value):
        raise TypeError(f"need the output Value or a BackwardTrace, got {type(root).__name__}")
    lr = _check_lr(lr)
    if view not in ("graph", "network"):
        raise ValueError(f"view must be 'graph' or 'network'; got {view!r}")
    # The graph's boxes are headed by the same layout as the network view (if any).
    draw_options = {**draw_options, "layout": layout} if layout is not None else draw_options
    # Drawing the complete graph first checks the options and the size before any tracing.
    draw(value, **draw_options)
    if value.is_leaf:
        raise ValueError("there is no step to show: the output is a leaf (no operation made it)")
    trace = _trace(root)
    graph = graph_of(value, **{k: draw_options.get(k) for k in ("model", "names", "layout")})
    collapsed = _collapsed_neurons(draw_options.get("collapse", False), graph)
    precision = draw_options.get("precision", 4)
    updated = _parameters_to_update(lr, parameters, graph)

    network_layout = _network_layout(layout, draw_options.get("model"), value)
    units = set()
    if network_layout is not None:
        for layer in network_layout.layers[1:]:
            units.update(id(v) for u in layer.units for v in (u.z, u.a) if v is not None)
    steps = _forward_steps(graph, units, precision) + _backward_steps(trace, precision)
    grads = _grads_after_each_step(trace)[-1]
    steps += [_update_step(p, lr, grads.get(p, 0.0), precision) for p in updated]

    picture = _GraphPicture(graph, collapsed, bool(draw_options.get("show_grad", True)), precision)
    views = {
        "graph": (
            "Computation graph",
            picture.svg(trace, steps, draw_options),
            [picture.marks(step) for step in steps],
        )
    }
    if network_layout is not None:
        final = {id(v): g for v, g in grads.items()}
        network = _NetworkPicture(network_layout, graph, final, precision)
        svg = network.svg(draw_options)
        views["network"] = ("Network", svg, [network.marks(step) for step in steps])
    if view not in views:
        raise ValueError("view='network': the network view needs layout= or an nn.MLP as model=")
    views = {view: views[view], **views}  # the first view is the one shown first
    if title is None:
        name = _name(value)
        title = f"{name}, step by step: forward pass, backward pass" + (
            ", update" if updated else ""
        )
    negated = frozenset(
        id(u.z)
        for layer in (network_layout.layers if network_layout is not None else ())
        for u in layer.units
        if u.z is not None and network_layout.error_sign < 0
    )
    return StepPage(title, steps, lr, views, graph.index, precision, negated)


def _network_layout(layout: object, model: object, root: Value) -> NetworkLayout | None:
    """The network to draw beside the graph: ``layout=``, or an ``nn.MLP`` model's, or none."""
    if layout is not None:
        if not isinstance(layout, NetworkLayout):
            raise TypeError(f"layout must be a NetworkLayout; got {type(layout).__name__}")
        return layout
    if model is not None and hasattr(model, "layers"):
        try:
            return layout_of_mlp(model, root=root)
        except (TypeError, ValueError):
            return None  # not a network this view can draw: the page shows the graph only
    return None


def _html_path(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"the step-by-step page must be an .html file; got {os.fspath(path)!r}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: directory {path.parent} does not exist")
    return path


def _check_lr(lr: object) -> float | None:
    if lr is None:
        return None
    if isinstance(lr, bool) or not isinstance(lr, (int, float)):
        raise TypeError(f"lr must be a number (the learning rate), got {type(lr).__name__} {lr!r}")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number above 0 (the learning rate); got {lr!r}")
    return float(lr)


def _parameters_to_update(
    lr: float | None, parameters: Iterable[Value] | None, graph: _Graph
) -> list[Value]:
    if lr is None:
        if parameters is not None:
            raise ValueError("parameters= are updated with a learning rate: pass lr= as well")
        return []
    if parameters is None:
        found = [v for v in graph.order if id(v) in graph.parameters]
        if not found:
            raise ValueError(
                "lr= needs the parameters to update: pass parameters= (or model=/names=)"
            )
        # in the order they were named (a model lists its first layer first)
        order = list(graph.parameters)
        return sorted(found, key=lambda v: order.index(id(v)))
    if isinstance(parameters, Value) or not isinstance(parameters, Iterable):
        raise TypeError(f"parameters must be a list of Values; got {type(parameters).__name__}")
    out: list[Value] = []
    for i, p in enumerate(parameters):
        if not isinstance(p, Value):
            raise TypeError(f"parameters[{i}] must be a Value; got {type(p).__name__} {p!r}")
        if id(p) not in graph.index:
            raise ValueError(f"parameters[{i}] ({_name(p)}) is not part of the graph of the output")
        if not p.is_leaf:
            raise ValueError(
                f"parameters[{i}] ({_name(p)}) is computed, not a leaf: it cannot be updated"
            )
        if all(q is not p for q in out):
            out.append(p)
    return out


# -- the steps ---------------------------------------------------------------------------------


def _loss_nodes(graph: _Graph, units: set[int]) -> set[int]:
    """Computed nodes after the network: the nodes that are neither in the network (a neuron's
    nodes, a unit's weighted input or output in ``units``) nor feed it. Empty when the graph
    has no neurons."""
    network = set(graph.neuron) | units
    if not network:
        return set()
    feeds: set[int] = set()  # nodes that a node of the network is computed from
    for v in reversed(graph.order):
        if any(id(c) in network or id(c) in feeds for c in graph.consumers.get(id(v), ())):
            feeds.add(id(v))
    return {id(v) for v in graph.order if not v.is_leaf and id(v) not in network | feeds}


def _forward_steps(graph: _Graph, units: set[int], precision: int) -> list[PageStep]:
    loss = _loss_nodes(graph, units)
    computed = [v for v in graph.order if not v.is_leaf]
    # the loss part after the network part: still an order where operands come first, since a
    # loss node feeds no network node
    ordered = [v for v in computed if id(v) not in loss] + [v for v in computed if id(v) in loss]
    return [
        PageStep(
            "loss" if id(v) in loss else "forward",
            v,
            f"{_name(v)} = {format_number(v.data, precision)}",
            _forward_formula(v),
            ((v, "data", v.data),),
        )
        for v in ordered
    ]


def _backward_steps(trace: BackwardTrace, precision: int) -> list[PageStep]:
    steps = []
    for step in trace.steps:
        shows: dict[int, tuple[Value, str, float]] = {}
        if step.index == 0:
            shows[id(step.node)] = (step.node, "grad", step.grad)
        for p in step.parents:
            shows[id(p.node)] = (p.node, "grad", p.grad_after)  # a + a: the last sum counts
        caption = f"at {_name(step.node)}: grad {format_number(step.grad, precision)}"
        steps.append(
            PageStep("backward", step.node, caption, step.formula(), tuple(shows.values()))
        )
    return steps


def _update_step(p: Value, lr: float, grad: float, precision: int) -> PageStep:
    new = p.data - lr * grad
    name = _name(p)
    formula = _lines(
        f"{name} ← {name} − η × grad({name})",
        len(name),
        [f"{_number(p.data)} − {lr:g} × {_operand(grad)}", _number(new)],
    )
    return PageStep(
        "update", p, f"{name} ← {format_number(new, precision)}", formula, ((p, "data", new),)
    )


_INFIX = {"+": "+", "-": "−", "*": "×", "/": "/"}


def _number(x: float) -> str:
    return f"{x + 0.0:.6g}"  # + 0.0: -0 is shown as 0


def _operand(x: float) -> str:
    text = _number(x)
    return f"({text})" if text.startswith("-") else text


def _lines(first: str, name_length: int, rest: list[str]) -> str:
    """A formula over several lines, each '= ...' under the first '=' when the name is short
    (longer names would push the numbers off a phone's screen: then a small indent)."""
    pad = " " * (name_length + 1 if name_length <= 12 else 2)
    return "\n".join([first, *(f"{pad}= {line}" for line in rest)])


def _forward_formula(v: Value) -> str:
    """How v is computed, with names, then numbers, then the result: three lines."""
    op, ps = v.op, v.parents
    names = [_grouped(_name(p)) for p in ps]
    numbers = [_operand(p.data) for p in ps]
    if op in _INFIX and len(ps) == 2:
        symbolic = f"{names[0]} {op} {names[1]}"
        filled = f"{_number(ps[0].data)} {_INFIX[op]} {numbers[1]}"  # -6 + 2, 2 × (-3)
    elif op == "**" and len(ps) == 2:
        symbolic, filled = f"{names[0]}^{names[1]}", f"{numbers[0]}^{numbers[1]}"
    elif op.startswith("**") and len(ps) == 1:
        symbolic, filled = f"{names[0]}^{op[2:]}", f"{numbers[0]}^{op[2:]}"
    elif op == "neg" and len(ps) == 1:
        symbolic, filled = f"−{names[0]}", f"−{numbers[0]}"
    elif op.startswith("sum(w*x)"):
        k = len(ps) // 2
        symbolic = " + ".join(f"{names[i]}*{names[k + i]}" for i in range(k))
        filled = " + ".join(f"{numbers[i]} × {numbers[k + i]}" for i in range(k))
        if len(ps) > 2 * k:
            symbolic += f" + {names[-1]}"
            filled += f" + {numbers[-1]}"
    else:
        symbolic = f"{op}({', '.join(_name(p) for p in ps)})"
        filled = f"{op}({', '.join(_number(p.data) for p in ps)})"
    name = _name(v)
    return _lines(f"{name} = {symbolic}", len(name), [filled, _number(v.data)])


# -- the picture -------------------------------------------------------------------------------

_SVG_GROUP = re.compile(
    r'<g id="[^"]*" class="(?P<kind>node|edge)[^"]*">\n<title>(?P<title>[^<]*)</title>\n'
    r"(?P<body>.*?)</g>",
    re.S,
)
_POINTS = re.compile(r'points="([^"]*)"')
_TEXT = re.compile(r"^<text (?P<attrs>[^>]*)>(?P<content>[^<]*)</text>$")


class _GraphPicture:
    """The computation graph drawn once, with names on what steps change or mark."""

    def __init__(self, graph: _Graph, collapsed: set[str], show_grad: bool, precision: int):
        self.graph = graph
        self.collapsed = collapsed
        self.show_grad = show_grad
        self.precision = precision
        self.index = graph.index  # id(node) -> its number: v3's texts are d3 and g3

    def drawn(self, v: Value) -> str:
        """The SVG element that shows v: its record, or the box of its collapsed neuron."""
        neuron = self.graph.neuron.get(id(v))
        if neuron is not None and neuron in self.collapsed:
            return f"n{self.graph.neurons.index(neuron)}"
        return self.graph.node_id(v)

    def marks(self, step: PageStep) -> dict[str, object]:
        """What the step marks in this picture: current element, operands, arrows leading to it."""
        v = step.node
        current = self.drawn(v)
        if step.part == "update" or v.is_leaf:
            return {"c": current, "o": [], "p": []}
        operands = list(dict.fromkeys(self.drawn(p) for p in v.parents if self.drawn(p) != current))
        if current.startswith("n"):
            path = [f"{tail}->{current}" for tail in operands]
        else:
            op = self.graph.op_id(v)
            path = [op, *(f"{tail}->{op}" for tail in dict.fromkeys(map(self.drawn, v.parents)))]
            path.append(f"{op}->{current}")
        return {"c": current, "o": operands, "p": path}

    def svg(self, trace: BackwardTrace, steps: list[PageStep], draw_options: dict) -> str:
        """One Graphviz run: cells wide enough for every number a step will write in them."""
        texts = [(node, what, number) for step in steps for node, what, number in step.shows]
        grad_width = max(
            (len(f"grad {format_number(n, self.precision)}") for _, w, n in texts if w == "grad"),
            default=4,
        )
        source = draw(trace.root, grads={}, grad_width=grad_width, **draw_options).source
        source = self._widen_data_cells(source, texts)
        output = pipe(source, "svg").decode("utf-8")
        return _prepare_svg(output, self._name_group_texts)

    def _widen_data_cells(self, source: str, texts: list) -> str:
        # A step may write a longer number than the drawing had (an updated parameter): make
        # its cell wide enough from the start, so that the layout never changes.
        longer: dict[tuple[str, str], str] = {}
        for node, what, number in texts:
            old = f"data {format_number(node.data, self.precision)}"
            new = f"data {format_number(number, self.precision)}"
            if what == "data" and len(new) > len(old):
                key = (self.drawn(node), old)
                if len(new) > len(longer.get(key, "")):
                    longer[key] = new
        if not longer:
            return source
        lines = source.split("\n")
        for i, line in enumerate(lines):
            name = line.strip().split(" ", 1)[0]
            for (drawn, old), new in longer.items():
                if drawn == name and line.lstrip().startswith(f"{drawn} [label=<"):
                    line = line.replace(f">{old}</td>", f">{new}</td>")
            lines[i] = line
        return "\n".join(lines)

    def _name_group_texts(self, name: str, kind: str, body: str) -> str:
        values = self._values_shown_by(name) if kind == "node" else []
        return self._name_texts(body, values) if values else body

    def _values_shown_by(self, name: str) -> list[Value]:
        if name.startswith("v") and name[1:].isdigit():
            return [self.graph.order[int(name[1:])]]
        if name.startswith("n") and name[1:].isdigit():
            neuron = self.graph.neurons[int(name[1:])]
            members = [v for v in self.graph.order if self.graph.neuron.get(id(v)) == neuron]
            params = [v for v in members if id(v) in self.graph.parameters]
            return self.graph.outputs_of(neuron) + params[:_MAX_ROWS_IN_BOX]
        return []

    def _name_texts(self, body: str, values: list[Value]) -> str:
        """Name the data and grad texts (and their cells) of the values a node shows."""
        lines = body.split("\n")
        texts = []  # (line, content, cell line, cell points)
        cell_line, points = None, None
        for i, line in enumerate(lines):
            if line.startswith("<polygon"):
                found = _POINTS.search(line)
                points = found.group(1) if found else None
                if 'fill="none"' not in line:
                    cell_line = i
            elif line.startswith("<text"):
                m = _TEXT.match(line)
                if m:
                    texts.append((i, html.unescape(m.group("content")), cell_line, points))
        # each value's row ends with its data text, then its grad text
        rows = []
        for k, (_, content, _, _) in enumerate(texts):
            if content.startswith("data ") and (
                not self.show_grad or (k + 1 < len(texts) and texts[k + 1][1].startswith("grad"))
            ):
                rows.append(k)
        if len(values) == 1:
            rows = rows[-1:]
        if len(rows) != len(values):
            return body  # not the drawing this was written for: leave the texts as drawn
        for v, k in zip(values, rows):
            number = self.index[id(v)]
            shown = [
                (
                    "d",
                    texts[k],
                    f"data {format_number(v.data, self.precision)}" if v.is_leaf else "data",
                )
            ]
            if self.show_grad:
                shown.append(("g", texts[k + 1], "grad"))
            for prefix, (line, _, cell, pts), initial in shown:
                key = f"{prefix}{number}"
                words = "data " if prefix == "d" else "grad "
                lines[line] = _named_text(lines[line], key, words, initial, pts)
                if cell is not None:
                    lines[cell] = lines[cell].replace("<polygon ", f'<polygon data-k="{key}" ', 1)
        return "\n".join(lines)


class _NetworkPicture:
    """The network view drawn once (units, weights on edges), named like the graph's picture.

    A step about a node the view shows (a unit's z or a, a weight, a bias, the loss) marks that
    element; a step about a node it does not show (a product w*x, a partial sum) marks the first
    element computed from it (its unit), and the step's operands that the view shows (the unit
    before, the weight's edge) as operands.
    """

    def __init__(
        self, layout: NetworkLayout, graph: _Graph, final: dict[int, float], precision: int
    ) -> None:
        self.layout = layout
        self.graph = graph
        self.final = final  # id(node) -> its gradient at the end of the backward pass
        self.precision = precision
        self.rows = _network_rows(layout)  # element -> the (Value, "d"/"g") it writes, in order
        self.owner: dict[int, str] = {}  # id(node) -> the element that stands for it
        for name, rows in self.rows.items():
            for v, _ in rows:
                self.owner.setdefault(id(v), name)
        for v in reversed(graph.order):  # consumers come later: they are resolved first
            if id(v) not in self.owner:
                for c in graph.consumers.get(id(v), ()):
                    if id(c) in self.owner:
                        self.owner[id(v)] = self.owner[id(c)]
                        break

    def marks(self, step: PageStep) -> dict[str, object] | None:
        v = step.node
        current = self.owner.get(id(v))
        if current is None:
            return None
        if step.part == "update" or v.is_leaf:
            return {"c": current, "o": [], "p": []}
        operands = [self.owner.get(id(p)) for p in v.parents]
        operands = list(dict.fromkeys(o for o in operands if o is not None and o != current))
        return {"c": current, "o": operands, "p": []}

    def svg(self, draw_options: dict) -> str:
        """One Graphviz run, with every gradient known so that the δ and grad lines are drawn."""
        options = {
            k: draw_options[k] for k in ("rankdir", "show_grad", "precision") if k in draw_options
        }
        grads = {v: self.final.get(id(v), 0.0) for v in self.graph.order}
        source = draw(
            self.graph.root, view="network", layout=self.layout, grads=grads, **options
        ).source
        output = pipe(source, "svg").decode("utf-8")
        return _prepare_svg(output, self._name_texts)

    def _name_texts(self, name: str, kind: str, body: str) -> str:
        rows = self.rows.get(name)
        if not rows:
            return body
        lines = body.split("\n")
        texts = [(i, _TEXT.match(line)) for i, line in enumerate(lines)]
        texts = [(i, html.unescape(m.group("content"))) for i, m in texts if m]
        centre = re.search(r'<ellipse [^>]*\bcx="([^"]*)"', body)
        position = 0
        for v, what in rows:
            number = v.data if what == "d" else self.final.get(id(v), 0.0)
            number = -number if what == "e" else number
            shown = format_number(number, self.precision)
            for k in range(position, len(texts)):
                line, content = texts[k]
                if content.endswith(shown) and ("=" in content or content.startswith("grad ")):
                    words = content[: len(content) - len(shown)]
                    initial = content if what == "d" and v.is_leaf else words + "?"
                    key = f"{what}{self.graph.index[id(v)]}"
                    lines[line] = _named_text(lines[line], key, words, initial)
                    alone = sum(1 for t in texts if _same_line(lines[t[0]], lines[line])) == 1
                    if centre and alone and kind == "node":
                        # a line of its own in a circle: keep it centred when its number changes
                        lines[line] = re.sub(r'\bx="[^"]*"', f'x="{centre.group(1)}"', lines[line])
                        lines[line] = lines[line].replace(
                            'text-anchor="start"', 'text-anchor="middle"'
                        )
                    position = k + 1
                    break
        return "\n".join(lines)


def _same_line(a: str, b: str) -> bool:
    ya, yb = re.search(r'\by="([^"]*)"', a), re.search(r'\by="([^"]*)"', b)
    return bool(ya and yb and ya.group(1) == yb.group(1))


def _network_rows(layout: NetworkLayout) -> dict[str, list[tuple[Value, str]]]:
    """The numbers each element of the network view writes, in the order it writes them."""
    rows: dict[str, list[tuple[Value, str]]] = {}
    for li, layer in enumerate(layout.layers):
        biases = [u.bias for u in layer.units]
        shared = (
            biases[0]
            if biases[0] is not None and len(biases) > 1 and all(b is biases[0] for b in biases)
            else None
        )
        if shared is not None:
            rows[f"L{li}b"] = [(shared, "d"), (shared, "g")]
        for j, unit in enumerate(layer.units):
            own: list[tuple[Value, str]] = []
            if unit.z is not None and unit.a is not unit.z:
                own.append((unit.z, "d"))
            if unit.a is not None:
                own.append((unit.a, "d"))
            if unit.z is not None:  # its δ, or the book's Err = -δ ("e")
                own.append((unit.z, "e" if layout.error_sign < 0 else "g"))
            if unit.bias is not None and shared is None:
                own += [(unit.bias, "d"), (unit.bias, "g")]
            rows[f"L{li}u{j}"] = own
            for i, w in enumerate(unit.weights):
                if w is not None:
                    rows[f"L{li - 1}u{i}->L{li}u{j}"] = [(w, "d"), (w, "g")]
    if layout.loss is not None:
        rows["loss"] = [(layout.loss, "d")]
    return rows


def _prepare_svg(output: str, name_texts) -> str:
    """Graphviz's SVG for the page: each node and edge group named by its DOT name (data-n),
    its texts named by ``name_texts(name, kind, body)``, comments and Graphviz's ids removed."""

    def group(match: re.Match) -> str:
        name = html.unescape(match.group("title"))
        kind = match.group("kind")
        body = name_texts(name, kind, match.group("body"))
        return f'<g class="{kind}" data-n="{html.escape(name, quote=True)}">\n{body}</g>'

    svg = output[output.index("<svg") :]
    svg = re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)
    svg = _SVG_GROUP.sub(group, svg)
    # Graphviz's own ids would clash between two pages in one notebook; nothing uses them.
    return re.sub(r'<g id="[^"]*" class=', "<g class=", svg)


def _named_text(line: str, key: str, words: str, text: str, points: str | None = None) -> str:
    """A text element named ``key`` that shows ``words`` + a number, showing ``text`` for now.

    With ``points`` (its cell's corners) it is centred in the cell, so that a longer or shorter
    number stays centred.
    """
    attrs = _TEXT.match(line).group("attrs")
    if points:
        xs = [float(p.split(",")[0]) for p in points.split()]
        attrs = re.sub(r'\bx="[^"]*"', f'x="{(min(xs) + max(xs)) / 2:.2f}"', attrs)
        attrs = attrs.replace('text-anchor="start"', 'text-anchor="middle"')
    pre = html.escape(words, quote=True)
    return f'<text data-k="{key}" data-pre="{pre}" {attrs}>{html.escape(text)}</text>'


def _json_for_script(value: object) -> str:
    # JSON inside <script>: escape what could close the element or start markup.
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
