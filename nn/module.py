"""The `Module` base class: named parameters, zero_grad, and saving/loading weights as JSON."""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Iterator, Mapping
from typing import Any

from autograd import Value
from nn.files import FileFormatError, check_number, child, read_data, require
from nn.safe_write import write_file

FILE_FORMAT = "stepgrad-model"  # the "format" field of a saved model file
FILE_VERSION = 1
MAX_MODEL_BYTES = 64 << 20  # a model file is read whole: about a million parameters fit
MAX_PARAMETERS = 1_000_000  # more than this scalar engine can train; refused before building


class Module:
    """Base class of everything that holds trainable Values (Neuron, Layer, MLP).

    A subclass lists the attributes that hold its parameters in ``_fields``, in order. Each such
    attribute is a ``Value``, a ``Module``, or a list of those. From that one declaration the base
    class derives, in a stable order:

    * ``named_parameters()`` -> ``[("layers.0.neurons.1.w.0", Value), ...]`` (dotted path of
      attribute names and list positions),
    * ``parameters()``, ``zero_grad()``,
    * ``state_dict()`` / ``load_state_dict()`` (plain ``{name: float}``, JSON-safe),
    * ``save(path)`` / ``load(path)`` (JSON files; never pickle, so loading runs no code).
    """

    _fields: tuple[str, ...] = ()

    # -- parameters ----------------------------------------------------------------------------

    def named_parameters(self) -> list[tuple[str, Value]]:
        """Every parameter with its dotted name, e.g. ``("layers.0.neurons.1.w.0", Value)``."""
        return list(self._walk(""))

    def parameters(self) -> list[Value]:
        """Every parameter Value, in the same stable order as ``named_parameters()``."""
        return [p for _, p in self._walk("")]

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to 0.0 (leaves accumulate across backward())."""
        for p in self.parameters():
            p.grad = 0.0

    def label_parameters(self) -> None:
        """Set each parameter's ``.label`` to its dotted name from ``named_parameters()``.

        Modules with a vocabulary of their own override this: an MLP labels its parameters
        ``W1[0][1]``, ``b1[0]`` as a textbook would (see ``MLP.label_parameters``).
        """
        for name, p in self._walk(""):
            p.label = name

    def _walk(self, prefix: str) -> Iterator[tuple[str, Value]]:
        for field in self._fields:
            yield from _walk_item(getattr(self, field), prefix + field)

    # -- state ---------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, float]:
        """All parameter values as ``{name: float}``: plain data that ``json.dumps`` accepts."""
        return {name: p.data for name, p in self._walk("")}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Set every parameter from ``state`` (as made by ``state_dict()``).

        Everything is checked before anything is written: a missing or unexpected name, or a value
        that is not a finite real number, raises ``ValueError``/``TypeError`` naming it, and the
        model is left exactly as it was.
        """
        if not isinstance(state, Mapping):
            raise TypeError(
                f"load_state_dict needs a dict of {{name: number}}, got {type(state).__name__}"
            )
        named = self.named_parameters()
        own = {name for name, _ in named}
        missing = [name for name, _ in named if name not in state]
        unexpected = [name for name in state if name not in own]
        if missing or unexpected:
            raise ValueError(self._describe_mismatch(state, missing, unexpected))
        values = [(p, _check_parameter_value(state[name], name)) for name, p in named]
        for p, value in values:  # only now, with every value checked, write
            p.data = value

    def _describe_mismatch(
        self, state: Mapping[str, Any], missing: list[str], unexpected: list[str]
    ) -> str:
        """The error message for a state whose names do not fit (subclasses add shapes)."""
        parts = [f"the state does not fit this {type(self).__name__}"]
        if missing:
            parts.append(f"missing {len(missing)} parameter(s): {_first(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected name(s): {_first(unexpected)}")
        return "; ".join(parts) + "; the model was left unchanged"

    def config(self) -> dict[str, Any] | None:
        """The constructor arguments that rebuild this module, or None (subclasses override)."""
        return None

    # -- files ---------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the configuration and every parameter to a JSON file.

        Floats are written with ``repr`` precision, so ``load`` gives back identical numbers.
        The file is written as :func:`nn.safe_write.write_file` writes: complete or not at all
        (the old model stays on a full disk or a Ctrl-C), through a symbolic link to its target,
        keeping the target's mode and hard links; a read-only file is refused.
        """
        named = self.named_parameters()
        for name, p in named:
            if not math.isfinite(p.data):
                raise ValueError(f"cannot save: parameter {name!r} is {p.data!r} (not finite)")
        document = {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "class": type(self).__name__,
            "config": self.config(),
            "state": {name: p.data for name, p in named},
        }
        text = json.dumps(document, indent=1, allow_nan=False)
        # write_file: through a symlink to its target, keeping the target's mode and hard links,
        # refusing a read-only file, and never leaving a half-written model (see nn.safe_write).
        write_file(path, text, verb="save")

    def load(self, path: str | os.PathLike[str]) -> None:
        """Set this module's parameters from a file written by ``save``.

        The file is untrusted: its size is bounded, and everything in it is checked before any
        parameter is written. A file of another shape, a damaged or foreign file raises
        :class:`~nn.files.FileFormatError` (a ValueError) naming the file and the field, and the
        model is left unchanged.
        """
        source = str(path)
        document = read_model_file(path)
        if document["class"] != type(self).__name__:
            raise FileFormatError(
                source,
                "class",
                f"holds a {document['class'][:40]!r}, not a {type(self).__name__}; "
                "the model was left unchanged",
            )
        own, theirs = self.config(), document.get("config")
        if own is not None and theirs is not None:
            self._check_config(theirs, source)
        for p, value in self._checked_state(document["state"], source):
            p.data = value

    def _checked_state(self, state: Mapping[str, Any], source: str) -> list[tuple[Value, float]]:
        """Each parameter with its value from a file's ``state``, all checked, nothing written."""
        named = self.named_parameters()
        if len(state) != len(named) or any(name not in state for name, _ in named):
            own = {name for name, _ in named}
            missing = [name for name, _ in named if name not in state]
            unexpected = [name for name in state if name not in own]
            raise FileFormatError(
                source, "state", self._describe_mismatch(state, missing, unexpected)
            )
        return [
            (p, check_number(state[name], child("state", name), source=source)) for name, p in named
        ]

    def _check_config(self, config: Any, source: str) -> None:
        """Raise ValueError when a saved configuration cannot be loaded here (subclasses refine)."""
        if config != self.config():
            raise ValueError(
                f"{source} holds {config}, but this model is {self.config()}; "
                "the model was left unchanged"
            )


def read_model_file(
    path: str | os.PathLike[str], *, max_bytes: int = MAX_MODEL_BYTES
) -> dict[str, Any]:
    """Read and check the envelope of a saved model file; returns the parsed document.

    The file may come from anywhere: its size, encoding, nesting and numbers are bounded (see
    :func:`nn.files.read_data`), and it must say it is a stepgrad model file of this version
    with a "class" name and a "state" table. Anything else raises
    :class:`~nn.files.FileFormatError` naming the file and the field.
    """
    source = str(path)
    document = read_data(path, fmt="json", max_bytes=max_bytes)
    if not isinstance(document, dict) or document.get("format") != FILE_FORMAT:
        raise FileFormatError(
            source, "", f'not a stepgrad model file (no "format": "{FILE_FORMAT}")'
        )
    version = require(document, "version", int, source=source)
    if version != FILE_VERSION:
        raise FileFormatError(
            source, "version", f"is {version}; this stepgrad reads version {FILE_VERSION}"
        )
    require(document, "class", str, source=source)
    require(document, "state", dict, source=source)
    return document


def _walk_item(item: object, name: str) -> Iterator[tuple[str, Value]]:
    if isinstance(item, Value):
        yield name, item
    elif isinstance(item, Module):
        yield from item._walk(name + ".")
    elif isinstance(item, (list, tuple)):
        for i, sub in enumerate(item):
            yield from _walk_item(sub, f"{name}.{i}")
    else:
        raise TypeError(f"parameter field {name!r} holds a {type(item).__name__}")


def _check_parameter_value(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"parameter {name!r} must be a number, got {type(value).__name__} {value!r}; "
            "the model was left unchanged"
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"parameter {name!r} is {value!r}; the model was left unchanged")
    return value


def _first(names: list[str], k: int = 4) -> str:
    shown = ", ".join(names[:k])
    return shown + (f", ... ({len(names) - k} more)" if len(names) > k else "")
