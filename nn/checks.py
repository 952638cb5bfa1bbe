"""Checking numbers handed to nn: one place for the wording of the errors."""

from __future__ import annotations

import math
import numbers


def finite_number(value: object, what: str) -> float:
    """``value`` as a float; TypeError if not a real number, ValueError if NaN or inf, naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{what} is {value!r}; it must be finite")
    return value
