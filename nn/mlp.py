"""Neuron, Layer and MLP built from Values, so that every weight gets a gradient from backward()."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence
from itertools import repeat
from operator import mul
from typing import Any

import numpy as np

from autograd import Value
from autograd.value import unchecked_weighted_sum
from nn.activations import ACTIVATIONS, check_activation, softmax
from nn.files import (
    FileFormatError,
    check_keys,
    check_length,
    check_number,
    lookup,
    optional,
    require,
)
from nn.module import MAX_PARAMETERS, Module, read_model_file


def init_limit(activation: str, nin: int, nout: int) -> float:
    """Half-width of the uniform distribution the initial weights are drawn from.

    He-like for relu-type units (sqrt(6 / nin): keeps the variance of activations through layers
    whose units are off half the time), Glorot/Xavier for the rest (sqrt(6 / (nin + nout))).
    """
    if activation in ("relu", "leaky_relu"):
        return math.sqrt(6.0 / nin)
    return math.sqrt(6.0 / (nin + nout))


def _make_rng(seed: int | None, rng: np.random.Generator | None) -> np.random.Generator:
    if rng is not None:
        return rng
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__} {seed!r}")
    return np.random.default_rng(seed)


def _check_size(n: object, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"{what} must be a positive int, got {n!r}")
    return int(n)


def _check_input(x: object, nin: int, who: str) -> list[Value | float]:
    """The input as a list of numbers/Values, or a clear error (length, type, NaN)."""
    if isinstance(x, np.ndarray):
        if x.ndim != 1:
            raise ValueError(
                f"{who} expects one sample: a 1-D input of {nin} numbers, got shape {x.shape}"
            )
        x = x.tolist()
    elif (
        isinstance(x, (Value, numbers.Number)) or not isinstance(x, Sequence) or isinstance(x, str)
    ):
        raise TypeError(f"{who} expects a list of {nin} numbers, got {type(x).__name__} {x!r}")
    if len(x) != nin:
        raise ValueError(f"{who} expects {nin} inputs, got {len(x)}")
    for i, xi in enumerate(x):
        if isinstance(xi, Value):
            number = xi.data
        elif isinstance(xi, numbers.Real) and not isinstance(xi, bool):
            number = xi
        else:
            raise TypeError(
                f"{who} input x[{i}] must be a number or Value, got {type(xi).__name__} {xi!r}"
            )
        if not math.isfinite(number):
            raise ValueError(f"{who} input x[{i}] is {number!r}: inputs must be finite numbers")
    return list(x)


def _as_values(x: list[Value | float], labels: Sequence[str] | None = None) -> tuple[Value, ...]:
    """A checked input as Values: numbers become leaves labelled ``labels[i]`` (unlabelled, as
    ``w * 0.5`` makes them, without labels); Values are used as they are."""
    names = repeat("") if labels is None else labels
    return tuple(
        xi if isinstance(xi, Value) else Value(float(xi), name) for xi, name in zip(x, names)
    )


# ---------------------------------------------------------------------------------------------
# Neuron
# ---------------------------------------------------------------------------------------------


class Neuron(Module):
    """One unit: ``activation(b + w_0*x_0 + ... + w_{n-1}*x_{n-1})``.

    Parameters are ``w`` (a list of ``nin`` Values) and ``b`` (a Value), in that order.

    By default the sum is built like micrograd's ``sum((wi*xi for ...), b)``: starting from b,
    one ``*`` and one ``+`` node per input, so every product is visible in a drawing and the
    numbers match micrograd bit for bit. With ``fused=True`` the sum is one
    ``weighted_sum(w, x, b)`` node: same values (up to rounding order), far fewer nodes, much
    faster to train.

    Weights are drawn uniformly from +-``limit`` (default: :func:`init_limit` for one output) with
    a NumPy Generator made from ``seed`` (or the shared ``rng`` a Layer passes in); b starts at 0.
    """

    _fields = ("w", "b")

    def __init__(
        self,
        nin: int,
        activation: str = "tanh",
        *,
        seed: int | None = 0,
        fused: bool = False,
        rng: np.random.Generator | None = None,
        limit: float | None = None,
    ) -> None:
        self.nin = _check_size(nin, "Neuron nin")
        self.activation = check_activation(activation)
        self.fused = bool(fused)
        rng = _make_rng(seed, rng)
        limit = init_limit(self.activation, self.nin, 1) if limit is None else limit
        self.w = [Value(float(v)) for v in rng.uniform(-limit, limit, size=self.nin)]
        self.b = Value(0.0)
        self._act = ACTIVATIONS[self.activation]
        self._name("w", "b", "z", "a")

    def _name(self, weight: str, bias: str, z_label: str, a_label: str) -> None:
        """Label the parameters (``W1[0][1]``: weight prefix + [input]) and the nodes this neuron
        creates on each call (``z1[0]``, ``a1[0]``), so traces and drawings read like a book."""
        for i, w in enumerate(self.w):
            w.label = f"{weight}[{i}]"
        self.b.label = bias
        self._z_label = z_label
        self._a_label = a_label

    def label_parameters(self) -> None:
        """Label the weights ``w[0]``, ``w[1]``, ... and the bias ``b`` (a lone neuron's names)."""
        self._name("w", "b", "z", "a")

    def __call__(self, x: Sequence[Value | float]) -> Value:
        """The neuron's output Value for one input sample (a list of ``nin`` numbers or Values)."""
        return self._forward(_as_values(_check_input(x, self.nin, "Neuron")))

    def _forward(self, x: tuple[Value, ...]) -> Value:
        """The output for ``nin`` Values, unchecked: the hot path of every layer on every sample."""
        if self.fused:
            z = unchecked_weighted_sum(tuple(self.w), x, self.b)
        else:
            # micrograd's sum((wi*xi for ...), b), with map instead of a generator: the same
            # nodes in the same order, and a tenth off a fine-grained forward pass.
            z = sum(map(mul, self.w, x), self.b)
        z.label = self._z_label
        a = self._act(z)
        if a is not z:
            a.label = self._a_label
        return a

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


# ---------------------------------------------------------------------------------------------
# Layer
# ---------------------------------------------------------------------------------------------


class Layer(Module):
    """``nout`` neurons that all see the same ``nin`` inputs; calling it returns a list of Values.

    The result is always a list, even for one neuron (micrograd returns a bare Value then, which
    breaks code that indexes the output). ``activation="softmax"`` makes the neurons linear and
    applies :func:`nn.activations.softmax` across the layer's outputs.
    """

    _fields = ("neurons",)

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "tanh",
        *,
        seed: int | None = 0,
        fused: bool = False,
        rng: np.random.Generator | None = None,
    ) -> None:
        self.nin = _check_size(nin, "Layer nin")
        self.nout = _check_size(nout, "Layer nout")
        self.activation = check_activation(activation, allow_softmax=True)
        self._softmax = self.activation == "softmax"
        if self._softmax and self.nout < 2:
            raise ValueError(
                "softmax over a single output is always 1 (no gradient); use 'sigmoid' for one "
                "output or give the layer at least 2 outputs"
            )
        rng = _make_rng(seed, rng)
        unit = "linear" if self._softmax else self.activation
        limit = init_limit(self.activation, self.nin, self.nout)
        self.neurons = [
            Neuron(self.nin, unit, fused=fused, rng=rng, limit=limit) for _ in range(self.nout)
        ]
        self._name("")

    def _name(self, number: str) -> None:
        """Label everything in the lesson vocabulary of layer ``number`` ("" for a lone layer):
        weights ``W1[unit][input]``, biases ``b1[unit]``, nodes ``z1[unit]`` and ``a1[unit]``."""
        self._number = number
        self._a_labels = [f"a{number}[{j}]" for j in range(self.nout)]
        for j, neuron in enumerate(self.neurons):
            neuron._name(f"W{number}[{j}]", f"b{number}[{j}]", f"z{number}[{j}]", f"a{number}[{j}]")

    def label_parameters(self) -> None:
        """Label the weights ``W[unit][input]`` and biases ``b[unit]`` (with the layer's number
        inside an MLP: ``W1[0][1]``, ``b1[0]``)."""
        self._name(self._number)

    @property
    def fused(self) -> bool:
        """Whether the neurons use one fused weighted-sum node (settable)."""
        return self.neurons[0].fused

    @fused.setter
    def fused(self, value: bool) -> None:
        for neuron in self.neurons:
            neuron.fused = bool(value)

    def __call__(self, x: Sequence[Value | float]) -> list[Value]:
        """The layer's outputs (a list of ``nout`` Values) for one input sample."""
        return self._forward(_as_values(_check_input(x, self.nin, "Layer")))

    def _forward(self, x: Sequence[Value]) -> list[Value]:
        """The outputs for ``nin`` Values, unchecked (see ``Neuron._forward``)."""
        x = tuple(x)
        out = [neuron._forward(x) for neuron in self.neurons]
        if self._softmax:
            out = softmax(out)
            for a, label in zip(out, self._a_labels):
                a.label = label
        return out

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r})"


# ---------------------------------------------------------------------------------------------
# MLP
# ---------------------------------------------------------------------------------------------


class MLP(Module):
    """A multi-layer perceptron: ``MLP(nin, [sizes...])`` stacks Layers of the given sizes.

    ``activation`` is used by every hidden layer, ``output_activation`` by the last one
    ("linear", "sigmoid", "tanh", "relu", "leaky_relu", or "softmax" across the output layer).
    Calling the model on one sample (``nin`` numbers or Values) returns a list of Values, one per
    output unit, always a list. Labels follow the textbook notation (see
    :meth:`label_parameters`): weights ``W1[0][1]`` (layer 1, unit 0, input 1), biases ``b1[0]``,
    weighted inputs ``z1[0]``, activations ``a1[0]`` for layer 1 (the first hidden layer), ...,
    and the input leaves ``x[0]``, ``x[1]``, ...

    Parameters are ordered per layer, per neuron: ``w_0 .. w_{n-1}`` then ``b``, exactly as in
    micrograd, so ``for p, q in zip(model.parameters(), micrograd_mlp.parameters())`` pairs them
    up (see :meth:`copy_from`). Initial weights come from a NumPy Generator seeded with ``seed``
    (``seed=None`` for fresh randomness); biases start at 0.

    ``fused=True`` builds one ``weighted_sum`` node per neuron instead of a ``*`` and a ``+``
    per weight: the same numbers, several times faster. It can be switched later
    (``model.fused = True``).

    To set exact weights, use :meth:`from_weights` / :meth:`set_weights`.
    """

    _fields = ("layers",)

    def __init__(
        self,
        nin: int,
        sizes: Sequence[int],
        activation: str = "tanh",
        output_activation: str = "linear",
        *,
        seed: int | None = 0,
        fused: bool = False,
    ) -> None:
        self.nin = _check_size(nin, "MLP nin")
        if isinstance(sizes, numbers.Integral) or not isinstance(sizes, Sequence) or not sizes:
            raise ValueError(
                f"MLP sizes must be a non-empty list of layer sizes (e.g. [16, 1]), got {sizes!r}"
            )
        self.sizes = [_check_size(n, f"MLP layer size sizes[{i}]") for i, n in enumerate(sizes)]
        self.activation = check_activation(activation)
        self.output_activation = check_activation(output_activation, allow_softmax=True)
        rng = _make_rng(seed, None)
        widths = [self.nin, *self.sizes]
        last = len(self.sizes) - 1
        self.layers = [
            Layer(
                widths[i],
                widths[i + 1],
                self.output_activation if i == last else self.activation,
                fused=fused,
                rng=rng,
            )
            for i in range(len(self.sizes))
        ]
        self._input_labels = [f"x[{i}]" for i in range(self.nin)]
        self.label_parameters()

    def label_parameters(self) -> None:
        """Label every parameter and node in the lesson vocabulary, layer 1 being the first hidden
        layer: weights ``W1[0][1]`` (layer 1, unit 0, input 1), biases ``b1[0]``, weighted
        inputs ``z1[0]``, activations ``a1[0]``; inputs are ``x[0]``, ``x[1]``, ...

        ``named_parameters()`` keeps the dotted names (``layers.0.neurons.0.w.1``) that saved
        files and drawings' neuron boxes use.
        """
        for i, layer in enumerate(self.layers):
            layer._name(str(i + 1))

    @property
    def activations(self) -> list[str]:
        """The activation name of each layer, first hidden layer first."""
        return [layer.activation for layer in self.layers]

    @property
    def fused(self) -> bool:
        """Whether neurons use one fused weighted-sum node each (settable)."""
        return self.layers[0].fused

    @fused.setter
    def fused(self, value: bool) -> None:
        for layer in self.layers:
            layer.fused = value

    def __call__(self, x: Sequence[Value | float]) -> list[Value]:
        """The output Values for one sample ``x`` (a list or 1-D array of ``nin`` numbers/Values).

        Plain numbers become leaf Values labelled ``x[i]``; Values are used as they are (so a
        gradient with respect to the input can be read from them).
        """
        x = _as_values(_check_input(x, self.nin, "MLP"), self._input_labels)
        for layer in self.layers:
            x = layer._forward(x)
        return x

    def __repr__(self) -> str:
        return (
            f"MLP({self.nin}, {self.sizes}, activation={self.activation!r}, "
            f"output_activation={self.output_activation!r}, fused={self.fused})"
        )

    # -- exact weights -------------------------------------------------------------------------

    @classmethod
    def from_weights(
        cls,
        weights: Sequence[Any],
        biases: Sequence[Any],
        activation: str = "tanh",
        output_activation: str = "linear",
        *,
        layout: str | None = None,
        fused: bool = False,
    ) -> MLP:
        """Build an MLP with exactly these weights: one table per layer, in the stated ``layout``.

        ``layout`` is required, because both orientations are common and a square table fits
        either one silently:

        * ``"unit-input"``: ``weights[l][j][i]`` is the weight of unit j on input i, one row per
          unit (PyTorch's ``Linear.weight``, ``W1[j][i]`` in the labels);
        * ``"input-unit"``: ``weights[l][i][j]``, one row per input (the way a sum
          ``z_j = x_0*W[0][j] + x_1*W[1][j] + b_j`` is often written out).

        A single unit's weights may be a flat list (one per input). ``biases[l]`` is a list with
        one bias per unit, or one number shared by the layer (each unit starts with that bias;
        they are still separate parameters and train separately). The 2-2-1 network of the
        backpropagation case study::

            MLP.from_weights([[[0.5, 0.2], [0.3, 0.4]], [0.6, 0.7]], [[0.1, 0.2], 0.3],
                             activation="sigmoid", output_activation="sigmoid",
                             layout="unit-input")

        Shapes are checked layer by layer before anything is built; an error names the table
        (``weights[1]``) and the expected and given shapes.
        """
        matrices, vectors = _parse_weights(weights, biases, layout, "from_weights")
        nin = matrices[0].shape[1]
        sizes = [m.shape[0] for m in matrices]
        model = cls(nin, sizes, activation, output_activation, seed=0, fused=fused)
        model._assign(matrices, vectors)
        return model

    def set_weights(
        self, weights: Sequence[Any], biases: Sequence[Any], *, layout: str | None = None
    ) -> None:
        """Set all weights and biases in place (``layout`` as in :meth:`from_weights`, required).

        Every shape is checked against this model before anything is written.
        """
        matrices, vectors = _parse_weights(weights, biases, layout, "set_weights")
        if len(matrices) != len(self.layers):
            raise ValueError(
                f"this MLP has {len(self.layers)} layers, got weights for {len(matrices)}"
            )
        for n, (m, layer) in enumerate(zip(matrices, self.layers)):
            if m.shape != (layer.nout, layer.nin):
                given = np.shape(weights[n])
                raise ValueError(
                    f"weights[{n}]: this MLP's layer {n + 1} has {layer.nout} units and "
                    f"{layer.nin} inputs, got {_describe(m, given, layout)}"
                )
        self._assign(matrices, vectors)

    def weights_and_biases(
        self, layout: str | None = None
    ) -> tuple[list[list[list[float]]], list[list[float]]]:
        """The inverse of :meth:`set_weights`: per layer, a weight table in ``layout`` (required:
        "unit-input" or "input-unit") and the list of biases."""
        _check_layout(layout, "weights_and_biases", None)
        weights = []
        for layer in self.layers:
            rows = [[p.data for p in neuron.w] for neuron in layer.neurons]  # [unit][input]
            weights.append(rows if layout == "unit-input" else [list(c) for c in zip(*rows)])
        biases = [[n.b.data for n in layer.neurons] for layer in self.layers]
        return weights, biases

    def _assign(self, matrices: list[np.ndarray], vectors: list[np.ndarray]) -> None:
        """Write checked (units, inputs) tables and bias vectors into the neurons."""
        for layer, m, v in zip(self.layers, matrices, vectors):
            rows, bias = m.tolist(), v.tolist()  # .tolist() gives exact Python floats
            for neuron, w_row, b in zip(layer.neurons, rows, bias):
                for p, value in zip(neuron.w, w_row):
                    p.data = value
                neuron.b.data = b

    def copy_from(self, other: Any) -> None:
        """Copy parameter values from any model whose ``parameters()`` have ``.data`` (e.g.
        micrograd's MLP, whose parameter order is the same), after checking count and values."""
        theirs = list(other.parameters())
        mine = self.parameters()
        if len(theirs) != len(mine):
            raise ValueError(
                f"cannot copy: the other model has {len(theirs)} parameters, this {self!r} has "
                f"{len(mine)}"
            )
        values = []
        for (name, _), q in zip(self.named_parameters(), theirs):
            data = getattr(q, "data", q)
            if isinstance(data, bool) or not isinstance(data, numbers.Real):
                raise TypeError(f"cannot copy into {name!r}: got {type(data).__name__} {data!r}")
            if not math.isfinite(data):
                raise ValueError(f"cannot copy into {name!r}: the value is {data!r}")
            values.append(float(data))
        for p, value in zip(mine, values):
            p.data = value

    # -- saving --------------------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this model (saved with the weights)."""
        return {
            "nin": self.nin,
            "sizes": list(self.sizes),
            "activation": self.activation,
            "output_activation": self.output_activation,
            "fused": self.fused,
        }

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, fused: bool | None = None) -> MLP:
        """Build the MLP stored in a file written by ``save`` (architecture and weights).

        ``fused`` overrides the setting saved in the file (files from before it was saved build
        unfused models). The file is untrusted: its configuration is checked and the number of
        parameters it describes is bounded (:data:`nn.module.MAX_PARAMETERS`) and compared with
        its state before anything is built; every problem raises
        :class:`~nn.files.FileFormatError` naming the file and the field (``config.sizes[1]``).
        """
        source = str(path)
        document = read_model_file(path)
        if document["class"] != cls.__name__:
            raise FileFormatError(
                source, "class", f"holds a {document['class'][:40]!r}, not an {cls.__name__}"
            )
        config = require(document, "config", dict, source=source)
        nin, sizes, activation, output_activation, saved_fused = _read_config(config, source)
        count = parameter_count(nin, sizes)
        if count > MAX_PARAMETERS:
            raise FileFormatError(
                source,
                "config.sizes",
                f"describes an MLP with {count:,} parameters; at most {MAX_PARAMETERS:,} "
                "can be loaded",
            )
        memory = build_memory(nin, sizes)
        if memory > MAX_BUILD_MEMORY:
            # Parameters alone do not bound the work: 500,000 layers of one unit are only a
            # million parameters, but each unit and layer is an object of its own (964 MB).
            raise FileFormatError(
                source,
                "config.sizes",
                f"describes an MLP of {count:,} parameters in {sum(sizes):,} units and "
                f"{len(sizes):,} layers: building it takes about {memory >> 20:,} MiB; at most "
                f"{MAX_BUILD_MEMORY >> 20} MiB of model is built (MAX_BUILD_MEMORY)",
            )
        state = document["state"]
        if len(state) != count:
            raise FileFormatError(
                source,
                "state",
                f"has {len(state)} values, but the configuration {nin} -> {sizes} has "
                f"{count} parameters",
            )
        fused = saved_fused if fused is None else fused
        model = cls(nin, sizes, activation, output_activation, fused=fused)
        for p, value in model._checked_state(state, source):
            p.data = value
        return model

    def _check_config(self, config: Any, source: str) -> None:
        nin, sizes, activation, output_activation, _ = _read_config(config, source)
        if (nin, sizes) != (self.nin, self.sizes):
            raise FileFormatError(
                source,
                "config",
                f"holds an MLP of shape {nin} -> {sizes}, but this model is "
                f"{self.nin} -> {self.sizes}; the model was left unchanged",
            )
        for key, theirs, mine in (
            ("activation", activation, self.activation),
            ("output_activation", output_activation, self.output_activation),
        ):
            if theirs != mine:
                raise FileFormatError(
                    source,
                    f"config.{key}",
                    f"was saved with {key}={theirs!r}, this model uses {mine!r}; "
                    "the model was left unchanged",
                )

    def _describe_mismatch(self, state: Any, missing: list[str], unexpected: list[str]) -> str:
        message = super()._describe_mismatch(state, missing, unexpected)
        theirs = _shape_from_names(state)
        if theirs:
            mine = [(layer.nin, layer.nout) for layer in self.layers]
            message += f" (state has layer shapes {theirs}, this model {mine} as (inputs, units))"
        return message


# Memory one MLP needs, measured with tracemalloc on CPython 3.11 (MLP(1000, [1000]) and
# MLP(1, [1] * 20000)): about 176 bytes per parameter (its Value) and 740 per unit (its Neuron,
# lists and output). Rounded up.
_BYTES_PER_PARAMETER = 180
_BYTES_PER_UNIT = 800
MAX_BUILD_MEMORY = 256 << 20  # a model file may describe at most this much model


def build_memory(nin: int, sizes: Sequence[int]) -> int:
    """About how many bytes ``MLP(nin, sizes)`` takes (see ``_BYTES_PER_PARAMETER``)."""
    return parameter_count(nin, sizes) * _BYTES_PER_PARAMETER + sum(sizes) * _BYTES_PER_UNIT


def parameter_count(nin: int, sizes: Sequence[int]) -> int:
    """How many parameters ``MLP(nin, sizes)`` has: (inputs + 1) * units per layer."""
    widths = [nin, *sizes]
    return sum((widths[i] + 1) * widths[i + 1] for i in range(len(sizes)))


CONFIG_KEYS = ("nin", "sizes", "activation", "output_activation", "fused")


def _read_config(config: Any, source: str) -> tuple[int, list[int], str, str, bool]:
    """The checked fields of a saved MLP configuration (each error names its field)."""
    document = {"config": config}  # so that every path, and so every message, starts "config."
    require(document, "config", dict, source=source)
    check_keys(config, "config", CONFIG_KEYS, source=source)  # a typo must not pass unseen
    size = {"source": source, "integer": True, "minimum": 1, "maximum": MAX_PARAMETERS}
    nin = check_number(lookup(document, "config.nin", source=source), "config.nin", **size)
    where = "config.sizes"
    raw_sizes = check_length(lookup(document, where, source=source), where, source=source)
    if not raw_sizes:
        raise FileFormatError(source, "config.sizes", "must list at least one layer size")
    sizes = [check_number(n, f"config.sizes[{i}]", **size) for i, n in enumerate(raw_sizes)]
    names = []
    for key, softmax_ok in (("activation", False), ("output_activation", True)):
        name = require(document, f"config.{key}", str, source=source)
        try:
            names.append(check_activation(name, allow_softmax=softmax_ok))
        except ValueError as error:
            raise FileFormatError(source, f"config.{key}", str(error)) from None
    fused = optional(document, "config.fused", bool, False, source=source)
    return nin, sizes, names[0], names[1], fused


def _shape_from_names(names: Any) -> list[tuple[int, int]]:
    """(inputs, units) per layer read off names like 'layers.0.neurons.1.w.0' ([] if unreadable)."""
    shapes: dict[int, list[int]] = {}
    for name in names:
        parts = str(name).split(".")
        if len(parts) == 6 and parts[0] == "layers" and parts[2] == "neurons" and parts[4] == "w":
            try:
                layer, unit, i = int(parts[1]), int(parts[3]), int(parts[5])
            except ValueError:
                return []
            nin, nout = shapes.get(layer, [0, 0])
            shapes[layer] = [max(nin, i + 1), max(nout, unit + 1)]
    return [tuple(shapes[k]) for k in sorted(shapes)]


LAYOUTS = (
    "unit-input",
    "input-unit",
)  # how a weight table is indexed: [unit][input] or [input][unit]


def _check_layout(layout: object, who: str, weights: Any) -> None:
    """Refuse a missing or unknown layout, showing what each one would mean for these weights."""
    if layout in LAYOUTS:
        return
    if layout is not None:
        raise ValueError(f"layout must be 'unit-input' or 'input-unit', got {layout!r}")
    raise TypeError(
        f"{who} needs layout='unit-input' (weights[l][unit][input]: one row per unit, as "
        "PyTorch's Linear.weight) or layout='input-unit' (weights[l][input][unit]: one row per "
        f"input){_both_readings(weights)}"
    )


def _both_readings(weights: Any) -> str:
    """'; e.g. ...': unit 0's weights under each layout, for a small first table of numbers."""
    try:
        first = np.asarray(weights[0], dtype=float)
    except (TypeError, ValueError, IndexError, KeyError):
        return ""
    if first.ndim != 2 or min(first.shape) < 2 or first.size > 16:
        return ""
    return (
        f"; e.g. for weights[0] = {first.tolist()}, 'unit-input' gives unit 0 the weights "
        f"{first[0].tolist()} and 'input-unit' gives it {first[:, 0].tolist()}"
    )


def _describe(m: np.ndarray, given: tuple[int, ...], layout: str | None) -> str:
    """A (units, inputs) table described as given, and as read in ``layout``."""
    units, inputs = m.shape
    plural = "s" if units != 1 else ""
    return f"shape {given} (read as {units} unit{plural} x {inputs} inputs, layout {layout!r})"


def _parse_weights(
    weights: Sequence[Any], biases: Sequence[Any], layout: str | None, who: str
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Turn per-layer weight tables and biases into float arrays, checking every shape.

    Returns one (units, inputs) matrix and one bias vector of shape (units,) per layer, whatever
    the layout the tables were given in.
    """
    _check_layout(layout, who, weights)
    if not isinstance(weights, Sequence) or not isinstance(biases, Sequence) or not weights:
        raise TypeError("weights and biases must be lists with one entry per layer")
    if len(weights) != len(biases):
        raise ValueError(f"got weights for {len(weights)} layers but biases for {len(biases)}")
    matrices, vectors = [], []
    for n, (w, b) in enumerate(zip(weights, biases)):
        where = f"weights[{n}]"
        m = _as_float_array(w, where)
        given = m.shape
        if m.ndim == 1:
            m = m.reshape(1, -1)  # a flat list: the weights of a single unit, one per input
        elif m.ndim == 2 and layout == "input-unit":
            m = m.T
        if m.ndim != 2 or m.size == 0:
            raise ValueError(
                f"{where}: expected a table in layout {layout!r} (or a flat list for one unit), "
                f"got shape {m.shape}"
            )
        if matrices and m.shape[1] != matrices[-1].shape[0]:
            units = matrices[-1].shape[0]
            other = "input-unit" if layout == "unit-input" else "unit-input"
            hint = f"; it would fit layout={other!r}" if m.shape[0] == units else ""
            raise ValueError(
                f"{where}: layer {n + 1} has {units} inputs (layer {n} has {units} units), "
                f"got {_describe(m, given, layout)}{hint}"
            )
        where_b = f"biases[{n}]"
        v = _as_float_array(b, where_b)
        if v.ndim == 0:
            v = np.full(m.shape[0], float(v))  # one number: shared by every unit of the layer
        v = v.reshape(-1)
        if v.shape != (m.shape[0],):
            raise ValueError(
                f"{where_b}: expected {m.shape[0]} biases (one per unit) or one number shared "
                f"by the layer, got {v.size}"
            )
        matrices.append(m)
        vectors.append(v)
    return matrices, vectors


def _as_float_array(data: Any, where: str) -> np.ndarray:
    try:
        array = np.asarray(data, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{where} is not a rectangular table of numbers: {data!r}") from None
    bad = np.argwhere(~np.isfinite(array))
    if bad.size or (array.ndim == 0 and not np.isfinite(array)):
        index = "".join(f"[{i}]" for i in bad[0]) if bad.size else ""
        value = array[tuple(bad[0])] if bad.size else array
        raise ValueError(f"{where}{index} is {float(value)!r}: weights must be finite numbers")
    return array
