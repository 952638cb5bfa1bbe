"""Training loop: `fit` a model on arrays in mini-batches, `predict` with it, measure accuracy."""

# ruff: noqa: N803, N806 - X (capital) is the usual name for a data matrix, as in the brief

from __future__ import annotations

import gc
import math
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from autograd import Value, enable_grad, no_grad
from nn.losses import LABEL_LOSSES, LOSSES, get_loss, l2_penalty
from nn.module import Module
from nn.optim import Optimizer, make_optimizer

DEFAULT_LR = {"sgd": 0.1, "adam": 0.01}


@dataclass
class History:
    """What ``fit`` measured, one entry per epoch.

    ``loss`` is the mean training loss over the epoch's samples (including the L2 term if any);
    ``accuracy`` the fraction of training samples classified correctly during the epoch, measured
    on the outputs each mini-batch produced before its update (``None`` when the targets are
    not class labels). ``history["loss"]`` works too.
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float | None] = field(default_factory=list)

    def __getitem__(self, key: str) -> list[Any]:
        if key not in ("loss", "accuracy"):
            raise KeyError(f"History has 'loss' and 'accuracy', not {key!r}")
        return getattr(self, key)

    def __len__(self) -> int:
        return len(self.loss)


# ---------------------------------------------------------------------------------------------
# Checking arrays
# ---------------------------------------------------------------------------------------------


def _nin_nout(model: Module) -> tuple[int, int]:
    try:
        return model.nin, model.layers[-1].nout
    except AttributeError:
        raise TypeError(
            f"expected an nn.MLP-like model (with nin and layers), got {type(model).__name__}"
        ) from None


def check_inputs(model: Module, X: Any) -> np.ndarray:
    """X as a float array (n, nin), or a clear error about its shape or a NaN in it."""
    nin, _ = _nin_nout(model)
    try:
        X = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("X must be a rectangular table of numbers (n samples x nin)") from None
    if X.ndim == 1 and nin == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2 or X.shape[1] != nin:
        raise ValueError(
            f"X must have shape (n, {nin}) for a model with {nin} inputs, got {X.shape}"
        )
    if X.shape[0] == 0:
        raise ValueError("X holds no samples")
    bad = np.argwhere(~np.isfinite(X))
    if bad.size:
        i, j = bad[0]
        raise ValueError(f"X[{i}, {j}] is {float(X[i, j])!r}: the data must not contain NaN or inf")
    return X


def _targets(y: Any, n: int, nout: int, loss_name: str | None) -> list[Any]:
    """y as a list with one target per sample, shaped as the loss functions expect."""
    y = np.asarray(y)
    if y.shape[:1] != (n,):
        raise ValueError(f"y must have one target per sample ({n}), got shape {y.shape}")
    if y.dtype.kind not in "biuf":
        raise ValueError(f"y must hold numbers, got dtype {y.dtype}")
    if y.dtype.kind == "f":
        bad = np.argwhere(~np.isfinite(y))
        if bad.size:
            raise ValueError(
                f"y[{', '.join(map(str, bad[0]))}] is not finite: targets must not be NaN or inf"
            )
    if loss_name in LABEL_LOSSES:
        if y.ndim != 1:
            raise ValueError(f"{loss_name} needs class labels y of shape (n,), got {y.shape}")
        return [int(t) if float(t).is_integer() else float(t) for t in y.tolist()]
    if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1 and nout == 1):
        return [float(t) for t in y.reshape(-1).tolist()]
    if y.ndim == 2:
        return [[float(t) for t in row] for row in y.tolist()]
    raise ValueError(f"y must have shape (n,) or (n, {nout}), got {y.shape}")


def _check_targets(loss: Callable[..., Value], targets: list[Any], nout: int) -> None:
    """Run each target through the loss on dummy outputs, so bad targets fail before training."""
    dummy = [Value(0.5 if nout == 1 else 1.0 / nout) for _ in range(nout)]
    with no_grad():
        for i, t in enumerate(targets):
            try:
                loss(dummy, t)
            except (TypeError, ValueError) as error:
                raise type(error)(f"sample {i}: {error}") from None


# ---------------------------------------------------------------------------------------------
# Decisions and accuracy
# ---------------------------------------------------------------------------------------------


def decide(outputs: np.ndarray, loss: str | None = None) -> np.ndarray:
    """Class predictions from output values (n, nout), following the loss' label convention.

    Several outputs: the index of the largest. One output: ``hinge`` -> +1 if > 0 else -1;
    ``binary_cross_entropy_with_logits`` -> 1 if > 0; anything else (probabilities, or squared
    errors on 0/1 targets) -> 1 if > 0.5 else 0.
    """
    outputs = np.asarray(outputs, dtype=float)
    if outputs.ndim == 1:
        outputs = outputs.reshape(-1, 1)
    if outputs.shape[1] > 1:
        return np.argmax(outputs, axis=1)
    s = outputs[:, 0]
    if loss == "hinge":
        return np.where(s > 0.0, 1, -1)
    if loss == "binary_cross_entropy_with_logits":
        return (s > 0.0).astype(np.int64)
    return (s > 0.5).astype(np.int64)


def _accuracy_rule(
    targets: list[Any], loss_name: str | None, nout: int
) -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
    """How to score a batch: ``correct(outputs (m, nout), targets (m,...)) -> bool (m,)``, or
    None when the targets are not class labels (plain regression: no accuracy)."""
    y = np.asarray(targets, dtype=float)
    if loss_name in LABEL_LOSSES:
        return lambda out, t: np.argmax(out, axis=1) == t
    if y.ndim == 2:
        one_hot = bool(np.all(np.isin(y, (0.0, 1.0))) and np.all(y.sum(axis=1) == 1.0))
        return (lambda out, t: np.argmax(out, axis=1) == np.argmax(t, axis=1)) if one_hot else None
    if not np.all(y == np.round(y)):
        return None
    if nout > 1:  # integer labels with a multi-output elementwise loss: argmax is the class
        return lambda out, t: np.argmax(out, axis=1) == t
    if loss_name in ("hinge", "binary_cross_entropy_with_logits", "binary_cross_entropy"):
        return lambda out, t: decide(out, loss_name) == t
    # Squared errors (or a custom loss) on integer labels: the nearest label value wins.
    classes = np.unique(y)
    return lambda out, t: classes[np.argmin(np.abs(out[:, :1] - classes), axis=1)] == t


# ---------------------------------------------------------------------------------------------
# Progress display
# ---------------------------------------------------------------------------------------------


class _Progress:
    """Shows epochs as they finish: a tqdm bar if tqdm is installed, else a line every ~10%."""

    def __init__(self, epochs: int, progress: bool | None, stream: TextIO) -> None:
        interactive = hasattr(stream, "isatty") and stream.isatty()
        self.enabled = progress is True or (progress is None and interactive)
        self.epochs = epochs
        self.stream = stream
        self.every = max(1, epochs // 10)
        self.bar = None
        if self.enabled:
            try:
                from tqdm.auto import tqdm  # optional extra: pip install stepgrad[progress]
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=epochs, file=stream, unit="epoch", desc="fit")

    def update(self, epoch: int, loss: float, accuracy: float | None) -> None:
        if not self.enabled:
            return
        acc = "" if accuracy is None else f", accuracy {accuracy:.1%}"
        if self.bar is not None:
            self.bar.set_postfix_str(f"loss {loss:.4g}{acc}", refresh=False)
            self.bar.update(1)
        elif (epoch + 1) % self.every == 0 or epoch + 1 == self.epochs:
            width = len(str(self.epochs))
            print(
                f"epoch {epoch + 1:>{width}}/{self.epochs}: loss {loss:.6g}{acc}", file=self.stream
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ---------------------------------------------------------------------------------------------
# The garbage collector during a training step
# ---------------------------------------------------------------------------------------------


class _CollectorPause:
    """``pause()`` turns Python's cyclic garbage collector off for a step and ``resume()`` turns
    it back on after it (also on an exception, KeyboardInterrupt included), if it was on before.

    Why: a step builds a graph of tens of thousands of Values, and every 700 allocations the
    collector scans the young ones; survivors are scanned again in the older generations, and
    the whole heap now and then. None of it frees anything: the graph holds no reference cycles,
    so reference counting frees it the moment the step lets go of it. Measured on micrograd's
    demo step (MLP 2-16-16-1, fine-grained graph, 2 cores), ms per step with 100 / 400 samples:
    collector as usual 62 / 391; ``gc.freeze()`` before training 57 / 334 (it only spares the
    objects that existed before); thresholds raised to (100000, 50, 100) 49 / 225 (fine while a
    graph is smaller than the threshold, scanned again when it is larger); paused during the
    step 49 / 203. Pausing removes the scans whatever the size of the batch, so it is the one
    used. The same 100 epochs through ``fit``: 8.3 s before (collector as usual, and the
    previous step's graph still alive while the next one was built), 4.8 s now.

    Why only around the step, not all of ``fit``: between steps the collector runs as usual, so
    cycles made by a custom loss or a callback are still freed at the usual pace (at most one
    step's worth waits), and memory stays bounded. The step's graph is released before the
    collector is back on, so that it is never scanned.

    The collector's state is process-wide, while fit may run in several threads at once: the
    set of threads now pausing, under a lock, makes the first pause remember whether the
    collector was on and the last one restore exactly that. Thresholds are never touched, and a
    collector the user had disabled stays disabled.

    Ctrl-C can land anywhere, also inside ``pause`` and ``resume``. Both are idempotent (a
    thread is in the set or not; there is no count to get out of step), so the caller runs
    ``resume`` in a ``finally`` and simply runs it again if a second Ctrl-C interrupts it: the
    collector is always back as it was (before, 34 of 600 interrupts left it off for good).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pausing: set[int] = set()  # the threads now inside a pause
        self._was_enabled = False  # the collector's state before the first of them

    def pause(self) -> None:
        """Turn the collector off for the calling thread's step (call resume() in a finally)."""
        with self._lock:
            if not self._pausing:
                self._was_enabled = gc.isenabled()
            self._pausing.add(threading.get_ident())  # before disabling: resume() undoes it
            gc.disable()

    def resume(self) -> None:
        """End the calling thread's pause; the last one to end turns the collector back on."""
        with self._lock:
            self._pausing.discard(threading.get_ident())
            if not self._pausing:
                if self._was_enabled:
                    gc.enable()
                self._was_enabled = False  # a resume() run again, or one without pause(): no-op


_PAUSE_COLLECTOR = _CollectorPause()


class _Snapshot:
    """The parameters' data and gradients and the optimizer's state, to undo a partial step.

    The optimizer's state is every attribute but its parameter list: numbers are kept as they
    are, lists and dicts (momentum, Adam's moments) are copied, since ``step()`` changes them in
    place. ``restore()`` only assigns, so running it twice is the same as running it once.
    """

    __slots__ = ("params", "data", "grads", "optimizer", "state")

    def __init__(self, params: list[Value], optimizer: Optimizer) -> None:
        self.params = params
        self.data = [p.data for p in params]
        self.grads = [p.grad for p in params]
        self.optimizer = optimizer
        self.state = {
            k: (v.copy() if isinstance(v, (list, dict)) else v)
            for k, v in vars(optimizer).items()
            if k != "params"
        }

    def restore(self) -> None:
        for p, data, grad in zip(self.params, self.data, self.grads):
            p.data = data
            p.grad = grad
        for k, v in self.state.items():
            setattr(self.optimizer, k, v.copy() if isinstance(v, (list, dict)) else v)


# ---------------------------------------------------------------------------------------------
# fit / predict
# ---------------------------------------------------------------------------------------------


def fit(
    model: Module,
    X: Any,
    y: Any,
    *,
    loss: str | Callable[..., Value] = "mse",
    optimizer: Optimizer | str = "adam",
    lr: float | Callable[[int], float] | None = None,
    epochs: int = 100,
    batch_size: int | None = None,
    alpha: float = 0.0,
    seed: int | None = 0,
    progress: bool | None = None,
    stream: TextIO | None = None,
    callback: Callable[[int, float, float | None], None] | None = None,
    compiled: bool = False,
) -> History:
    """Train ``model`` on samples ``X`` (n, nin) with targets ``y``; returns a :class:`History`.

    * ``loss``: a name from :data:`nn.losses.LOSSES` or a callable ``loss(outputs, targets)``.
      ``y`` holds class indices for "softmax_cross_entropy"/"cross_entropy", -1/+1 for "hinge",
      and otherwise one number per sample (one output) or per output (shape (n, nout)).
    * ``optimizer``: an :class:`nn.optim.Optimizer` over ``model.parameters()``, or "sgd"/"adam"
      with learning rate ``lr`` (default 0.1 / 0.01; a schedule ``lr(step)`` works too).
    * ``batch_size``: samples per update (None: the whole set, one update per epoch). The order
      is reshuffled each epoch with a Generator seeded by ``seed``, so runs are repeatable.
    * ``alpha``: adds ``alpha * sum(p*p)`` over the parameters (L2, as in micrograd's demo).
    * ``progress``: None shows progress when ``stream`` (default stderr) is a terminal, True
      always, False never. ``callback(epoch, loss, accuracy)`` is called after each epoch.
    * ``compiled``: run each mini-batch through one sample's graph compiled to plain Python
      (``nn.compiled_fit``): the same numbers, many times faster. Where it cannot (a custom
      loss, a model that is not an ``nn.MLP``, ...) a warning says why and fit trains as usual.

    Everything is checked before the first update: bad shapes, NaN in the data, unknown names
    or out-of-range labels raise a clear error with the model unchanged.

    **Garbage collector.** While each mini-batch's graph is built, back-propagated and used for
    the update, Python's cyclic garbage collector is paused (``gc.disable()``); it is switched
    back on as soon as the step has let go of its graph, before the progress display and the
    callback run. The graph holds no reference cycles, so the collector had nothing to free in
    it; skipping its scans (and releasing each graph before the next is built) took 100 epochs
    of micrograd's demo, fine-grained, from 8.3 s to 4.8 s. The collector is
    restored on every way out of a step, exceptions and KeyboardInterrupt included; if it was
    disabled when ``fit`` was called it stays disabled, and its thresholds are never changed.

    **Interrupted.** Each step is all or nothing: after Ctrl-C (or any exception) the model's
    parameters, their gradients and the optimizer's state are as at the end of the last whole
    step. ``fit`` records its graphs inside ``no_grad()`` too (training needs them).
    """
    # 1. Check everything before touching the model.
    nin, nout = _nin_nout(model)
    loss_name = loss if isinstance(loss, str) else None
    loss_fn = get_loss(loss)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    X = check_inputs(model, X)
    n = X.shape[0]
    if batch_size is None:
        batch_size = n
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int or None, got {batch_size!r}")
    targets = _targets(y, n, nout, loss_name)
    if loss_name is not None:  # a custom loss may accept only batches: not probed
        _check_targets(loss_fn, targets, nout)
    if alpha:
        l2_penalty(model.parameters(), alpha)  # checks alpha
    optimizer = _optimizer(model, optimizer, lr)
    correct = _accuracy_rule(targets, loss_name, nout)
    y_all = np.asarray(targets, dtype=float)

    # 2. Train.
    rng = np.random.default_rng(seed)
    samples = X.tolist()
    params = model.parameters()
    history = History()
    step = None
    if compiled:  # see nn/compiled_fit.py
        from nn.compiled_fit import compiled_step

        with enable_grad():  # it traces one sample's graph: inside no_grad() too
            step = compiled_step(model, loss_fn, loss_name, samples, targets, alpha, optimizer)
    bar = _Progress(epochs, progress, sys.stderr if stream is None else stream)
    try:
        for epoch in range(epochs):
            order = rng.permutation(n) if batch_size < n else np.arange(n)
            total, hits = 0.0, 0
            for start in range(0, n, batch_size):
                index = order[start : start + batch_size].tolist()
                # One step, all or nothing: if anything interrupts it (Ctrl-C included) before
                # the optimizer has finished, the parameters, their gradients and the
                # optimizer's state are put back as they were, so the model is always at the
                # end of a whole step. The snapshot is about 1 % of a step's time.
                snapshot = _Snapshot(params, optimizer)
                updated = False
                try:
                    _PAUSE_COLLECTOR.pause()  # see _CollectorPause for why
                    done = None if step is None else step(index)  # None: not finite, or off
                    if done is not None:  # the compiled step has updated the parameters
                        updated = True
                        total += done[0] * len(index)
                        if correct is not None:
                            hits += int(np.sum(correct(done[1], y_all[index])))
                        continue
                    with enable_grad():  # fit records its graph inside no_grad() too
                        outputs = [model(samples[i]) for i in index]
                        value = loss_fn(outputs, [targets[i] for i in index])
                        if alpha:
                            value = value + l2_penalty(params, alpha)
                    optimizer.zero_grad()
                    value.backward()
                    optimizer.step()
                    updated = True
                    total += value.data * len(index)
                    if correct is not None:
                        out = np.array([[o.data for o in row] for row in outputs])
                        hits += int(np.sum(correct(out, y_all[index])))
                    # Let go of the graph here, while the collector is still paused: freed by
                    # reference counting now, it is never scanned (and the next step's graph
                    # is not built while this one is still alive).
                    del outputs, value
                except BaseException:
                    # Inline, not in a function: Python delivers Ctrl-C at a call, before a try
                    # inside the callee could catch it. A second Ctrl-C restarts the restore
                    # (it is idempotent) rather than leaving it half done. Nested, not a loop:
                    # a loop's jump back is itself a point where Ctrl-C is delivered, outside
                    # any try (two Ctrl-Cs 0-0.2 ms apart escaped a loop 3 times in 3,000).
                    if not updated:
                        try:
                            snapshot.restore()
                        except KeyboardInterrupt:
                            try:
                                snapshot.restore()
                            except KeyboardInterrupt:
                                snapshot.restore()
                    raise
                finally:
                    # The same for the collector: resume() is idempotent, so a Ctrl-C inside it
                    # runs it again (nested, as above), and is raised once the collector is back.
                    interrupt = None
                    try:
                        _PAUSE_COLLECTOR.resume()
                    except KeyboardInterrupt as error:
                        interrupt = error
                        try:
                            _PAUSE_COLLECTOR.resume()
                        except KeyboardInterrupt as again:
                            interrupt = again
                            _PAUSE_COLLECTOR.resume()
                    if interrupt is not None:
                        raise interrupt
            history.loss.append(total / n)
            history.accuracy.append(hits / n if correct is not None else None)
            bar.update(epoch, history.loss[-1], history.accuracy[-1])
            if callback is not None:
                callback(epoch, history.loss[-1], history.accuracy[-1])
    finally:
        bar.close()
    return history


def _optimizer(model: Module, optimizer: Optimizer | str, lr: Any) -> Optimizer:
    if isinstance(optimizer, Optimizer):
        if lr is not None:
            raise ValueError("lr is set on the optimizer you passed; do not also pass lr to fit")
        mine = {id(p) for p in model.parameters()}
        if not any(id(p) in mine for p in optimizer.params):
            raise ValueError(
                "the optimizer holds none of this model's parameters "
                "(build it with model.parameters())"
            )
        return optimizer
    if not isinstance(optimizer, str):
        raise TypeError(
            f"optimizer must be an Optimizer or 'sgd'/'adam', got {type(optimizer).__name__}"
        )
    name = optimizer.lower()
    return make_optimizer(
        name, model.parameters(), lr=DEFAULT_LR.get(name, 0.01) if lr is None else lr
    )


def predict(model: Module, X: Any) -> np.ndarray:
    """The model's outputs for every row of X, as a float array (n, nout); records no graph."""
    X = check_inputs(model, X)
    with no_grad():
        return np.array([[o.data for o in model(x)] for x in X.tolist()])


def predict_classes(model: Module, X: Any, loss: str | None = None) -> np.ndarray:
    """Class predictions for every row of X (see :func:`decide` for the rule per loss)."""
    if loss is not None and not callable(loss) and loss not in LOSSES:
        get_loss(loss)  # raises, listing valid names
    return decide(predict(model, X), loss)


def accuracy(model: Module, X: Any, y: Any, loss: str | None = None) -> float:
    """Fraction of rows of X whose predicted class (:func:`predict_classes`) equals y."""
    predicted = predict_classes(model, X, loss)
    y = np.asarray(y).reshape(-1)
    if y.shape != predicted.shape:
        raise ValueError(f"y has {y.size} labels for {predicted.size} samples")
    if math.isnan(float(np.sum(y, dtype=float))):
        raise ValueError("y contains NaN")
    return float(np.mean(predicted == y))
