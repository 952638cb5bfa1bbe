"""Bad input to the engine: a clear error naming the problem, and the user's values unchanged."""

from __future__ import annotations

import operator
import re

import pytest

from autograd import Value


@pytest.mark.parametrize("bad", ["abc", None, [1, 2], (1.0,), {"a": 1}, 1 + 2j, True])
def test_value_rejects_non_numbers_with_type_error(bad):
    with pytest.raises(TypeError, match="real number"):
        Value(bad)


def test_value_of_value_says_so():
    with pytest.raises(TypeError, match="already a Value"):
        Value(Value(1.0))


def test_label_must_be_a_string():
    with pytest.raises(TypeError, match="label must be a str"):
        Value(1.0, label=3)


BINARY_OPS = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}


@pytest.mark.parametrize("op", sorted(BINARY_OPS))
def test_operand_of_wrong_type_is_a_type_error_naming_op(op):
    apply = BINARY_OPS[op]
    with pytest.raises(TypeError, match=rf"(other operand of|exponent of) '{re.escape(op)}'"):
        apply(Value(1.0), "x")
    with pytest.raises(TypeError):
        apply("x", Value(1.0))


def test_log_of_negative_names_op_value_and_label():
    with pytest.raises(ValueError, match=r"log.*'z'.*-1"):
        Value(-1.0, "z").log()
    with pytest.raises(ValueError, match="log"):
        Value(0.0).log()


def test_zero_to_negative_power_is_value_error():
    with pytest.raises(ValueError, match=r"0 \*\* -1"):
        Value(0.0) ** -1


def test_negative_to_fractional_power_is_value_error_naming_label():
    with pytest.raises(ValueError, match=r"'n'.*-8.*\*\*0.5"):
        Value(-8.0, "n") ** 0.5


def test_division_by_zero_names_denominator():
    with pytest.raises(ZeroDivisionError, match="'d'"):
        Value(1.0) / Value(0.0, "d")
    with pytest.raises(ZeroDivisionError):
        Value(1.0) / 0


def test_sqrt_of_negative_is_value_error():
    with pytest.raises(ValueError, match="sqrt"):
        Value(-4.0).sqrt()


def test_value_exponent_needs_positive_base():
    with pytest.raises(ValueError, match="positive base"):
        Value(-2.0) ** Value(2.0)


def test_failed_operation_leaves_operands_unchanged():
    a = Value(-1.0, "a")
    a.grad = 0.25
    with pytest.raises(ValueError):
        a.log()
    assert (a.data, a.grad, a.label, a.parents) == (-1.0, 0.25, "a", ())


def test_nan_and_inf_data_are_allowed():
    assert Value(float("inf")).data == float("inf")
    nan = Value(float("nan")).data
    assert nan != nan
