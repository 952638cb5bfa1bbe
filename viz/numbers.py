"""How every page, sheet and drawing writes a number: one ``format_number`` for all of viz."""

from __future__ import annotations

import math

DIGITS = 6  # significant digits on a sheet; filled-in formulas reproduce the value to about 1e-5


def format_number(x: float, digits: int = DIGITS, minus: str = "−") -> str:
    """``x`` with ``digits`` significant digits; -0 shows as 0, NaN as "nan".

    ``minus`` is the sign written for negative numbers: the typographic "−" on sheets, "-" where
    a plain-ASCII spelling is wanted (drawings pass ``minus="-"``).
    """
    if math.isnan(x):
        return "nan"
    text = f"{x + 0.0:.{digits}g}"
    return text.replace("-", minus) if minus != "-" else text
