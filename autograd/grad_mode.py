"""Switching graph recording on and off, per thread: `no_grad()` and `is_grad_enabled()`."""

from __future__ import annotations

import contextlib
import threading


class _ThreadMode(threading.local):
    """Whether the current thread records; the class attribute is every new thread's default."""

    enabled = True


class _GradMode:
    """What every operation reads before it records a node.

    Recording is per thread, as in PyTorch: a thread evaluating a model inside ``no_grad()``
    must not switch recording off for another thread that is training. A thread-local read
    costs about three times a plain attribute read, on every node made, so the hot path reads
    ``off`` first: the number of threads now inside ``no_grad()``, almost always 0, in which
    case every thread records. Only while some thread has recording off does a node's
    creation look at its own thread's flag (``recording()``).
    """

    __slots__ = ("off", "thread", "_lock")

    def __init__(self) -> None:
        self.off = 0
        self.thread = _ThreadMode()
        self._lock = threading.Lock()

    def recording(self) -> bool:
        """True when the calling thread records (the slow path of ``not off or ...``)."""
        return self.thread.enabled

    def set(self, enabled: bool) -> bool:
        """Set the calling thread's mode; return the previous one."""
        thread = self.thread
        previous = thread.enabled
        if previous != enabled:
            with self._lock:
                # Count first when switching off, last when switching back on, so a thread
                # whose flag is off is always counted.
                if not enabled:
                    self.off += 1
                    thread.enabled = False
                else:
                    thread.enabled = True
                    self.off -= 1
        return previous


# One module-level object, so the hot path in value.py reads a single attribute.
GRAD_MODE = _GradMode()


def is_grad_enabled() -> bool:
    """Return True when operations record their parents (the default), False inside `no_grad()`.

    The mode belongs to the calling thread: ``no_grad()`` in one thread leaves others recording.
    """
    return GRAD_MODE.thread.enabled


class _GradModeSwitch(contextlib.ContextDecorator):
    """Context manager (or decorator) that sets the calling thread's mode for a block."""

    enabled = True  # the mode inside the block

    def __init__(self) -> None:
        # A stack per thread, not one field: the same instance may be entered again while
        # active (a decorated function that calls itself, or runs in two threads at once).
        self._previous = threading.local()

    def _stack(self) -> list[bool]:
        stack = getattr(self._previous, "stack", None)
        if stack is None:
            stack = self._previous.stack = []
        return stack

    def __enter__(self) -> _GradModeSwitch:
        self._stack().append(GRAD_MODE.set(self.enabled))
        return self

    def __exit__(self, *exc_info: object) -> None:
        GRAD_MODE.set(self._stack().pop())


class no_grad(_GradModeSwitch):  # noqa: N801 - named like torch.no_grad, which users know
    """Context manager (or decorator) under which operations record no graph.

    Results computed inside are leaves without parents: they have data but nothing is kept
    alive for a later ``backward()``. Use it to evaluate a model or to update parameters::

        with no_grad():
            prediction = model(x)

    Such a result remembers that it was computed without its graph: a ``backward()`` that can
    reach only such results raises (a gradient cannot flow through them to the Values they came
    from), as PyTorch's "does not require grad" does. Functions that need a graph
    (``grad(create_graph=True)``, ``hessian``, ``gradcheck``, ``gradgradcheck``, ``nn.fit``)
    record their own inside ``no_grad()`` too.

    Nesting is allowed; the previous mode is restored on exit, even when an exception escapes.
    It switches recording off for the current thread only (each thread starts with it on).
    """

    enabled = False


class enable_grad(_GradModeSwitch):  # noqa: N801 - named like torch.enable_grad
    """Context manager (or decorator) under which operations record, even inside ``no_grad()``.

    What the engine's graph-needing functions use, so that they work whatever the caller's mode.
    """

    enabled = True
