"""A lesson written as data: check a network spec (a dict read from TOML or JSON) field by field.

A spec describes one fully connected network and one training example: the inputs, the targets,
per layer the weights (with an explicit orientation), the biases (per unit, or one number shared
by the layer, trained or frozen), the activation, the loss and the learning rate, and optionally
the symbols a book uses for every quantity (``w5``, ``net_h1``, ``out_o1``, ``E_total``) and the
numbers it printed. :func:`parse_spec` turns such a dict into a :class:`LessonSpec` or raises
:class:`SpecError` naming the field (``layers[1].weights[0][2]``) and what is wrong with it.
``nn.lesson`` builds the graph from a LessonSpec; ``nn.printed`` checks the printed numbers.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nn.activations import ACTIVATION_NAMES
from nn.files import FileFormatError, parse_text, read_data

LOSS_NAMES = ("squared_error", "half_squared_error", "binary_cross_entropy", "cross_entropy")
UNIT_INPUT = "[unit][input]"
INPUT_UNIT = "[input][unit]"
ORIENTATIONS = (UNIT_INPUT, INPUT_UNIT)
WEIGHT_INPUT = "weight*input"
INPUT_WEIGHT = "input*weight"

# Bounds on what a lesson may ask for: a lesson is worked by hand, and the file is untrusted.
MAX_LAYERS = 8
MAX_UNITS = 32  # per layer, inputs included
MAX_PRINTED = 500
MAX_TEXT = 400  # characters in a title, note, symbol or printed text
MAX_NOTES = 20
MAX_SYMBOL = 40
# Training is bounded by its work, not by a count of steps: steps x parameters (each step
# updates every parameter once, and builds and walks a graph of about twice as many nodes).
# A network of fewer than MIN_STEP_WORK parameters counts as that many: each step also prints
# a line. 200,000 allows 16,666 steps of a 2-2-2 network (12 parameters) and 23 of the largest
# lesson (8 layers of 32 units, 8,448 parameters): a few seconds each; see docs/limits.md.
MAX_WORK = 200_000
MIN_STEP_WORK = 10


def training_work(steps: int, parameters: int) -> int:
    """The work of ``steps`` training steps of a network of ``parameters`` parameters."""
    return steps * max(parameters, MIN_STEP_WORK)


def most_steps(parameters: int) -> int:
    """The most training steps within :data:`MAX_WORK` for a network of ``parameters``."""
    return MAX_WORK // max(parameters, MIN_STEP_WORK)


def work_problem(what: str, steps: int, parameters: int) -> str | None:
    """Why ``steps`` training steps are too much for this network, or None if they are not."""
    if training_work(steps, parameters) <= MAX_WORK:
        return None
    return (
        f"{what} {steps:,} with {parameters:,} parameters is {training_work(steps, parameters):,} "
        f"units of training work (steps x parameters, at least {MIN_STEP_WORK} a step), over "
        f"the limit of {MAX_WORK:,} (MAX_WORK): at most {most_steps(parameters):,} steps for "
        "this network"
    )

_TOP_KEYS = {
    "name", "title", "source", "notes", "learning_rate", "inputs", "targets", "layers", "loss",
    "error_term", "printed", "shortcut_owner", "learning_rate_symbol",
}  # fmt: skip
_LAYER_KEYS = {
    "activation", "weights", "orientation", "biases", "train_biases", "symbols", "products",
    "leaky_slope",
}  # fmt: skip
_LAYER_SYMBOL_KEYS = {"weights", "biases", "z", "a", "delta"}
_LOSS_KEYS = {"kind", "reduction", "difference", "symbol", "show_output_slope", "terms"}
_PRINTED_KEYS = {"name", "value", "text", "after"}
_SYMBOL = re.compile(r"[^\s=,]{1,40}")  # used with fullmatch: "$" would accept "i1\n"
_PRINTED_NUMBER = re.compile(r"^[−-]?\d+(\.\d+)?$")


class SpecError(FileFormatError):
    """A lesson spec is wrong: says where (``layers[1].weights[0][2]``) and what is wrong.

    The same kind of error (a :class:`nn.files.FileFormatError`) as any other file users bring.
    """

    def __init__(self, where: str, problem: str, source: str = "") -> None:
        super().__init__(source, where, problem)


# ---------------------------------------------------------------------------------------------
# The checked spec
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerSpec:
    """One layer, weights normalised to ``weights[unit][input]`` whatever the file's orientation.

    ``weight_symbols`` has the same ``[unit][input]`` shape. ``bias_symbols`` has one entry per
    unit; with a shared bias all entries are the same symbol and ``biases`` holds one number.
    """

    activation: str
    weights: tuple[tuple[float, ...], ...]
    orientation: str
    biases: tuple[float, ...]
    shared_bias: bool
    train_biases: bool
    products: str
    leaky_slope: float
    weight_symbols: tuple[tuple[str, ...], ...]
    bias_symbols: tuple[str, ...]
    z_symbols: tuple[str, ...]
    a_symbols: tuple[str, ...]
    delta_symbols: tuple[str, ...]

    @property
    def units(self) -> int:
        return len(self.weights)

    @property
    def fan_in(self) -> int:
        return len(self.weights[0])

    def weight_order(self) -> list[tuple[int, int]]:
        """(unit, input) pairs in the order the file writes the weights (its orientation)."""
        if self.orientation == UNIT_INPUT:
            return [(j, i) for j in range(self.units) for i in range(self.fan_in)]
        return [(j, i) for i in range(self.fan_in) for j in range(self.units)]


@dataclass(frozen=True)
class LossSpec:
    """The loss: its kind, sum or mean over the outputs, how the difference is written, symbol."""

    kind: str
    reduction: str = "sum"
    difference: str = "t - y"  # or "y - t": how the book writes the squared difference
    symbol: str = "L"
    show_output_slope: bool = False  # list dL/d(output) as its own step before the delta
    terms: tuple[str, ...] = ()  # symbols of the per-output terms (E_o1, E_o2), when named


@dataclass(frozen=True)
class PrintedEntry:
    """One number a source printed: the quantity's name, the text printed, what it wrote."""

    name: str
    printed: str
    text: str = ""
    after: int = 0  # after this many training steps (0: the first forward/backward pass)


@dataclass(frozen=True)
class ProgramSpec:
    """A lesson written as a program of named steps (the ``program`` key of a lesson file).

    ``given`` holds a number for every input the program reads, in the file's order;
    ``parameters`` are the given names that training updates; ``symbols`` maps names to the
    symbols the sheet shows (``y_hat`` -> ``ŷ``).
    """

    text: str
    given: tuple[tuple[str, float], ...]
    parameters: tuple[str, ...]
    symbols: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class LessonSpec:
    """A whole lesson as checked data (see the module docstring)."""

    name: str
    title: str
    source: str
    notes: tuple[str, ...]
    lr: float
    inputs: tuple[float, ...]
    input_symbols: tuple[str, ...]
    targets: tuple[float, ...]
    target_symbols: tuple[str, ...]
    layers: tuple[LayerSpec, ...]
    loss: LossSpec
    error_sign: int  # +1: delta = dL/dz; -1: the book's error term Err = -dL/dz
    printed: tuple[PrintedEntry, ...]
    shortcut_owner: str = "textbook's"
    lr_symbol: str = "η"  # how the book writes the learning rate (some write l or α)
    program: ProgramSpec | None = None  # a lesson written as named steps (then layers == ())

    def parameter_names(self) -> list[str]:
        """The trainable parameters' symbols, layer by layer, weights in file order, then biases."""
        if self.program is not None:
            return list(self.program.parameters)
        names: list[str] = []
        for layer in self.layers:
            names += [layer.weight_symbols[j][i] for j, i in layer.weight_order()]
            if layer.train_biases:
                for s in layer.bias_symbols:
                    if s not in names:
                        names.append(s)
        return names


# ---------------------------------------------------------------------------------------------
# Checking, field by field
# ---------------------------------------------------------------------------------------------


class _Check:
    """Field checks that name the field path and the file in every error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> SpecError:
        return SpecError(where, problem, self.source)

    def table(self, value: object, where: str, keys: set[str]) -> Mapping[str, object]:
        if not isinstance(value, Mapping):
            raise self.fail(where, f"must be a table of fields, got {_kind(value)}")
        unknown = sorted(str(k) for k in value if k not in keys)
        if unknown:
            raise self.fail(
                _join(where, unknown[0]),
                f"unknown field; known fields here: {', '.join(sorted(keys))}",
            )
        return value

    def number(self, value: object, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(where, f"must be a number, got {_kind(value)}")
        if isinstance(value, int) and abs(value) > 10**15:
            raise self.fail(where, "is too large (more than 15 digits)")
        number = float(value)
        if not math.isfinite(number):
            raise self.fail(where, f"must be a finite number, got {value!r}")
        return number

    def numbers(self, value: object, where: str, length: int | None = None) -> tuple[float, ...]:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise self.fail(where, f"must be a list of numbers, got {_kind(value)}")
        if not value:
            raise self.fail(where, "must not be empty")
        if len(value) > MAX_UNITS:
            raise self.fail(where, f"has {len(value)} entries; at most {MAX_UNITS} are allowed")
        if length is not None and len(value) != length:
            raise self.fail(where, f"has {len(value)} entries, expected {length}")
        return tuple(self.number(v, f"{where}[{k}]") for k, v in enumerate(value))

    def text(self, value: object, where: str, limit: int = MAX_TEXT, shown: bool = True) -> str:
        """Text from the file, with control and bidi characters made visible (``\\x1b``).

        ``shown=False`` is for text that is parsed, not shown as it is (a program: its own
        parser refuses every control character but the newlines between its steps).
        """
        if not isinstance(value, str):
            raise self.fail(where, f"must be text, got {_kind(value)}")
        if len(value) > limit:
            raise self.fail(where, f"is longer than {limit} characters")
        return visible_text(value) if shown else value

    def symbol(self, value: object, where: str) -> str:
        if not isinstance(value, str):
            raise self.fail(where, f"must be text, got {_kind(value)}")
        if len(value) > MAX_SYMBOL:
            raise self.fail(where, f"is longer than {MAX_SYMBOL} characters")
        hidden = next((ch for ch in value if _is_hidden(ch)), None)
        if hidden is not None:
            raise self.fail(
                where,
                f"{value!r} is not a usable symbol: it holds the control or formatting "
                f"character U+{ord(hidden):04X}",
            )
        if not _SYMBOL.fullmatch(value):
            raise self.fail(where, f"{value!r} is not a usable symbol (no spaces, '=' or ',')")
        return value

    def choice(self, value: object, where: str, choices: Sequence[str]) -> str:
        if not isinstance(value, str) or value not in choices:
            raise self.fail(
                where, f"unknown value {value!r}; choose one of: {', '.join(choices)}"
            )
        return value

    def flag(self, value: object, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(where, f"must be true or false, got {_kind(value)}")
        return value


# Characters a file must not send to a terminal: C0/C1 controls (ESC starts the sequences that
# set the window title, clear the screen or write the clipboard), bidi overrides and isolates
# (they reorder what is shown), lone surrogates (no encoding can write them) and the other
# invisible or unassigned code points. ZWNJ/ZWJ stay: some scripts and emoji need them.
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_JOINERS = {"\u200c", "\u200d"}


def _is_hidden(ch: str) -> bool:
    return unicodedata.category(ch) in _HIDDEN_CATEGORIES and ch not in _JOINERS


def visible_text(text: str) -> str:
    """``text`` with every control, bidi or other invisible character written as an escape.

    ``"a\x1b]0;x\x07"`` becomes ``"a\\x1b]0;x\\x07"``, ``"\u202e"`` becomes ``"\\u202e"``: what
    a title or note from a file says is shown, never acted on by the terminal.
    """
    if text.isprintable():  # the common case: nothing to do (isprintable is False for all
        return text  # of the hidden categories, and also for spaces other than " ")
    out = []
    for ch in text:
        if _is_hidden(ch):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, Sequence):
        return "a list"
    return type(value).__name__


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _index(k: int, n: int) -> str:
    """A symbol's index part: none for a dimension of size 1 (``W2[0]``, not ``W2[0][0]``)."""
    return "" if n == 1 else f"[{k}]"


ORIENTATION_HELP = (
    'add orientation = "[unit][input]" (one row per unit: weights[j][i] connects input i to '
    'unit j, as PyTorch and z = W a + b write it) or orientation = "[input][unit]" (one row '
    "per input: weights[i][j] connects input i to unit j, as sums like x1*w1 + x2*w3 are "
    "often tabled)"
)


def _layer(
    c: _Check, raw: object, where: str, index: int, fan_in: int, is_last: bool
) -> LayerSpec:
    t = c.table(raw, where, _LAYER_KEYS)
    for key in ("activation", "weights"):
        if key not in t:
            raise c.fail(_join(where, key), "missing")
    activation = c.choice(t["activation"], _join(where, "activation"), ACTIVATION_NAMES)
    if activation == "softmax" and not is_last:
        raise c.fail(_join(where, "activation"), "softmax works across an output layer only")
    if "orientation" not in t:
        raise c.fail(_join(where, "orientation"), f"missing: {ORIENTATION_HELP}")
    orientation = c.choice(t["orientation"], _join(where, "orientation"), ORIENTATIONS)
    w_where = _join(where, "weights")
    rows = t["weights"]
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence) or not rows:
        raise c.fail(w_where, f"must be a non-empty list of lists of numbers, got {_kind(rows)}")
    if len(rows) > MAX_UNITS:
        raise c.fail(w_where, f"has {len(rows)} rows; at most {MAX_UNITS} are allowed")
    table = [c.numbers(row, f"{w_where}[{r}]") for r, row in enumerate(rows)]
    width = len(table[0])
    for r, row in enumerate(table):
        if len(row) != width:
            raise c.fail(f"{w_where}[{r}]", f"has {len(row)} numbers, but row 0 has {width}")
    if orientation == UNIT_INPUT:
        units, n_in = len(table), width
        weights = tuple(tuple(row) for row in table)
    else:
        n_in, units = len(table), width
        weights = tuple(tuple(table[i][j] for i in range(n_in)) for j in range(units))
    if n_in != fan_in:
        what = "inputs" if index == 0 else f"units in layer {index - 1}"
        raise c.fail(
            w_where,
            f"has {n_in} {'rows' if orientation == INPUT_UNIT else 'columns'} "
            f"(one per input of the layer, orientation {orientation}), but there are {fan_in} "
            f"{what}",
        )

    b_where = _join(where, "biases")
    raw_biases = t.get("biases", 0.0)
    shared = not isinstance(raw_biases, Sequence) or isinstance(raw_biases, str)
    if shared:
        biases = (c.number(raw_biases, b_where),)
    else:
        biases = c.numbers(raw_biases, b_where, length=units)
    train = c.flag(t.get("train_biases", True), _join(where, "train_biases"))
    products = c.choice(
        t.get("products", WEIGHT_INPUT), _join(where, "products"), (WEIGHT_INPUT, INPUT_WEIGHT)
    )
    slope = 0.01
    if "leaky_slope" in t:
        slope = c.number(t["leaky_slope"], _join(where, "leaky_slope"))

    layer_no = index + 1
    s_where = _join(where, "symbols")
    symbols = c.table(t.get("symbols", {}), s_where, _LAYER_SYMBOL_KEYS)
    out_stem = "y_hat" if is_last else f"a{layer_no}"

    def per_unit(key: str, stem: str) -> tuple[str, ...]:
        value = symbols.get(key, stem)
        where_key = _join(s_where, key)
        if isinstance(value, str):
            return tuple(f"{c.symbol(value, where_key)}{_index(j, units)}" for j in range(units))
        if isinstance(value, Sequence) and len(value) == units:
            return tuple(c.symbol(v, f"{where_key}[{j}]") for j, v in enumerate(value))
        raise c.fail(where_key, f"must be a symbol stem or a list of {units} symbols")

    w_value = symbols.get("weights", f"W{layer_no}")
    ws_where = _join(s_where, "weights")
    if isinstance(w_value, str):
        stem = c.symbol(w_value, ws_where)
        rows_n, cols_n = (units, n_in) if orientation == UNIT_INPUT else (n_in, units)
        named = [
            [f"{stem}{_index(r, rows_n)}{_index(k, cols_n)}" for k in range(cols_n)]
            for r in range(rows_n)
        ]
        if rows_n == 1 and cols_n == 1:
            named = [[stem]]
    else:
        rows_n, cols_n = (units, n_in) if orientation == UNIT_INPUT else (n_in, units)
        ok = isinstance(w_value, Sequence) and len(w_value) == rows_n
        ok = ok and all(isinstance(r, Sequence) and len(r) == cols_n for r in w_value)
        if not ok:
            raise c.fail(ws_where, f"must be a stem or a {rows_n}x{cols_n} table of symbols")
        named = [
            [c.symbol(s, f"{ws_where}[{r}][{k}]") for k, s in enumerate(row)]
            for r, row in enumerate(w_value)
        ]
    if orientation == UNIT_INPUT:
        weight_symbols = tuple(tuple(named[j][i] for i in range(n_in)) for j in range(units))
    else:
        weight_symbols = tuple(tuple(named[i][j] for i in range(n_in)) for j in range(units))

    b_value = symbols.get("biases", f"b{layer_no}")
    bs_where = _join(s_where, "biases")
    if shared:
        if not isinstance(b_value, str):
            raise c.fail(bs_where, "a shared bias has one symbol")
        bias_symbols = (c.symbol(b_value, bs_where),) * units
    else:
        bias_symbols = per_unit("biases", b_value if isinstance(b_value, str) else "")

    return LayerSpec(
        activation=activation,
        weights=weights,
        orientation=orientation,
        biases=biases,
        shared_bias=shared,
        train_biases=train,
        products=products,
        leaky_slope=slope,
        weight_symbols=weight_symbols,
        bias_symbols=bias_symbols,
        z_symbols=per_unit("z", f"z{layer_no}"),
        a_symbols=per_unit("a", out_stem),
        delta_symbols=per_unit("delta", f"delta{layer_no}"),
    )


def _symbol_list(c: _Check, value: object, where: str, n: int, stem: str) -> tuple[str, ...]:
    if value is None:
        value = stem
    if isinstance(value, str):
        base = c.symbol(value, where)
        return tuple(f"{base}{_index(k, n)}" for k in range(n))
    if isinstance(value, Sequence) and len(value) == n:
        return tuple(c.symbol(v, f"{where}[{k}]") for k, v in enumerate(value))
    raise c.fail(where, f"must be a symbol stem or a list of {n} symbols")


def _values_and_symbols(
    c: _Check, raw: object, where: str, stem: str
) -> tuple[tuple[float, ...], tuple[str, ...]]:
    """``inputs = [..]`` or ``[inputs] values = [..] symbols = [..]``."""
    if isinstance(raw, Mapping):
        t = c.table(raw, where, {"values", "symbols"})
        if "values" not in t:
            raise c.fail(_join(where, "values"), "missing")
        values = c.numbers(t["values"], _join(where, "values"))
        symbols = _symbol_list(c, t.get("symbols"), _join(where, "symbols"), len(values), stem)
        return values, symbols
    values = c.numbers(raw, where)
    return values, _symbol_list(c, None, where, len(values), stem)


def _printed(c: _Check, raw: object, parameters: int) -> tuple[PrintedEntry, ...]:
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        raise c.fail("printed", f"must be a list of tables ([[printed]]), got {_kind(raw)}")
    if len(raw) > MAX_PRINTED:
        raise c.fail("printed", f"has {len(raw)} entries; at most {MAX_PRINTED} are allowed")
    entries = []
    for k, item in enumerate(raw):
        where = f"printed[{k}]"
        t = c.table(item, where, _PRINTED_KEYS)
        for key in ("name", "value"):
            if key not in t:
                raise c.fail(_join(where, key), "missing")
        name = c.text(t["name"], _join(where, "name"), MAX_SYMBOL + 20)
        value = t["value"]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            c.number(value, _join(where, "value"))
            value = repr(value)
        printed = c.text(value, _join(where, "value"), 40).strip()
        if not _PRINTED_NUMBER.match(printed):
            raise c.fail(
                _join(where, "value"),
                f"{printed!r} is not a number as printed (digits, one point, a sign)",
            )
        after = t.get("after", 0)
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise c.fail(_join(where, "after"), "must be a whole number of training steps")
        too_much = work_problem("after", after, parameters)
        if too_much is not None:  # bounded by work (see MAX_WORK), not by a count
            raise c.fail(_join(where, "after"), too_much)
        entries.append(
            PrintedEntry(
                name=name,
                printed=printed.replace("−", "-"),
                text=c.text(t.get("text", ""), _join(where, "text")),
                after=after,
            )
        )
    return tuple(entries)


def parse_spec(data: object, source: str = "") -> LessonSpec:
    """Check a lesson spec (a dict, as read from TOML or JSON) and return it as a LessonSpec.

    ``source`` names the file in error messages. Raises :class:`SpecError` (a ValueError) at the
    first problem, naming the field path (``layers[1].weights[0][2]``).
    """
    c = _Check(source)
    if isinstance(data, Mapping) and "program" in data:
        return _program_spec(c, data)
    top = c.table(data, "", _TOP_KEYS)
    for key in ("inputs", "targets", "layers", "loss"):
        if key not in top:
            raise c.fail(key, "missing")
    inputs, input_symbols = _values_and_symbols(c, top["inputs"], "inputs", "x")
    targets, target_symbols = _values_and_symbols(c, top["targets"], "targets", "t")

    raw_layers = top["layers"]
    if isinstance(raw_layers, (str, bytes)) or not isinstance(raw_layers, Sequence):
        raise c.fail("layers", f"must be a list of tables ([[layers]]), got {_kind(raw_layers)}")
    if not 1 <= len(raw_layers) <= MAX_LAYERS:
        raise c.fail("layers", f"must have 1 to {MAX_LAYERS} layers, has {len(raw_layers)}")
    layers: list[LayerSpec] = []
    fan_in = len(inputs)
    for k, raw in enumerate(raw_layers):
        layer = _layer(c, raw, f"layers[{k}]", k, fan_in, k == len(raw_layers) - 1)
        layers.append(layer)
        fan_in = layer.units
    if fan_in != len(targets):
        raise c.fail(
            "targets", f"has {len(targets)} numbers, but the last layer has {fan_in} units"
        )

    loss_raw = top["loss"]
    if isinstance(loss_raw, str):
        loss_raw = {"kind": loss_raw}
    lt = c.table(loss_raw, "loss", _LOSS_KEYS)
    if "kind" not in lt:
        raise c.fail("loss.kind", f"missing; choose one of: {', '.join(LOSS_NAMES)}")
    loss = LossSpec(
        kind=c.choice(lt["kind"], "loss.kind", LOSS_NAMES),
        reduction=c.choice(lt.get("reduction", "sum"), "loss.reduction", ("sum", "mean")),
        difference=c.choice(lt.get("difference", "t - y"), "loss.difference", ("t - y", "y - t")),
        symbol=c.symbol(lt.get("symbol", "L"), "loss.symbol"),
        show_output_slope=c.flag(lt.get("show_output_slope", False), "loss.show_output_slope"),
        terms=_loss_terms(c, lt.get("terms"), len(targets)),
    )
    last = layers[-1]
    if loss.terms and (loss.kind not in ("squared_error", "half_squared_error") or fan_in < 2):
        raise c.fail("loss.terms", "names the terms of a squared error over 2 or more outputs")
    if loss.kind == "cross_entropy" and last.activation != "softmax":
        raise c.fail("loss.kind", "cross_entropy needs a softmax output layer")
    if last.activation == "softmax" and loss.kind != "cross_entropy":
        raise c.fail("loss.kind", "a softmax output layer goes with cross_entropy")
    if loss.kind == "binary_cross_entropy" and last.activation != "sigmoid":
        raise c.fail("loss.kind", "binary_cross_entropy needs a sigmoid output layer")
    if loss.kind in ("binary_cross_entropy", "cross_entropy"):
        for k, t in enumerate(targets):
            if not 0.0 <= t <= 1.0:
                raise c.fail(f"targets[{k}]", f"{t!r} is not a probability between 0 and 1")

    lr = c.number(top.get("learning_rate", 0.1), "learning_rate")
    if lr <= 0.0:
        raise c.fail("learning_rate", f"must be positive, got {lr!r}")
    error_term = c.choice(
        top.get("error_term", "dL/dz"), "error_term", ("dL/dz", "-dL/dz")
    )
    notes_raw = top.get("notes", [])
    if isinstance(notes_raw, str):
        notes_raw = [notes_raw]
    if not isinstance(notes_raw, Sequence) or len(notes_raw) > MAX_NOTES:
        raise c.fail("notes", f"must be a list of at most {MAX_NOTES} texts")
    notes = tuple(c.text(n, f"notes[{k}]") for k, n in enumerate(notes_raw))
    spec = LessonSpec(
        name=c.text(top.get("name", "my-network"), "name", 60),
        title=c.text(top.get("title", "your own network"), "title"),
        source=c.text(top.get("source", "your file"), "source"),
        notes=notes,
        lr=lr,
        inputs=inputs,
        input_symbols=input_symbols,
        targets=targets,
        target_symbols=target_symbols,
        layers=tuple(layers),
        loss=loss,
        error_sign=-1 if error_term == "-dL/dz" else 1,
        printed=_printed(c, top.get("printed", []), _parameter_count(layers)),
        shortcut_owner=c.text(top.get("shortcut_owner", "textbook's"), "shortcut_owner", 60),
        lr_symbol=c.symbol(top.get("learning_rate_symbol", "η"), "learning_rate_symbol"),
    )
    _check_unique_symbols(c, spec)
    return spec


def _loss_terms(c: _Check, raw: object, n: int) -> tuple[str, ...]:
    """``terms = ["E_o1", "E_o2"]``: one symbol per output's term of the loss (optional)."""
    if raw is None:
        return ()
    if isinstance(raw, str) or not isinstance(raw, Sequence) or len(raw) != n:
        raise c.fail("loss.terms", f"must be a list of {n} symbols, one per output")
    return tuple(c.symbol(v, f"loss.terms[{k}]") for k, v in enumerate(raw))


_PROGRAM_KEYS = {
    "name", "title", "source", "notes", "learning_rate", "program", "given", "parameters",
    "symbols", "printed",
}  # fmt: skip


def _program_spec(c: _Check, data: Mapping[str, object]) -> LessonSpec:
    """A lesson whose graph is a program of named steps (see ``nn.program``)."""
    from nn.expression import ExpressionError
    from nn.program import parse_program

    top = c.table(data, "", _PROGRAM_KEYS)
    text = c.text(top["program"], "program", 4000, shown=False)
    try:
        program = parse_program(text)
    except ExpressionError as error:
        raise c.fail("program", str(error)) from None
    given_raw = c.table(top.get("given", {}), "given", set(program.inputs))
    for name in program.inputs:
        if name not in given_raw:
            raise c.fail(f"given.{name}", "missing: the program reads it")
    given = [(str(n), c.number(v, f"given.{n}")) for n, v in given_raw.items()]  # file order
    raw_parameters = top.get("parameters", [])
    if isinstance(raw_parameters, (str, bytes)) or not isinstance(raw_parameters, Sequence):
        raise c.fail("parameters", f"must be a list of names, got {_kind(raw_parameters)}")
    parameters: list[str] = []
    for k, name in enumerate(raw_parameters):
        if not isinstance(name, str) or name not in program.inputs:
            raise c.fail(f"parameters[{k}]", f"{name!r} is not a given number of the program; "
                         f"given: {', '.join(program.inputs)}")  # fmt: skip
        if name in parameters:
            raise c.fail(f"parameters[{k}]", f"{name!r} is listed twice")
        parameters.append(name)
    symbols_raw = c.table(top.get("symbols", {}), "symbols", set(program.names))
    symbols = tuple((str(n), c.symbol(v, f"symbols.{n}")) for n, v in symbols_raw.items())
    seen: dict[str, str] = {}
    for name in program.names:
        shown = dict(symbols).get(name, name)
        if shown in seen:
            raise c.fail(f"symbols.{name}", f"symbol {shown!r} is already used by {seen[shown]}")
        seen[shown] = name
    lr = c.number(top.get("learning_rate", 0.1), "learning_rate")
    if lr <= 0.0:
        raise c.fail("learning_rate", f"must be positive, got {lr!r}")
    notes_raw = top.get("notes", [])
    if isinstance(notes_raw, str):
        notes_raw = [notes_raw]
    if not isinstance(notes_raw, Sequence) or len(notes_raw) > MAX_NOTES:
        raise c.fail("notes", f"must be a list of at most {MAX_NOTES} texts")
    printed = _printed(c, top.get("printed", []), len(parameters))
    for k, entry in enumerate(printed):
        if entry.after:
            raise c.fail(f"printed[{k}].after", "a program lesson checks the first pass only")
    loss_symbol = dict(symbols).get(program.output, program.output)
    return LessonSpec(
        name=c.text(top.get("name", "my-program"), "name", 60),
        title=c.text(top.get("title", "your own program"), "title"),
        source=c.text(top.get("source", "your file"), "source"),
        notes=tuple(c.text(n, f"notes[{k}]") for k, n in enumerate(notes_raw)),
        lr=lr,
        inputs=(),
        input_symbols=(),
        targets=(),
        target_symbols=(),
        layers=(),
        loss=LossSpec(kind="program", symbol=loss_symbol),
        error_sign=1,
        printed=printed,
        program=ProgramSpec(text, tuple(given), tuple(parameters), symbols),
    )


def _parameter_count(layers: Sequence[LayerSpec]) -> int:
    """How many numbers a training step updates: every weight, and each trained bias once."""
    count = 0
    for layer in layers:
        count += layer.units * layer.fan_in
        if layer.train_biases:
            count += 1 if layer.shared_bias else layer.units
    return count


def _check_unique_symbols(c: _Check, spec: LessonSpec) -> None:
    """Every quantity needs its own symbol (a shared bias is one quantity)."""
    seen: dict[str, str] = {}

    def claim(symbol: str, where: str) -> None:
        if symbol in seen and seen[symbol] != where:
            raise c.fail(where, f"symbol {symbol!r} is already used by {seen[symbol]}")
        seen[symbol] = where

    for k, s in enumerate(spec.input_symbols):
        claim(s, f"inputs.symbols[{k}]")
    for k, s in enumerate(spec.target_symbols):
        claim(s, f"targets.symbols[{k}]")
    for n, layer in enumerate(spec.layers):
        where = f"layers[{n}].symbols"
        for j in range(layer.units):
            for i in range(layer.fan_in):
                claim(layer.weight_symbols[j][i], f"{where}.weights (unit {j}, input {i})")
            bias_where = f"{where}.biases" + ("" if layer.shared_bias else f"[{j}]")
            claim(layer.bias_symbols[j], bias_where)
            if layer.activation != "linear":
                claim(layer.z_symbols[j], f"{where}.z[{j}]")
            claim(layer.a_symbols[j], f"{where}.a[{j}]")
            claim(layer.delta_symbols[j], f"{where}.delta[{j}]")
    for k, s in enumerate(spec.loss.terms):
        claim(s, f"loss.terms[{k}]")
    claim("loss", "the loss")


# ---------------------------------------------------------------------------------------------
# Reading a spec file
# ---------------------------------------------------------------------------------------------

def read_spec_text(text: str, source: str, kind: str = "toml") -> LessonSpec:
    """Parse TOML or JSON text (``kind`` "toml" or "json") and check it as a lesson spec."""
    return parse_spec(parse_text(text, source, fmt=kind), source)


def read_spec_file(path: object) -> LessonSpec:
    """Read a lesson spec from a ``.toml`` or ``.json`` file; errors name the file and field.

    The file is untrusted: ``nn.files`` bounds its size and nesting before parsing it.
    """
    import os

    source = os.fspath(path)  # type: ignore[arg-type]
    lower = source.lower()
    if not lower.endswith((".toml", ".json")):
        raise SpecError("", "a lesson file ends in .toml or .json", source)
    data = read_data(source, fmt="toml" if lower.endswith(".toml") else "json")
    return parse_spec(data, source)
