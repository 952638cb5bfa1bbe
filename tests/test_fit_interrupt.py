"""Ctrl-C, once or twice, anywhere: backward() leaves whole passes, fit() leaves whole steps, and
the garbage collector always comes back on.

Two kinds of interruption: real ones (a timer signal in the main thread, delivered as
Ctrl-C does: the signal is handled at the next point the interpreter checks) and injected ones
at a line hypothesis picks (a trace function raising KeyboardInterrupt, as in
tests/test_engine_interrupt.py), twice in a row, so that the second lands while the first is
being cleaned up.
"""

from __future__ import annotations

import contextlib
import gc
import linecache
import os
import random
import signal
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value
from nn import MLP
from nn.optim import Adam
from nn.training import _PAUSE_COLLECTOR, fit
from tests.randgraph import build, recipes

_ENGINE = tuple(
    os.path.join("autograd", name)
    for name in ("fast_backward.py", "reference_backward.py", "gradient_graphs.py", "graph.py")
)
_TRAINING = (*_ENGINE, os.path.join("nn", "training.py"), os.path.join("nn", "optim.py"))


class _Injector:
    """Raises KeyboardInterrupt at the given counts of lines executed in the given files."""

    def __init__(
        self, files: tuple[str, ...], at: set[int], watch: str = "", calls_only: bool = False
    ) -> None:
        self.files, self.at, self.lines, self.fired = files, at, 0, 0
        self.watch, self.seen = watch, 0  # the count at which a line starting so first ran
        # Only where CPython delivers Ctrl-C: a call (on entering the callee or after a built-in
        # returns) or a loop's jump back; never at `x = None`, `try:`, `except ...:`, `raise`.
        self.calls_only = calls_only

    def __call__(self, frame, event, arg):
        if not frame.f_code.co_filename.endswith(self.files):
            return None
        line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).lstrip()
        # A `with` line comes just before a lock's release: Ctrl-C is never delivered there
        # (see tests/test_engine_interrupt.py); injecting it would be the injector's fault.
        if event == "line" and not line.startswith("with "):
            if self.calls_only and "(" not in line and not line.startswith(("while ", "for ")):
                return self
            self.lines += 1
            if self.watch and not self.seen and line.startswith(self.watch):
                self.seen = self.lines
            if self.lines in self.at:
                self.fired += 1
                raise KeyboardInterrupt
        return self

    def run(self, f):
        sys.settrace(self)
        try:
            return f()
        finally:
            sys.settrace(None)


# -- backward(): a second Ctrl-C while the first is being undone ----------------------------------


def _graph(recipe, olds):
    leaves = [Value(x) for x in recipe[0]]
    for leaf, old in zip(leaves, olds):
        leaf.grad = old
    return leaves, build(recipe, leaves)


@pytest.mark.parametrize("create_graph", [False, True])
@settings(max_examples=60, deadline=None)
@given(
    recipe=recipes,
    olds=st.lists(st.one_of(st.none(), st.floats(-3, 3)), min_size=4, max_size=4),
    where=st.floats(0.0, 1.0, exclude_max=True),
    gap=st.integers(1, 12),
)
def test_second_interrupt_in_backward_never_leaves_leaves_half_restored(
    create_graph, recipe, olds, where, gap
):
    def run(root):
        return root.backward(create_graph=create_graph)

    counter = _Injector(_ENGINE, set())
    _, counted = _graph(recipe, olds)
    counter.run(lambda: run(counted))
    first = 1 + int(where * counter.lines)

    leaves, root = _graph(recipe, olds)
    injector = _Injector(_ENGINE, {first, first + gap})
    with pytest.raises(KeyboardInterrupt):
        injector.run(lambda: run(root))
    before = [v.grad for v in _graph(recipe, olds)[0]]
    done_leaves, done_root = _graph(recipe, olds)
    run(done_root)
    after = [v.grad for v in done_leaves]
    assert [v.grad for v in leaves] in (before, after)


# -- fit(): whole steps and the collector, under real and injected interrupts ----------------------

X = np.random.default_rng(3).normal(size=(12, 2))
Y = (X[:, 0] * X[:, 1] > 0).astype(float)


def _model_and_optimizer():
    model = MLP(2, [6, 1], seed=1)
    return model, Adam(model.parameters(), lr=0.05)


def _state(model, optimizer):
    params = [p.data for p in model.parameters()]
    return params, optimizer.steps, list(optimizer.m), list(optimizer.v)


def _after_whole_steps(k: int):
    """The model and optimizer after k whole steps (full batch: one step per epoch)."""
    model, optimizer = _model_and_optimizer()
    if k:
        fit(model, X, Y, optimizer=optimizer, epochs=k, progress=False)
    return _state(model, optimizer)


def _check_whole_steps_and_collector(model, optimizer):
    assert gc.isenabled(), "fit left the garbage collector off"
    assert not _PAUSE_COLLECTOR._pausing
    assert _state(model, optimizer) == _after_whole_steps(optimizer.steps)


RETRY = 0.05  # seconds between further interrupts, while fit goes on after a dropped one


def _interrupt_fit(delays: list[float]):
    """Run fit in this (the main) thread with a real signal after each delay.

    A timer signal (SIGALRM from ``setitimer``) reaches the main thread the way Ctrl-C's SIGINT
    does: the handler runs at the next point the interpreter checks, wherever fit is. (A thread
    calling ``_thread.interrupt_main`` was first used here, but on a loaded machine that thread
    could wait seconds for the interpreter lock, and fit then ended before any interrupt.) The
    handler raises KeyboardInterrupt as Python's SIGINT handler does, and arms the next delay
    first, so that a second interrupt can land while the first is being cleaned up. Only while
    fit may be running: one that comes after fit has stopped is dropped.

    An interrupt that lands inside a garbage-collector callback (hypothesis registers one) is
    reported and dropped by Python, as a real Ctrl-C there would be, and fit goes on. So after
    the given delays the handler keeps interrupting every RETRY seconds until fit has stopped: a
    dropped interrupt is followed by another, and fit always ends interrupted.
    """
    armed = [True]
    later = [max(d, 1e-6) for d in delays[1:]]  # setitimer(0) would switch the timer off

    def handler(signum, frame):
        if not armed[0]:
            return
        signal.setitimer(signal.ITIMER_REAL, later.pop(0) if later else RETRY)
        raise KeyboardInterrupt

    model, optimizer = _model_and_optimizer()
    previous = signal.signal(signal.SIGALRM, handler)
    interrupted = False
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, max(delays[0], 1e-6))
            fit(model, X, Y, optimizer=optimizer, epochs=5_000, progress=False)  # outlasts them
        finally:
            armed[0] = False  # the first thing after fit, however it ends
    except KeyboardInterrupt:  # from fit, or a retry landing just before the line above
        interrupted = True
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert interrupted
    return model, optimizer


# An interrupt that lands in a garbage-collector callback is reported and dropped by Python (see
# _interrupt_fit, which then interrupts again): expected, not a failure.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_real_interrupts_leave_whole_steps_and_the_collector_on():
    assert gc.isenabled()
    rng = random.Random(7)
    for _ in range(40):
        model, optimizer = _interrupt_fit([rng.uniform(0.0, 0.05)])
        _check_whole_steps_and_collector(model, optimizer)


# The same for either of two interrupts: one that lands in a garbage-collector callback is
# simply lost, as a real Ctrl-C there would be.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_two_real_interrupts_in_quick_succession():
    rng = random.Random(11)
    for _ in range(40):
        model, optimizer = _interrupt_fit([rng.uniform(0.0, 0.05), rng.uniform(0.0, 2e-4)])
        _check_whole_steps_and_collector(model, optimizer)


@settings(max_examples=40, deadline=None)
@given(where=st.floats(0.0, 1.0, exclude_max=True), gap=st.integers(1, 40))
def test_injected_interrupts_twice_anywhere_in_fit(where, gap):
    epochs = 2
    counter = _Injector(_TRAINING, set())
    model, optimizer = _model_and_optimizer()
    counter.run(lambda: fit(model, X, Y, optimizer=optimizer, epochs=epochs, progress=False))
    first = 1 + int(where * counter.lines)

    model, optimizer = _model_and_optimizer()
    injector = _Injector(_TRAINING, {first, first + gap})
    with contextlib.suppress(KeyboardInterrupt):
        injector.run(lambda: fit(model, X, Y, optimizer=optimizer, epochs=epochs, progress=False))
    assert injector.fired >= 1
    _check_whole_steps_and_collector(model, optimizer)
    # and the next fit works, and gives back the collector
    fit(model, X, Y, optimizer=optimizer, epochs=1, progress=False)
    assert gc.isenabled()


def test_two_interrupts_at_every_line_around_the_collectors_resume():
    # fit's step ends in a finally that turns the collector back on; it runs on every step, so
    # the first Ctrl-C can land in it on a step that went well, and the second just after it.
    # Every first line from a few before the resume to a few after, every second 1-8 lines
    # later: the collector is back on and the model at the end of a whole step. (A retry loop
    # there let the second escape at the loop's jump back, and left the collector off.)
    def train(model, optimizer, injector):
        with contextlib.suppress(KeyboardInterrupt):
            injector.run(lambda: fit(model, X, Y, optimizer=optimizer, epochs=2, progress=False))

    counter = _Injector(_TRAINING, set(), watch="_PAUSE_COLLECTOR.resume()", calls_only=True)
    train(*_model_and_optimizer(), counter)
    assert counter.seen, "the collector's resume was not found in fit"
    for first in range(counter.seen - 3, counter.seen + 6):
        for gap in range(1, 9):
            model, optimizer = _model_and_optimizer()
            injector = _Injector(_TRAINING, {first, first + gap}, calls_only=True)
            train(model, optimizer, injector)
            assert injector.fired >= 1
            _check_whole_steps_and_collector(model, optimizer)
