"""The lab's one API: a request (a lesson, edited numbers) in, everything the lab page draws out.

``handle(request) -> response`` is the only computation behind the lab page, whichever way the
page reaches it: ``stepgrad lab``'s local server (``viz.lab_server``) posts the request as JSON,
the static site runs this module in Pyodide, and the offline page embeds one response. A request
names a lesson (a built-in, a lesson file's text, or a formula with its values), optional edits
of its given numbers (by the lesson's own symbols, as untrusted text), a learning rate and a
number of further training steps. The response holds the lesson's sheet as a list of steps (the
quantities of ``viz.sheet.explain_lesson`` in its order and words, or of
``viz.trace_command.explain_value`` for a formula), which picture elements each step lights and
reads, the network's layout with coordinates, every unit's small computation graph, the
editable numbers and the loss over the training steps. Bad input never raises: the response is
``{"ok": false, "error": "<one line naming the field>"}`` and nothing else changes.

This module and everything it imports must run without NumPy and without the graphviz package
(Pyodide has neither): the layouts here are computed in plain Python.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from autograd import Value
from nn.lesson import Lesson, build_lesson
from nn.program import ProgramRun, looks_like_program, parse_program
from nn.spec import LessonSpec, ProgramSpec, read_spec_text
from viz.numbers import format_number
from viz.quiz import DEFAULT_TOLERANCE
from viz.report import printed_mark
from viz.sheet import SECTION_TRAINING, Explanation, Quantity, explain_lesson, symbol

API_VERSION = 1
MAX_BODY = 1 << 20  # bytes of request JSON: a lesson file (at most 1 MiB) and its edits
MAX_EDITS = 2000  # more than the parameters of the largest lesson (8 layers of 32 units)
MAX_NUMBER_TEXT = 40  # characters of one edited number
MAX_MAGNITUDE = 1e6  # an edited number beyond this is a typo, and would overflow the loss
DEFAULT_STEPS = 10  # further training steps: the loss curve's length
LARGE_LESSON = 100  # parameters; past this the default curve is shorter (a graph per step)
LARGE_LESSON_STEPS = 5
MAX_LAB_STEPS = 200
# Numbers of the training passes a response carries for the picture (each pass: every parameter,
# z, a, input, target and the loss); a wide lesson carries its first few passes only.
MAX_PASS_NUMBERS = 20_000
DEFAULT_LESSON = "2-2-1"

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_AFTER = re.compile(r" after \d+ updates?$")


_LESSON_KINDS = ({"builtin"}, {"file"}, {"expr"}, {"expr", "bindings"})


class RequestError(ValueError):
    """A request the lab cannot answer; the message is one line naming the field."""


# ---------------------------------------------------------------------------------------------
# The entry points
# ---------------------------------------------------------------------------------------------


def handle(request: object) -> dict[str, Any]:
    """Answer one lab request (see the module docstring); never raises.

    ``request``: ``{"lesson": {"builtin": "2-2-1"} | {"file": {"name": "net.toml", "text":
    "..."}} | {"expr": "tanh(x1*w1 + b)", "bindings": {"x1": "2", ...}}, "edits": {"W2[0]":
    "0.65"}, "lr": "0.5", "steps": 10}`` (everything but ``lesson`` optional). The response is
    ``{"ok": true, ...}`` with everything the page draws, or ``{"ok": false, "error": line}``.
    """
    try:
        return _answer(request)
    except RequestError as error:
        return _error(str(error))
    except (ValueError, TypeError, ArithmeticError, RecursionError) as error:
        # the lesson or formula itself is wrong (nn.spec, nn.expression name the field)
        return _error(str(error) or type(error).__name__)
    except Exception as error:  # noqa: BLE001 - the page must get a line, never a traceback
        return _error(f"the lab could not answer: {type(error).__name__}: {error}")


def handle_json(text: object) -> str:
    """``handle`` with JSON text in and JSON text out (what the server and the site exchange)."""
    try:
        if isinstance(text, bytes):
            if len(text) > MAX_BODY:
                raise RequestError(_too_big(len(text)))
            text = text.decode("utf-8")
        if not isinstance(text, str):
            raise RequestError(f"request: expected JSON text, got {type(text).__name__}")
        if len(text) > MAX_BODY:
            raise RequestError(_too_big(len(text)))
        try:
            request = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as error:
            raise RequestError(f"request: not valid JSON ({_one_line(str(error))})") from None
        response = handle(request)
    except RequestError as error:
        response = _error(str(error))
    except UnicodeDecodeError:
        response = _error("request: not UTF-8 text")
    return json.dumps(response, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _too_big(size: int) -> str:
    return f"request: {size} bytes, over the limit of {MAX_BODY} bytes"


def _error(message: str) -> dict[str, Any]:
    return {"ok": False, "version": API_VERSION, "error": _one_line(message)}


def _one_line(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= 300 else line[:297] + "..."


# ---------------------------------------------------------------------------------------------
# Reading the request
# ---------------------------------------------------------------------------------------------


def _answer(request: object) -> dict[str, Any]:
    if not isinstance(request, Mapping):
        raise RequestError(f"request: expected a JSON object, got {_kind(request)}")
    unknown = [str(k) for k in request if k not in ("lesson", "edits", "lr", "steps", "code")]
    if unknown:
        raise RequestError(f"request: unknown field {unknown[0]!r}")
    lesson = request.get("lesson", {"builtin": DEFAULT_LESSON})
    if not isinstance(lesson, Mapping) or set(lesson) not in _LESSON_KINDS:
        raise RequestError(
            "lesson: expected one of {\"builtin\": name}, {\"file\": {\"name\", \"text\"}}, "
            "{\"expr\": formula, \"bindings\": {...}}"
        )
    edits = _edits(request.get("edits", {}))
    steps = request.get("steps")
    whole = isinstance(steps, int) and not isinstance(steps, bool)
    if steps is not None and not (whole and 0 <= steps <= MAX_LAB_STEPS):
        raise RequestError(f"steps: expected a whole number from 0 to {MAX_LAB_STEPS}")
    code = request.get("code", False)
    if not isinstance(code, bool):
        raise RequestError(f"code: expected true or false, got {_kind(code)}")
    lr_text = request.get("lr")
    if "expr" in lesson:
        if lr_text is not None:
            raise RequestError("lr: a formula has no learning rate")
        return _expression_response(lesson, edits, code)
    if "builtin" in lesson:
        from nn.examples import LESSON_NAMES, example_spec

        name = lesson["builtin"]
        if name not in LESSON_NAMES:
            raise RequestError(
                f"lesson.builtin: unknown lesson {_short(name)!r}; choose one of: "
                + ", ".join(LESSON_NAMES)
            )
        spec = example_spec(name)
        source = {"builtin": name}
    else:
        spec, source = _file_spec(lesson["file"])
    if lr_text is not None:
        edits["η"] = _number(lr_text, "lr")
    return _lesson_response(spec, edits, steps, source, code)


def _file_spec(given: object) -> tuple[LessonSpec, dict[str, Any]]:
    if not isinstance(given, Mapping) or set(given) != {"name", "text"}:
        raise RequestError('lesson.file: expected {"name": "net.toml", "text": "..."}')
    name, text = given["name"], given["text"]
    if not isinstance(name, str) or not name.lower().endswith((".toml", ".json")):
        raise RequestError("lesson.file.name: a lesson file's name ends in .toml or .json")
    if not isinstance(text, str):
        raise RequestError("lesson.file.text: expected the file's text")
    if len(name) > 200:
        raise RequestError("lesson.file.name: longer than 200 characters")
    if len(text) > MAX_BODY:
        raise RequestError(f"lesson.file.text: over the limit of {MAX_BODY} characters")
    kind = "toml" if name.lower().endswith(".toml") else "json"
    # the page sends the text back with every edit: the server keeps no state
    return read_spec_text(text, name, kind), {"file": {"name": name, "text": text}}


def _edits(given: object) -> dict[str, float]:
    if not isinstance(given, Mapping):
        raise RequestError(f"edits: expected an object of symbol -> number, got {_kind(given)}")
    if len(given) > MAX_EDITS:
        raise RequestError(f"edits: {len(given)} numbers, more than the limit of {MAX_EDITS}")
    out = {}
    for key, text in given.items():
        if not isinstance(key, str) or not 0 < len(key) <= 60:
            raise RequestError(f"edits: {_short(str(key))!r} is not a symbol")
        out[key] = _number(text, f"edits[{key!r}]")
    return out


def _number(text: object, where: str) -> float:
    """An untrusted number: decimal text (or a JSON number), finite and of sane size."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise RequestError(f"{where}: expected a number, got {_kind(text)}")
    if isinstance(text, str):
        plain = text.strip().replace("−", "-")
        if len(plain) > MAX_NUMBER_TEXT or not _NUMBER.fullmatch(plain):
            raise RequestError(f"{where}: {_short(text)!r} is not a number")
        value = float(plain)
    else:
        try:
            value = float(text)
        except OverflowError:
            value = math.inf
    if not math.isfinite(value):
        raise RequestError(f"{where}: {_short(str(text))} is not a finite number")
    if abs(value) > MAX_MAGNITUDE:
        raise RequestError(
            f"{where}: {_short(str(text))} is too large; use a number from −1e6 to 1e6"
        )
    return value


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _short(text: object) -> str:
    text = str(text)
    return text if len(text) <= 30 else text[:27] + "..."


# ---------------------------------------------------------------------------------------------
# A lesson (built-in or file)
# ---------------------------------------------------------------------------------------------


def _apply_edits(spec: LessonSpec, edits: Mapping[str, float]) -> tuple[LessonSpec, dict, float]:
    """The spec with edited inputs, targets and frozen biases; parameter overrides; the lr."""
    lr = spec.lr
    inputs, targets = list(spec.inputs), list(spec.targets)
    layers = list(spec.layers)
    parameters: dict[str, float] = {}
    known = set(spec.parameter_names())
    for key, value in edits.items():
        if key == "η":
            if value <= 0.0:
                raise RequestError(f"lr: the learning rate must be positive, got {value:g}")
            lr = value
        elif key in spec.input_symbols:
            inputs[spec.input_symbols.index(key)] = value
        elif key in spec.target_symbols:
            targets[spec.target_symbols.index(key)] = value
        elif key in known:
            parameters[key] = value
        else:
            for n, layer in enumerate(layers):
                if key in layer.bias_symbols and not layer.train_biases:
                    biases = list(layer.biases)
                    biases[0 if layer.shared_bias else layer.bias_symbols.index(key)] = value
                    layers[n] = dataclasses.replace(layer, biases=tuple(biases))
                    break
            else:
                raise RequestError(f"edits: {_short(key)!r} is not a number this lesson gives")
    spec = dataclasses.replace(spec, inputs=tuple(inputs), targets=tuple(targets),
                               layers=tuple(layers))  # fmt: skip
    return spec, parameters, lr


def _lesson_response(
    spec: LessonSpec, edits: dict[str, float], steps: int | None, source: dict[str, Any],
    code: bool = False,
) -> dict[str, Any]:  # fmt: skip
    if spec.program is not None:
        return _program_lesson_response(spec, edits, steps, source, code)
    spec, parameters, lr = _apply_edits(spec, edits)
    if steps is None:
        large = len(spec.parameter_names()) > LARGE_LESSON
        steps = LARGE_LESSON_STEPS if large else DEFAULT_STEPS
    lesson = build_lesson(spec, lr=lr, parameters=parameters)
    # The numbers the source printed are about its own numbers: with edits they are not.
    explanation = explain_lesson(lesson, steps=steps, compare_printed=None if not edits else False,
                                 keep_passes=_passes_kept(spec))  # fmt: skip
    lesson = explanation.example
    network = _network(lesson)
    names = _element_names(lesson)
    steps_out = _steps(explanation, names)
    values = _values(explanation, steps_out)
    _name_network_numbers(network, values)
    return _with_code({
        **_lesson_head("lesson", source, edits, steps, explanation, lesson.error_sign),
        "curve": _curve(explanation, steps_out, "loss"),
        "editable": _editable(explanation, names),
        "steps": steps_out,
        "sections": _sections(steps_out),
        "values": values,
        "passes": _passes(explanation, steps_out, network),
        "network": network,
        "graphs": {unit["id"]: _unit_graph(lesson, unit["id"]) for unit in _all_units(network)},
    }, code, lambda: _code().lesson_code(explanation, _command(source)))


def _code() -> Any:
    import viz.code

    return viz.code


def _command(source: Mapping[str, Any]) -> str:
    """The command line printing the same sheet, named in the script's docstring."""
    import shlex

    if "builtin" in source:
        return shlex.join(["stepgrad", "example", str(source["builtin"])])
    if "file" in source:
        return shlex.join(["stepgrad", "example", str(source["file"].get("name", "lesson.toml"))])
    bindings = source.get("bindings", {})
    return shlex.join(["stepgrad", "trace", str(source.get("expr", "")),
                       *(f"{k}={v}" for k, v in bindings.items())])  # fmt: skip


def _with_code(response: dict[str, Any], wanted: bool, make: Callable[[], Any]) -> dict[str, Any]:
    """Give each step the lines of the ``--code`` script computing its number (``"code"``) and
    the response the whole ``"script"``, when the request asked (``"code": true``: the script
    costs as much again as the rest on a wide lesson, so the page asks only with its code view
    on); a lesson whose script cannot be written gets neither, never an error."""
    if not wanted:
        return response
    try:
        code = make()
    except (ValueError, TypeError, KeyError, ArithmeticError, RecursionError):
        return response
    for step in response["steps"]:
        step["code"] = code.lines.get(step["name"], [])
    response["script"] = code.script
    return response


def _title(name: str, title: str) -> str:
    """The page's heading: the title, after the lesson's name unless the title starts with it
    ("2-2-1 sigmoid network, ...", not "2-2-1: 2-2-1 sigmoid network, ...")."""
    if not title or title == name:
        return name
    return title if title.startswith(name + " ") else f"{name}: {title}"


def _lesson_head(
    kind: str, source: object, edits: Mapping[str, float], steps: int,
    explanation: Explanation, error_sign: int,
) -> dict[str, Any]:  # fmt: skip
    """What every lesson's response starts with: the request to repeat, the title and words."""
    lesson = explanation.example
    return {
        "ok": True,
        "version": API_VERSION,
        "kind": kind,
        "request": {"lesson": source, "edits": {k: _text(v) for k, v in edits.items()},
                    "steps": steps},  # fmt: skip
        "title": _title(lesson.name, lesson.title),
        "source": lesson.source,
        "notes": list(explanation.notes),
        "loss_symbol": explanation.loss_symbol,
        "error_sign": error_sign,
        "tolerance": DEFAULT_TOLERANCE,
    }


def _curve(explanation: Explanation, steps_out: list[dict[str, Any]], loss_step: str) -> list:
    """The loss before training and after each training step, each with the step that shows it."""
    lesson = explanation.example
    curve = [{"after": 0, "loss": lesson.loss.data, "step": _first(steps_out, loss_step)}]
    for k, q in enumerate(explanation.training, start=1):
        curve.append({"after": k, "loss": q.value, "step": _first(steps_out, q.name)})
    return curve


def _text(x: float) -> str:
    return format_number(x)


def _pass_size(spec: LessonSpec) -> int:
    """How many numbers one training pass of the picture holds."""
    units = sum(layer.units for layer in spec.layers)
    return len(spec.parameter_names()) + 2 * units + len(spec.inputs) + len(spec.targets) + 1


def _passes_kept(spec: LessonSpec) -> int:
    """How many training passes a response carries: all of them, up to MAX_PASS_NUMBERS."""
    return max(1, MAX_PASS_NUMBERS // _pass_size(spec))


def _name_network_numbers(network: dict[str, Any], values: Mapping[str, Any]) -> None:
    """Give each edge, unit and shared bias the names of its gradient and updated value (None
    where the lesson has no such step), so the page never builds a name from another."""

    def named(name: str) -> str | None:
        return name if name in values else None

    for edge in network["edges"]:
        w = edge["w"]
        edge["grad"] = named(f"dL/d{w}") if w else None
        edge["new"] = named(f"{w} (updated)") if w else None
    for unit in _all_units(network):
        b = unit["bias"]
        unit["bias_grad"] = named(f"dL/d{b}") if b else None
        unit["bias_new"] = named(f"{b} (updated)") if b else None
    for bias in network["biases"]:
        bias["grad"] = named(f"dL/d{bias['symbol']}")
        bias["new"] = named(f"{bias['symbol']} (updated)")


def _passes(
    explanation: Explanation, steps_out: list[dict[str, Any]], network: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The network as each training step leaves it: ``{"after": k, "step": index, "values":
    {name: {"value", "text"}}}`` with every number the picture shows (weights, biases, inputs,
    a, z, targets, the loss), each from the engine's own run of the lesson; the training step
    records ``"after": k`` (and ``"pass"``: whether its numbers are here)."""
    shown: set[str] = {"loss", *network["loss"]["targets"]}
    for edge in network["edges"]:
        if edge["w"]:
            shown.add(edge["w"])
    for unit in (u for column in network["columns"] for u in column["units"]):
        shown.update(n for n in (unit.get("a"), unit.get("z"), unit.get("bias")) if n)
    shown.update(b["symbol"] for b in network["biases"])
    training = [s for s in steps_out if s["section"] == SECTION_TRAINING]
    out = []
    for k, step in enumerate(training, start=1):
        step["after"] = k
        step["pass"] = k <= len(explanation.passes)
        if not step["pass"]:
            continue
        numbers = explanation.passes[k - 1]
        out.append({"after": k, "step": step["index"],
                    "values": {name: {"value": numbers[name], "text": _text(numbers[name])}
                               for name in sorted(shown) if name in numbers}})  # fmt: skip
    return out


def _unit_id(layer: int, unit: int) -> str:
    return f"u{layer}-{unit}"


def _edge_id(layer: int, i: int, j: int) -> str:
    return f"e{layer}-{i}-{j}"


def _network(lesson: Lesson) -> dict[str, Any]:
    """Columns of units with coordinates in a 0..1 box (the page scales them to fit)."""
    n_in = len(lesson.inputs) - len(lesson.targets)
    columns: list[dict[str, Any]] = []
    widest = max(n_in, *(len(layer.units) for layer in lesson.layers))
    shared = [layer.shared_bias and len(layer.units) > 1 for layer in lesson.layers]
    rows = widest + (1 if any(shared) else 0)
    n_columns = len(lesson.layers) + 2  # inputs, layers, the loss

    def x_of(c: int) -> float:
        return (c + 0.5) / n_columns

    def y_of(j: int, n: int) -> float:
        return (j + 0.5 + (widest - n) / 2) / rows

    inputs = [
        {"id": _unit_id(0, i), "symbol": v.label, "x": x_of(0), "y": y_of(i, n_in),
         "role": "input", "a": v.label}
        for i, v in enumerate(lesson.inputs[:n_in])
    ]  # fmt: skip
    columns.append({"title": "input", "units": inputs})
    edges = []
    biases = []
    for n, layer in enumerate(lesson.layers, start=1):
        last = n == len(lesson.layers)
        units = []
        for j, unit in enumerate(layer.units):
            linear = unit.a is unit.z
            units.append({
                "id": _unit_id(n, j),
                "symbol": symbol(unit.a.label, lesson.loss_symbol),
                "x": x_of(n),
                "y": y_of(j, len(layer.units)),
                "role": "output" if last else "hidden",
                "z": None if linear else unit.z.label,
                "a": unit.a.label,
                "delta": unit.delta,
                "bias": None if shared[n - 1] else unit.bias.label,
            })
            for i, w in enumerate(unit.weights):
                edges.append({"id": _edge_id(n, i, j), "from": _unit_id(n - 1, i),
                              "to": _unit_id(n, j), "w": w.label})  # fmt: skip
        if shared[n - 1]:
            biases.append({"id": f"b{n}", "symbol": layer.units[0].bias.label, "x": x_of(n),
                           "y": (rows - 0.5) / rows, "to": [u["id"] for u in units]})  # fmt: skip
        hidden = "hidden" if len(lesson.layers) == 2 else f"hidden {n}"
        title = ("output" if last else hidden) + f" · {symbol_of_activation(layer.activation)}"
        columns.append({"title": title, "units": units})
    loss = {"id": "loss", "symbol": lesson.loss_symbol, "x": x_of(n_columns - 1), "y": 0.5,
            "name": "loss", "targets": [t.label for t in lesson.targets]}  # fmt: skip
    for j in range(len(lesson.layers[-1].units)):
        edges.append({"id": f"l-{j}", "from": _unit_id(len(lesson.layers), j), "to": "loss",
                      "w": None})  # fmt: skip
    return {"columns": columns, "edges": edges, "biases": biases, "loss": loss,
            "rows": rows, "n_columns": n_columns}  # fmt: skip


def symbol_of_activation(name: str) -> str:
    """How a layer's activation is written in its heading: 'sigmoid σ', 'tanh', 'linear'."""
    return "sigmoid σ" if name == "sigmoid" else name.replace("_", " ")


def _all_units(network: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [u for column in network["columns"][1:] for u in column["units"]]


def _element_names(lesson: Lesson) -> dict[str, str]:
    """Each name a quantity or operand can have -> the picture element that shows it."""
    names: dict[str, str] = {}
    n_in = len(lesson.inputs) - len(lesson.targets)
    for i, v in enumerate(lesson.inputs[:n_in]):
        names[v.label] = _unit_id(0, i)
    for t in lesson.targets:
        names[t.label] = "loss"
    names["loss"] = "loss"
    for n, layer in enumerate(lesson.layers, start=1):
        shared = layer.shared_bias and len(layer.units) > 1
        for j, unit in enumerate(layer.units):
            uid = _unit_id(n, j)
            for name in (unit.z.label, unit.a.label, unit.delta, f"dL/d{unit.a.label}"):
                names[name] = uid
            if unit.slope:
                names[unit.slope] = uid
            bias_element = f"b{n}" if shared else uid
            names[unit.bias.label] = bias_element
            for i, w in enumerate(unit.weights):
                names[w.label] = _edge_id(n, i, j)
    for name, element in list(names.items()):
        names[f"dL/d{name}"] = names.get(f"dL/d{name}", element)
        names[f"{name} (updated)"] = element
    return names


def _element_of(name: str, names: Mapping[str, str]) -> str | None:
    if name in names:
        return names[name]
    return names.get(_AFTER.sub("", name))


def _steps(explanation: Explanation, names: Mapping[str, str]) -> list[dict[str, Any]]:
    out = []
    quiz = {q.name for q in explanation.quantities}
    for k, q in enumerate([*explanation.quantities, *explanation.training]):
        lit = _element_of(q.name, names)
        if q.section == SECTION_TRAINING:
            lit = "loss"
        reads = []
        for op in q.operands:
            element = _element_of(op.name, names)
            if element is not None and element != lit and element not in reads:
                reads.append(element)
        out.append(_step(k, q, explanation, lit, reads, q.name in quiz))
    return out


def _step(
    k: int, q: Quantity, explanation: Explanation, lit: str | None, reads: list[str], quiz: bool
) -> dict[str, Any]:
    mark = None
    if q.comparison is not None:
        mark = {"kind": q.comparison.kind, "printed": q.comparison.printed.replace("-", "−"),
                "mismatch": q.comparison.mismatch,
                "text": printed_mark(q.comparison, explanation.loss_symbol, q.formula)}  # fmt: skip
    # Quantity.line() written out, so the formula is filled in once (the big lessons have
    # hundreds of steps of many operands each; this is most of the API's time).
    formula, value_text = q.formula, _text(q.value)
    filled = "" if q.template == "{0}" else q.filled
    parts = [q.symbol]
    for part in (q.meaning, formula, filled, value_text):
        if part and part != parts[-1]:
            parts.append(part)
    return {
        "index": k,
        "name": q.name,
        "symbol": q.symbol,
        "section": q.section,
        "meaning": q.meaning,
        "formula": formula,
        "filled": filled,
        "value": q.value,
        "text": value_text,
        "line": " = ".join(parts),
        "operands": [{"name": op.name, "symbol": op.symbol} for op in q.operands],
        "lights": [lit] if lit else [],
        "reads": reads,
        "mark": mark,
        "quiz": quiz,
    }


def _first(steps: list[dict[str, Any]], name: str) -> int:
    for step in steps:
        if step["name"] == name:
            return step["index"]
    return -1


def _sections(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for step in steps:
        if not out or out[-1]["name"] != step["section"]:
            out.append({"name": step["section"], "first": step["index"], "count": 0})
        out[-1]["count"] += 1
    return out


def _values(
    explanation: Explanation, steps: list[dict[str, Any]],
    words: Callable[[str], str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Every named number: its symbol, its value and text, and the step that computes it."""
    loss_symbol = explanation.loss_symbol
    words = words or (lambda name: symbol(name, loss_symbol))
    out: dict[str, Any] = {}
    for name, value in explanation.given.items():
        out[name] = {"symbol": words(name), "value": value, "text": _text(value),
                     "step": -1}  # fmt: skip
    for step in steps:
        if step["name"] not in out:
            out[step["name"]] = {"symbol": step["symbol"], "value": step["value"],
                                 "text": step["text"], "step": step["index"]}  # fmt: skip
    return out


def _editable(explanation: Explanation, names: Mapping[str, str]) -> list[dict[str, Any]]:
    """The given numbers, in the sheet's groups (inputs, targets, per layer weights, biases)."""
    out = []
    roles = ["input", "target"]
    for g, group in enumerate(explanation.given_groups):
        role = roles[g] if g < 2 else ("weight" if g % 2 == 0 else "bias")
        for name in group:
            value = explanation.given[name]
            out.append({"symbol": name, "label": symbol(name, explanation.loss_symbol),
                        "value": value, "text": _text(value), "role": role,
                        "element": names.get(name), "group": g})  # fmt: skip
    lr = explanation.given.get("lr")
    if lr is not None:
        out.append({"symbol": "η", "label": "η", "value": lr, "text": _text(lr),
                    "role": "learning rate", "element": None,
                    "group": len(explanation.given_groups)})  # fmt: skip
    return out


# ---------------------------------------------------------------------------------------------
# Small computation graphs (a unit's, or a whole formula's), laid out as a tree
# ---------------------------------------------------------------------------------------------


def _unit_graph(lesson: Lesson, uid: str) -> dict[str, Any]:
    """The computation graph of one unit: from its inputs, weights and bias to its output."""
    n, j = (int(p) for p in uid[1:].split("-"))
    unit = lesson.layers[n - 1].units[j]
    stop = {id(v) for v in unit.inputs}
    return _tree(unit.a, stop, lambda label: symbol(label, lesson.loss_symbol))


def _tree(
    root: Value,
    stop: set[int],
    words: Any = str,
    parents: Callable[[Value], Sequence[Value]] | None = None,
    op_of: Callable[[Value], str] | None = None,
) -> dict[str, Any]:
    """Nodes (label | data | grad) in columns by their distance from ``root``; leaves left.

    Walks only the nodes between ``root`` and the ``stop`` nodes (which become leaves).
    ``parents`` gives the nodes each node is drawn from (default: the engine's parents; a
    program draws its named steps from the names they read), ``op_of`` the sign in the circle
    before a node (default: its op).
    """
    parents = parents or (lambda v: v.parents)
    op_of = op_of or (lambda v: _op_symbol(v.op))
    order: list[Value] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        order.append(v)
        if id(v) not in stop:
            stack.extend(reversed(parents(v)))
    depth = {id(root): 0}
    for v in _top_down(order, stop, parents):
        for p in parents(v) if id(v) not in stop else ():
            depth[id(p)] = max(depth.get(id(p), 0), depth[id(v)] + 1)
    deepest = max(depth.values())
    by_column: dict[int, list[Value]] = {}
    for v in order:
        by_column.setdefault(deepest - depth[id(v)], []).append(v)
    tallest = max(len(c) for c in by_column.values())
    ids = {id(v): f"n{k}" for k, v in enumerate(order)}
    nodes = []
    for column, members in by_column.items():
        for row, v in enumerate(members):
            nodes.append({
                "id": ids[id(v)],
                "name": v.label or None,
                "label": words(v.label) if v.label else format_number(v.data),
                "op": op_of(v) if id(v) not in stop else "",
                "data": _text(v.data),
                "grad": _text(v.grad),
                "x": (column + 0.5) / (deepest + 1),
                "y": (row + 0.5 + (tallest - len(members)) / 2) / tallest,
            })
    edges = [{"from": ids[id(p)], "to": ids[id(v)]}
             for v in order if id(v) not in stop for p in parents(v)]  # fmt: skip
    return {"nodes": nodes, "edges": edges, "columns": deepest + 1, "rows": tallest}


def _top_down(
    nodes: list[Value], stop: set[int], parents: Callable[[Value], Sequence[Value]]
) -> list[Value]:
    """``nodes`` (a subgraph) ordered so that each comes after every node of it that uses it."""
    inside = {id(v) for v in nodes}
    done: set[int] = set()
    post: list[Value] = []
    for start in nodes:
        if id(start) in done:
            continue
        stack = [(start, False)]
        while stack:  # iterative depth-first search: parents first, then the node
            v, expanded = stack.pop()
            if expanded:
                post.append(v)
                continue
            if id(v) in done:
                continue
            done.add(id(v))
            stack.append((v, True))
            if id(v) not in stop:
                stack.extend((p, False) for p in parents(v) if id(p) in inside)
    return post[::-1]


_OPS = {"*": "×", "+": "+", "-": "−", "/": "÷", "neg": "−"}


def _op_symbol(op: str) -> str:
    return _OPS.get(op, op.replace("**", "^"))


# ---------------------------------------------------------------------------------------------
# A formula (`stepgrad trace`'s expressions)
# ---------------------------------------------------------------------------------------------


def _expression_response(
    lesson: Mapping[str, Any], edits: dict[str, float], code: bool = False
) -> dict[str, Any]:
    from nn.expression import parse_expression
    from viz.value_sheet import SECTION_INPUTS, explain_value

    unknown = [k for k in lesson if k not in ("expr", "bindings")]
    if unknown:
        raise RequestError(f"lesson: unknown field {_short(unknown[0])!r} beside expr")
    text = lesson.get("expr")
    if not isinstance(text, str) or not text.strip():
        raise RequestError('lesson.expr: expected a formula, e.g. "tanh(x1*w1 + b)"')
    bindings = lesson.get("bindings", {})
    if not isinstance(bindings, Mapping):
        raise RequestError(f"lesson.bindings: expected an object of name -> number, got "
                           f"{_kind(bindings)}")  # fmt: skip
    if len(bindings) > MAX_EDITS:
        raise RequestError(f"lesson.bindings: more than {MAX_EDITS} names")
    if looks_like_program(text):
        return _program_expression_response(text, bindings, edits, code)
    expression = parse_expression(text)
    values = _given(bindings, edits, expression.names, "a name of the formula", "it uses")
    output = expression.build(values)
    explanation = explain_value(output, title=str(output.label or text))
    tree = _tree(output, set())
    ids = {n["label"]: n["id"] for n in tree["nodes"]}
    out_name = explanation.loss_symbol
    by_name = dict(ids)
    root_id = tree["nodes"][0]["id"] if tree["nodes"] else None
    for node in tree["nodes"]:
        if node["label"] == output.label:
            root_id = node["id"]
    if root_id is not None:
        by_name[out_name] = root_id

    def element(name: str) -> str | None:
        name = name.removeprefix("d/d ")
        if name in by_name:
            return by_name[name]
        if name.startswith("(") and name.endswith(")"):
            return by_name.get(name[1:-1])
        return None

    steps = []
    for k, q in enumerate(explanation.quantities):
        lit = element(q.name)
        reads = []
        for op in q.operands:
            e = element(op.name)
            if e is not None and e != lit and e not in reads:
                reads.append(e)
        steps.append(_step(k, q, explanation, lit, reads, True))
    values_out = _values(explanation, steps)
    editable = [{"symbol": name, "label": name, "value": explanation.given[name],
                 "text": _text(explanation.given[name]), "role": "input",
                 "element": by_name.get(name), "group": 0}
                for name in expression.names]  # fmt: skip
    gradients = {q.name.removeprefix("d/d "): q.name for q in explanation.quantities
                 if q.section == SECTION_INPUTS}  # fmt: skip
    for node in tree["nodes"]:  # the page shows data/grad once their step is reached
        label = node["label"]
        node["value_name"] = label if label in values_out else None
        grad_name = f"d/d {out_name if node['id'] == root_id else label}"
        node["grad_name"] = grad_name if grad_name in values_out else gradients.get(label)
    request_lesson = {"expr": text, "bindings": {k: _text(v) for k, v in values.items()}}
    return _with_code({
        **_formula_head("expression", request_lesson, edits, str(output.label or text),
                        "your formula", out_name),  # fmt: skip
        "editable": editable,
        "steps": steps,
        "sections": _sections(steps),
        "values": values_out,
        "graph": tree,
    }, code, lambda: _code().trace_code(explanation, output, _command(request_lesson)))


# ---------------------------------------------------------------------------------------------
# A program of named steps (``q = x + y; f = q * z``), alone or as a lesson (rnn, conv1d, ...)
# ---------------------------------------------------------------------------------------------


def _formula_head(
    kind: str, request_lesson: dict[str, Any], edits: Mapping[str, float], title: str,
    source: str, loss_symbol: str,
) -> dict[str, Any]:  # fmt: skip
    """What a formula's or a program's response shares: no network, no training, no notes."""
    return {
        "ok": True,
        "version": API_VERSION,
        "kind": kind,
        "request": {"lesson": request_lesson, "edits": {k: _text(v) for k, v in edits.items()}},
        "title": title,
        "source": source,
        "notes": [],
        "loss_symbol": loss_symbol,
        "error_sign": 1,
        "tolerance": DEFAULT_TOLERANCE,
        "network": None,
        "graphs": {},
        "curve": [],
    }


def _given(
    bindings: Mapping[str, Any], edits: Mapping[str, float], names: Sequence[str], what: str,
    listing: str,
) -> dict[str, float]:  # fmt: skip
    """A formula's or program's numbers: the bindings, then the edits (of known names only)."""
    values = {str(k): _number(v, f"lesson.bindings[{str(k)!r}]") for k, v in bindings.items()}
    for key, value in edits.items():
        if key not in names:
            raise RequestError(f"edits: {_short(key)!r} is not {what} "
                               f"({listing} {', '.join(names)})")  # fmt: skip
        values[key] = value
    return values


def _program_expression_response(
    text: str, bindings: Mapping[str, Any], edits: dict[str, float], code: bool = False
) -> dict[str, Any]:
    from viz.value_sheet import explain_program

    program = parse_program(text)
    values = _given(bindings, edits, program.inputs, "an input of the program", "its inputs are")
    run = program.build(values)
    explanation = explain_program(run)
    graph, steps, values_out = _program_picture(run, explanation, str)
    editable = [{"symbol": name, "label": name, "value": explanation.given[name],
                 "text": _text(explanation.given[name]), "role": "input",
                 "element": _node_of(graph, name), "group": 0}
                for name in program.inputs]  # fmt: skip
    request_lesson = {"expr": text, "bindings": {k: _text(v) for k, v in values.items()}}
    return _with_code({
        **_formula_head("program", request_lesson, edits, str(program), "your program",
                        explanation.loss_symbol),  # fmt: skip
        "editable": editable,
        "steps": steps,
        "sections": _sections(steps),
        "values": values_out,
        "graph": graph,
    }, code, lambda: _code().trace_code(explanation, run.output, _command(request_lesson), run=run))


def _program_lesson_response(
    spec: LessonSpec, edits: dict[str, float], steps: int | None, source: dict[str, Any],
    code: bool = False,
) -> dict[str, Any]:  # fmt: skip
    program_spec = spec.program
    assert program_spec is not None
    given = dict(program_spec.given)
    lr = spec.lr
    for key, value in edits.items():
        if key == "η":
            if value <= 0.0:
                raise RequestError(f"lr: the learning rate must be positive, got {value:g}")
            lr = value
        elif key in given:
            given[key] = value
        else:
            raise RequestError(f"edits: {_short(key)!r} is not a number this lesson gives "
                               f"(it gives {', '.join(given)})")  # fmt: skip
    program_spec = dataclasses.replace(program_spec, given=tuple(given.items()))
    spec = dataclasses.replace(spec, program=program_spec)
    if steps is None:
        steps = DEFAULT_STEPS
    lesson = build_lesson(spec, lr=lr)
    explanation = explain_lesson(lesson, steps=steps, compare_printed=None if not edits else False)
    lesson = explanation.example
    assert lesson.program is not None
    symbols = dict(program_spec.symbols)

    def words(name: str) -> str:
        return "η" if name == "lr" else symbols.get(name, name)

    graph, steps_out, values = _program_picture(lesson.program, explanation, words)
    out = lesson.program.program.output
    return _with_code({
        **_lesson_head("program", source, edits, steps, explanation, 1),
        "curve": _curve(explanation, steps_out, out),
        "editable": _program_editable(explanation, program_spec, graph, words),
        "steps": steps_out,
        "sections": _sections(steps_out),
        "values": values,
        "network": None,
        "graph": graph,
        "graphs": {},
    }, code, lambda: _code().lesson_code(explanation, _command(source)))


def _program_editable(
    explanation: Explanation, program_spec: ProgramSpec, graph: Mapping[str, Any],
    words: Callable[[str], str],
) -> list[dict[str, Any]]:  # fmt: skip
    """The given numbers as the sheet groups them (inputs, then parameters), then η."""
    trained = set(program_spec.parameters)
    out = []
    for g, group in enumerate(explanation.given_groups):
        for name in group:
            value = explanation.given[name]
            out.append({"symbol": name, "label": words(name), "value": value,
                        "text": _text(value), "role": "parameter" if name in trained else "input",
                        "element": _node_of(graph, name), "group": g})  # fmt: skip
    lr = explanation.given["lr"]
    out.append({"symbol": "η", "label": "η", "value": lr, "text": _text(lr),
                "role": "learning rate", "element": None,
                "group": len(explanation.given_groups)})  # fmt: skip
    return out


def _node_of(graph: Mapping[str, Any], name: str) -> str | None:
    for node in graph["nodes"]:
        if node["name"] == name:
            return node["id"]
    return None


def _program_graph(run: ProgramRun, words: Callable[[str], str]) -> dict[str, Any]:
    """The computation graph of the named steps: a box per input and step, an edge from each
    name a step reads, laid out by :func:`_tree` as a formula's graph is."""
    statements = {s.name: s for s in run.program.statements}
    name_of = {id(v): name for name, v in run.nodes.items()}

    def parents(v: Value) -> list[Value]:
        s = statements.get(name_of.get(id(v), ""))
        return [run.nodes[name] for name in s.uses] if s is not None else []

    def op_of(v: Value) -> str:
        # The op's sign when the step is one operation on named numbers (q = x + y: "+");
        # a longer formula (h1 = tanh(wx*x1 + ...)) has no one sign: its step card shows it.
        s = statements.get(name_of.get(id(v), ""))
        if s is None or s.is_constant:
            return ""
        reads = {id(run.nodes[name]) for name in s.uses}
        direct = v.parents and all(id(p) in reads for p in v.parents)
        return _op_symbol(v.op) if direct else ""

    return _tree(run.output, set(), words, parents, op_of)


def _program_picture(
    run: ProgramRun, explanation: Explanation, words: Callable[[str], str]
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """The graph of the named steps, the sheet's steps (each lighting the node it computes or
    whose gradient it gives, and the nodes it reads) and every named value."""
    program = run.program
    out = program.output
    graph = _program_graph(run, words)
    ids = {node["name"]: node["id"] for node in graph["nodes"] if node["name"]}
    users = {name: [s.name for s in program.statements if name in s.uses]
             for name in program.names}  # fmt: skip

    def derivative(name: str) -> tuple[str, str] | None:
        """("q", "x") for "dq/dx" when both are names of the program."""
        if not name.startswith("d") or "/d" not in name:
            return None
        top, _, below = name[1:].partition("/d")
        return (top, below) if top in ids and below in ids else None

    def element(name: str) -> str | None:
        if name in ids:
            return ids[name]
        local = name.endswith(" (local)")
        pair = derivative(name.removesuffix(" (local)"))
        if pair is None:
            return None
        top, below = pair
        # ∂f/∂q is shown at q (its grad); a local derivative ∂q/∂x belongs to the step q
        return ids[below] if top == out and not local else ids[top]

    steps = []
    quiz = {q.name for q in explanation.quantities}
    backward_from = None
    for k, q in enumerate([*explanation.quantities, *explanation.training]):
        reads: list[str] = []
        if q.section == SECTION_TRAINING:
            lit = ids[out]
        elif q.name in ids:
            lit = ids[q.name]  # a step of the forward pass
        elif q.name.endswith(" (updated)"):
            lit = ids.get(q.name.removesuffix(" (updated)"))
        else:
            pair = derivative(q.name)
            lit = element(q.name)
            if pair is not None:
                backward_from = k if backward_from is None else backward_from
                top, below = pair
                # a gradient reads the steps that use the name; a local derivative its input
                reads = [ids[u] for u in users[below]] if top == out else [ids[below]]
        for op in q.operands:
            e = element(op.name)
            if e is not None and e not in reads:
                reads.append(e)
        reads = [e for e in reads if e != lit]
        steps.append(_step(k, q, explanation, lit, reads, q.name in quiz))
    values = _values(explanation, steps, words)
    # The output's own gradient is 1 (where backward starts); the sheet has no line for it.
    d_out = f"d{out}/d{out}"
    if backward_from is not None:
        values[d_out] = {"symbol": f"∂{words(out)}/∂{words(out)}", "value": run.output.grad,
                         "text": _text(run.output.grad), "step": backward_from}  # fmt: skip
    for node in graph["nodes"]:  # the page shows data/grad once their step is reached
        name = node["name"]
        node["value_name"] = name if name in values else None
        grad_name = f"d{out}/d{name}"
        node["grad_name"] = grad_name if grad_name in values else None
    return graph, steps, values


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------

PAGE_FILES = ("lab.html", "lab.js", "lab.css")


def _asset(name: str) -> str:
    from importlib import resources

    return resources.files("viz").joinpath(name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    import base64
    import hashlib

    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


def page_html(
    response: Mapping[str, Any] | None = None,
    *,
    offline: bool = False,
    inline: bool = False,
    csp: str | None = None,
) -> str:
    """The lab page as HTML text, with ``response`` (from :func:`handle`) embedded when given.

    ``inline``: script and style inside the page (one file that needs nothing else; their
    hashes go into the content security policy). ``offline``: the page has no Python behind it
    and does not offer editing. ``csp`` replaces the default policy (only the page's own
    origin). Without a response the page asks ``window.stepgradTransport`` (or ``/api``) for
    ``window.stepgradRequest`` (default: the 2-2-1 lesson) when it loads.
    """
    html = _asset("lab.html")
    data = {"response": dict(response) if response is not None else None, "offline": offline}
    # JSON inside a script element: '<' escaped, so no '</script>' in a label can end it early
    blob = json.dumps(data, ensure_ascii=False, allow_nan=False).replace("<", "\\u003c")
    html = html.replace("__DATA__", blob)
    if inline:
        script, style = _asset("lab.js"), _asset("lab.css")
        html = html.replace('<link rel="stylesheet" href="lab.css">', f"<style>{style}</style>")
        html = html.replace('<script src="lab.js"></script>', f"<script>{script}</script>")
        scripts, styles = f"'self' {_sha256(script)}", f"'self' {_sha256(style)}"
    else:
        scripts = styles = "'self'"
    policy = csp or (
        f"default-src 'self'; script-src {scripts}; style-src {styles}; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; object-src 'none'"
    )
    return html.replace("__CSP__", policy.replace('"', "&quot;"))


class LabPage:
    """The offline lab page of one request; Jupyter shows it inline (``_repr_html_``)."""

    def __init__(self, response: Mapping[str, Any]) -> None:
        self.response = dict(response)

    def html(self) -> str:
        """The page as one offline HTML file (script, style and numbers inside)."""
        return page_html(self.response, offline=True, inline=True)

    def _repr_html_(self) -> str:
        import html as html_module

        # An iframe keeps the page's own policy, script and styles apart from the notebook's.
        return (
            '<iframe title="stepgrad lab" style="width:100%;height:760px;border:1px solid #ddd" '
            f'srcdoc="{html_module.escape(self.html(), quote=True)}"></iframe>'
        )

    def write(self, path: object) -> str:
        """Write the offline page to ``path`` (whole, or not at all); returns the path."""
        import os
        import tempfile

        target = os.fspath(path)  # type: ignore[arg-type]
        data = self.html().encode("utf-8")
        folder = os.path.dirname(os.path.abspath(target))
        fd, temp = tempfile.mkstemp(prefix=".lab-", suffix=".html", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(temp, 0o644)  # mkstemp makes it private; a page is for sharing
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        return target


def lab_page(request: Mapping[str, Any]) -> LabPage:
    """The offline page of a request; a bad request raises ValueError with the one-line error."""
    response = handle(request)
    if not response["ok"]:
        raise ValueError(response["error"])
    return LabPage(response)


def lesson_request(spec_or_name: object, **extra: Any) -> dict[str, Any]:
    """A request for a built-in lesson name or a lesson file path (read here, size-bounded)."""
    import os

    from nn.files import MAX_BYTES

    if isinstance(spec_or_name, str) and not spec_or_name.lower().endswith((".toml", ".json")):
        return {"lesson": {"builtin": spec_or_name}, **extra}
    path = os.fspath(spec_or_name)  # type: ignore[arg-type]
    with open(path, "rb") as f:
        raw = f.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise ValueError(f"{path}: over the limit of {MAX_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file (UTF-8)") from None
    return {"lesson": {"file": {"name": os.path.basename(path), "text": text}}, **extra}


def lesson_page(lesson: Lesson, steps: int | None = None) -> LabPage:
    """The offline page of a built lesson (its spec, with its current parameters and lr)."""
    spec = lesson.spec
    if spec is None:
        raise ValueError(f"lesson {lesson.name!r} was not built from a spec")
    defaults = build_lesson(spec).parameter_values()
    edits = {k: v for k, v in lesson.parameter_values().items() if defaults.get(k) != v}
    if lesson.lr != spec.lr:
        edits["η"] = lesson.lr
    return LabPage(_lesson_response(spec, edits, steps, {"spec": spec.name}))
