"""The cases where a new user, checking against PyTorch float64, once got a wrong number or a crash.

Each test is one row of the engine issue's table; the expected numbers are PyTorch's (float64)
semantics, worked out by hand in the comments.
"""

from __future__ import annotations

import math
import threading
import warnings

import pytest

from autograd import NonFiniteWarning, Value, is_grad_enabled, no_grad

# -- grad mode is per thread --------------------------------------------------------------------


def test_no_grad_in_another_thread_does_not_stop_this_thread_recording():
    inside = threading.Event()
    done = threading.Event()

    def evaluate():
        with no_grad():
            inside.set()
            done.wait(5)

    t = threading.Thread(target=evaluate)
    t.start()
    assert inside.wait(5)
    try:
        assert is_grad_enabled()  # the other thread's no_grad is not ours
        a = Value(2.0)
        y = a * a
        y.backward()
    finally:
        done.set()
        t.join()
    assert a.grad == 4.0  # d(a^2)/da = 2a


def test_new_thread_starts_recording_even_inside_no_grad_of_its_parent():
    seen = []
    with no_grad():
        t = threading.Thread(target=lambda: seen.append(is_grad_enabled()))
        t.start()
        t.join()
        assert not is_grad_enabled()
    assert seen == [True]


def test_training_keeps_its_gradients_while_other_threads_call_predict():
    np = pytest.importorskip("numpy")
    from nn import MLP, predict

    model = MLP(2, [4, 1], "tanh", "linear", seed=0)
    inputs = np.array([[0.5, -1.0], [1.5, 0.25]])
    stop = threading.Event()
    errors: list[BaseException] = []

    def keep_predicting():
        try:
            while not stop.is_set():
                predict(model, inputs)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=keep_predicting) for _ in range(2)]
    for t in threads:
        t.start()
    zero_steps = 0
    try:
        for _ in range(100):
            for p in model.parameters():
                p.grad = 0.0
            (out,) = model([0.3, -0.7])
            (out * out).backward()
            if all(p.grad == 0.0 for p in model.parameters()):
                zero_steps += 1
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors
    assert zero_steps == 0


# -- powers: sign, overflow, x ** 0 ---------------------------------------------------------------


@pytest.mark.parametrize(
    "base, exponent", [(-1e200, 3), (-10.0, 401), (-1e-200, -3)], ids=["cube", "odd", "recip"]
)
def test_overflowing_odd_power_of_negative_base_is_minus_inf(base, exponent):
    y = Value(base) ** exponent
    assert y.data == -math.inf  # negative base, odd exponent: negative, too large for a float
    assert y.sigmoid().data == 0.0


def test_overflowing_even_power_of_negative_base_is_plus_inf():
    assert (Value(-1e200) ** 2).data == math.inf


def test_derivative_of_x_to_the_zero_at_zero_is_zero():
    x = Value(0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x**0).backward()
    assert x.grad == 0.0  # x^0 is the constant 1


def test_overflowing_power_derivative_is_inf_with_a_warning():
    x = Value(1e200, "x")
    y = x**3
    with pytest.warns(NonFiniteWarning):
        y.backward()
    assert x.grad == math.inf  # 3 x^2 = 3e400


def test_overflowing_power_derivative_keeps_the_sign():
    x = Value(-1e200, "x")
    with pytest.warns(NonFiniteWarning):
        (x**4).backward()
    assert x.grad == -math.inf  # 4 x^3 < 0


def test_value_exponent_overflow_gives_inf_gradients_with_a_warning():
    a, b = Value(10.0, "a"), Value(400.0, "b")
    y = a**b
    assert y.data == math.inf
    with pytest.warns(NonFiniteWarning):
        y.backward()
    # d/da = b a^(b-1) = 400e399, d/db = a^b ln a: both beyond the largest float
    assert a.grad == math.inf and b.grad == math.inf


def test_overflow_in_a_product_of_the_chain_rule_warns():
    x, y = Value(1e-300, "x"), Value(1e300, "y")
    out = (x * y) * 1e300
    with pytest.warns(NonFiniteWarning):
        out.backward()
    assert x.grad == math.inf  # y * 1e300 = 1e600
    assert y.grad == pytest.approx(1e-300 * 1e300)


# -- relu of NaN ------------------------------------------------------------------------------


def test_relu_of_nan_is_nan():
    assert math.isnan(Value(math.nan).relu().data)


def test_relu_of_negative_zero_and_positive_unchanged():
    assert Value(-0.0).relu().data == 0.0
    assert Value(2.5).relu().data == 2.5
    assert Value(-2.5).relu().data == 0.0


# -- grad = None means "no gradient yet" ----------------------------------------------------------


def test_root_grad_set_to_none_still_seeds_with_one():
    x = Value(2.0)
    y = x * x
    y.grad = None
    y.backward()
    assert x.grad == 4.0
    assert y.grad == 1.0


def test_leaf_grad_set_to_none_is_treated_as_zero():
    x = Value(2.0)
    y = x * x
    x.grad = None
    y.backward()
    assert x.grad == 4.0
    y.backward()
    assert x.grad == 8.0


def test_leaf_root_with_grad_none_gets_one():
    x = Value(3.0)
    x.grad = None
    x.backward()
    assert x.grad == 1.0


def test_repr_of_value_with_grad_none():
    x = Value(1.5)
    x.grad = None
    assert repr(x) == "Value(data=1.5, grad=None)"


# -- interruption ------------------------------------------------------------------------------


def test_exception_in_a_local_derivative_leaves_leaf_grads_as_they_were(monkeypatch):
    from autograd import ops

    a, b = Value(0.5), Value(-1.5)
    a.grad, b.grad = 0.25, None
    y = (a * b).tanh() + a

    def boom(out, x):
        raise KeyboardInterrupt

    monkeypatch.setattr(ops.TANH, "local", boom)
    with pytest.raises(KeyboardInterrupt):
        y.backward()
    monkeypatch.undo()
    assert a.grad == 0.25 and b.grad is None
    y.backward()  # the next pass is not misled by anything the interrupted one left
    t = math.tanh(-0.75)
    assert a.grad == pytest.approx(0.25 + (1 - t * t) * -1.5 + 1.0, rel=1e-15)
    assert b.grad == pytest.approx((1 - t * t) * 0.5, rel=1e-15)


# -- threads sharing a parameter --------------------------------------------------------------


def test_four_threads_backward_through_graphs_sharing_a_parameter():
    w = Value(0.5, "w")
    n_threads, per_thread = 4, 200
    errors: list[BaseException] = []
    start = threading.Barrier(n_threads)

    def work(k: int):
        try:
            start.wait(5)
            for _ in range(per_thread):
                x = Value(float(k + 1))
                # a graph of a few hundred nodes, so the passes really overlap in time
                y = x
                for _ in range(50):
                    y = (y * w).tanh() + x
                (y * 0.0 + w * x).backward()  # d/dw of the last term is x = k + 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # every pass adds (k + 1) plus 0.0 * (the chain's gradient): sum_k per_thread * (k + 1)
    assert w.grad == per_thread * (1 + 2 + 3 + 4)
