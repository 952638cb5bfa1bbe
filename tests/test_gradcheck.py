"""gradcheck: quiet on agreement, a named error on disagreement, inputs left untouched."""

from __future__ import annotations

import math

import pytest

from autograd import GradcheckError, Value, gradcheck, ops


def test_gradcheck_passes_for_correct_ops():
    xs = [Value(0.3, "a"), Value(-1.2, "b"), Value(2.0, "c")]
    assert gradcheck(lambda a, b, c: (a * b).tanh() + c.log() * a.sigmoid() - b**2 / c, xs)


def test_gradcheck_leaves_inputs_data_and_grad_unchanged():
    a = Value(0.5, "a")
    a.grad = 7.0
    gradcheck(lambda a: a.exp(), [a])
    assert (a.data, a.grad) == (0.5, 7.0)


def test_gradcheck_names_input_and_both_numbers_on_a_wrong_derivative(monkeypatch):
    # A deliberately wrong rule: d tanh/dx = 1 (instead of 1 - tanh^2).
    monkeypatch.setattr(ops.TANH, "local", lambda out, x: (1.0,))
    x = Value(0.8, "x")
    expected_numeric = 1.0 - math.tanh(0.8) ** 2
    with pytest.raises(GradcheckError, match=r"'x'.*backward\(\) gives 1\.0.*central") as info:
        gradcheck(lambda x: x.tanh(), [x])
    assert f"{expected_numeric:.6f}"[:6] in str(info.value)


def test_gradcheck_rejects_non_value_inputs():
    with pytest.raises(TypeError, match="input 0"):
        gradcheck(lambda a: a, [1.0])
