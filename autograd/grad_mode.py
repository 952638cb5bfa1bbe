"""Switching graph recording on and off: `no_grad()` and `is_grad_enabled()`."""

from __future__ import annotations

import contextlib


class _GradMode:
    """Holds the one flag every operation reads before it records a node."""

    __slots__ = ("enabled",)

    def __init__(self) -> None:
        self.enabled = True


# One module-level object, so the hot path in value.py reads a single attribute.
GRAD_MODE = _GradMode()


def is_grad_enabled() -> bool:
    """Return True when operations record their parents (the default), False inside `no_grad()`."""
    return GRAD_MODE.enabled


class no_grad(contextlib.ContextDecorator):  # noqa: N801 - named like torch.no_grad, which users know
    """Context manager (or decorator) under which operations record no graph.

    Results computed inside are plain leaves: they have data but no parents, so nothing is kept
    alive for a later ``backward()``. Use it to evaluate a model or to update parameters::

        with no_grad():
            prediction = model(x)

    Nesting is allowed; the previous mode is restored on exit, even when an exception escapes.
    """

    def __init__(self) -> None:
        # A stack, not one field: the same instance may be entered again while active
        # (a decorated function that calls itself).
        self._previous: list[bool] = []

    def __enter__(self) -> no_grad:
        self._previous.append(GRAD_MODE.enabled)
        GRAD_MODE.enabled = False
        return self

    def __exit__(self, *exc_info: object) -> None:
        GRAD_MODE.enabled = self._previous.pop()
