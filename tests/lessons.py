"""Test helper: lesson files made up for the tests and benchmarks (a network of any width)."""

from __future__ import annotations

import json
import math


def wide_lesson(sizes: tuple[int, ...] = (2, 16, 16, 1)) -> str:
    """A lesson of layers ``sizes`` (tanh hidden layers, sigmoid output) as JSON text, its
    weights from a fixed formula: 2-16-16-1 by default, the wide network of the lab's tests."""
    layers = []
    for n, (fan_in, units) in enumerate(zip(sizes, sizes[1:])):
        weights = [[round(math.sin(1.7 * j + 0.9 * i + n) * 0.5, 3) for i in range(fan_in)]
                   for j in range(units)]  # fmt: skip
        last = n == len(sizes) - 2
        layers.append({"activation": "sigmoid" if last else "tanh",
                       "orientation": "[unit][input]", "weights": weights,
                       "biases": [0.1] * units})  # fmt: skip
    return json.dumps({
        "name": "2-16-16-1", "title": "a wide network", "source": "a generated example",
        "learning_rate": 0.5, "inputs": [0.5, -0.3], "targets": [0.8], "layers": layers,
        "loss": {"kind": "squared_error"},
    })  # fmt: skip
