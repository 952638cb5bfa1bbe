"""The built-in lessons (2-2-1, 1-1-1, softmax, 2-2-2): one registry; each a spec file.

The three worked examples of the source documents are data, in ``nn/lessons/<name>.toml``
(shipped with the package), and become graphs through the one lesson model (``nn.lesson``):

* ``"2-2-1"`` (the backpropagation case study): 2 inputs, 2 sigmoid hidden units, 1 sigmoid
  output, loss (t - y)^2, learning rate 0.1. Hidden input j is ``sum_i x[i]*W1[i][j] + b1[j]``,
  the way the case study writes its sums. The file lists the numbers the case study printed;
  ``nn.printed`` classifies them.
* ``"1-1-1"`` (the one-neuron walkthrough): it says the output is linear, 'y = wx + b', but
  computes h = wx + b, y = sigma(h) and differentiates through dy/dh = sigma'(h); we follow the
  computation, so both units are sigmoid: h1 = w1*x + b1, a1 = sigmoid(h1), h2 = w2*a1 + b2,
  y = sigmoid(h2), L = 1/2 (y - t)^2. The numbers are ours.
* ``"softmax"`` (the softmax derivation): 2 inputs, 3 sigmoid hidden units, a 3-class softmax
  output and the cross-entropy loss against a one-hot target, built from exp, +, /, log and *
  nodes so that the engine's dJ/dz2 can be checked against the closed form y_hat - y.
* ``"2-2-2"`` (the step-by-step walkthrough): 2 inputs, 2 sigmoid hidden units, 2 sigmoid
  outputs, shared frozen biases, E_total = sum 1/2 (t - o)^2, learning rate 0.5, and the
  numbers it printed; its total error after one round is diagnosed
  (``updated-weights-in-backward``).

Three more are written as programs of named steps (the ``program`` key, see
``nn.program``), with our own numbers: ``"rnn"`` (a tanh recurrent unit over two time steps,
backpropagation through time), ``"conv1d"`` (three inputs, a shared 2-tap kernel and a bias,
two outputs) and ``"softmax-ce"`` (a 3-class softmax with cross-entropy).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources

from nn.lesson import Lesson, build_lesson, engine_values, iterate_lesson
from nn.spec import LessonSpec, read_spec_text

EXAMPLE_NAMES = ("2-2-1", "1-1-1", "softmax", "2-2-2")  # layered networks (MLPs)
PROGRAM_EXAMPLE_NAMES = ("rnn", "conv1d", "softmax-ce")  # written as named steps: no layers
LESSON_NAMES = EXAMPLE_NAMES + PROGRAM_EXAMPLE_NAMES  # every built-in lesson

Example = Lesson  # the name these were known by before every example became a lesson

__all__ = [
    "EXAMPLE_NAMES",
    "LESSON_NAMES",
    "PROGRAM_EXAMPLE_NAMES",
    "Example",
    "build_example",
    "engine_values",
    "example_spec",
    "iterate_training",
]


def _check_example_name(name: object) -> str:
    if name not in LESSON_NAMES:
        raise ValueError(f"unknown example {name!r}; choose one of: {', '.join(LESSON_NAMES)}")
    return name  # type: ignore[return-value]


@cache
def example_spec(name: str) -> LessonSpec:
    """The checked spec of a built-in lesson, read from the package's ``lessons/<name>.toml``."""
    _check_example_name(name)
    text = resources.files("nn").joinpath("lessons", f"{name}.toml").read_text(encoding="utf-8")
    return read_spec_text(text, f"built-in lesson {name}", "toml")


def build_example(
    name: str, lr: float | None = None, parameters: Mapping[str, float] | None = None
) -> Lesson:
    """Build the graph of a built-in lesson; ``backward()`` is not called.

    ``name`` is one of ``EXAMPLE_NAMES``. ``lr`` overrides the learning rate (a positive number;
    default: the case study's 0.1 for 2-2-1, ours for the others). ``parameters`` overrides some
    or all parameter values by name (e.g. ``{"W2[0]": 0.5}``); unknown names raise ValueError.
    """
    return build_lesson(example_spec(_check_example_name(name)), lr=lr, parameters=parameters)


def iterate_training(
    name: str, steps: int, lr: float | None = None, parameters: Mapping[str, float] | None = None
) -> Iterator[Lesson]:
    """Yield the built-in lesson before training and after each of ``steps`` updates."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a whole number >= 0, got {steps!r}")
    return iterate_lesson(build_example(name, lr=lr, parameters=parameters), steps)
