"""Benchmark one training step of micrograd's demo model in micrograd, stepgrad and NumPy.

Run from the repository root::

    python benchmarks/bench_training.py            # 100 points, 10 steps, under a minute
    python benchmarks/bench_training.py --quick    # 20 points, 2 steps (smoke test)
    python benchmarks/bench_training.py --steps 5 --json training.json --check

The step is the one in micrograd's demo notebook: an MLP 2 -> 16 -> 16 -> 1 (relu hidden
units, linear output) on 100 two-moons points, the max-margin loss
``mean_i relu(1 - y_i * score_i) + alpha * sum(p * p)`` with alpha = 1e-4, backward, and an SGD
update with learning rate ``1.0 - 0.9 * k / 100`` at step k.

Four engines take the step, each in its own fresh process (this script again, with
``--worker``), garbage collector on:

* ``micrograd``       micrograd 0.1.0's MLP;
* ``stepgrad``        ``nn.MLP(..., fused=False)``: the same fine-grained graph as micrograd
                      (one node per multiply and per add);
* ``stepgrad-fused``  ``nn.MLP(..., fused=True)``: one ``weighted_sum`` node per neuron;
* ``numpy``           ``nn.numpy_mlp``, the matrix version with hand-written backward.

Then the demo's whole training loop (``--epochs``, 100 steps) through ``nn.fit``, fine-grained
(``stepgrad-fit``) and fused (``stepgrad-fit-fused``), timed from the call to its return, against
micrograd's demo loop: micrograd's median step times the number of epochs (running micrograd for
100 steps takes minutes; ``--steps 100`` makes it run them all, and then their sum is used).
micrograd's first steps are its fastest: its graphs are reference cycles, so garbage piles up
until the collector frees it, and its step time grows over the first ten or twenty steps (one
quiet run: 0.78, 1.18, 1.42 s for steps 1-3, then about 1.6 s). Ten steps by default give a
steadier estimate than three; the estimate stays on the low side, which makes the ratios to
micrograd conservative.

All start from micrograd's initial weights (copied in micrograd's parameter order: per layer,
per neuron, the w's then b), so the losses of every step must agree; the benchmark prints the
largest difference.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import statistics
import sys
import tempfile
import time

from _common import (
    Target,
    WorkerError,
    emit,
    finish,
    machine_line,
    positive_int,
    ratio_text,
    run_worker,
    seconds,
    table,
)

SCRIPT = os.path.abspath(__file__)
STEP_ENGINES = ("micrograd", "stepgrad", "stepgrad-fused", "numpy")  # one step at a time
FIT_ENGINES = ("stepgrad-fit", "stepgrad-fit-fused")  # the whole loop through nn.fit
ENGINES = STEP_ENGINES + FIT_ENGINES
SIZES = (2, 16, 16, 1)  # inputs, hidden, hidden, output: micrograd's demo
ALPHA = 1e-4  # L2 regularisation strength of the demo's loss
SEED = 1337  # seeds micrograd's weight initialisation (random.uniform) and the data
NOISE = 0.1  # standard deviation of the Gaussian jitter on the two moons

FAST_STEPS = 10  # the fast engines run at least this many steps, for steadier per-step times

TARGET_FINE = 15.0  # stepgrad (fine-grained) vs micrograd, per training step
TARGET_FUSED = 50.0  # stepgrad (fused) vs micrograd
TARGET_FIT_FINE = 30.0  # nn.fit, fine-grained, the demo's epochs vs micrograd's demo loop
TARGET_FIT_FUSED = 80.0  # nn.fit, fused
SAME_LOSS_FINE = 1e-12  # the fine-grained graph does micrograd's arithmetic in micrograd's order
SAME_LOSS_OTHER = 1e-9  # fused and NumPy sum in another order: only rounding may differ

QUICK = {"points": 20, "steps": 2, "epochs": 3}


# ---------------------------------------------------------------------------------------------
# Setup, made once in the parent and handed to every worker in a JSON file
# ---------------------------------------------------------------------------------------------


def two_moons(n: int) -> tuple[list[list[float]], list[float]]:
    """n two-moons points from ``nn.data.moons`` (seeded), with labels -1 and +1 as floats."""
    from nn.data import moons, signed_labels

    points, labels = moons(n, noise=NOISE, seed=SEED)
    return points.tolist(), [float(v) for v in signed_labels(labels)]


def micrograd_initial_weights(seed: int) -> list[float]:
    """The parameters micrograd's MLP(2, [16, 16, 1]) starts with, in micrograd's order."""
    from micrograd.nn import MLP

    random.seed(seed)
    model = MLP(SIZES[0], list(SIZES[1:]))
    return [float(p.data) for p in model.parameters()]


def make_setup(points: int, steps: int, epochs: int) -> dict:
    """Everything a worker needs: the data, the initial weights, the numbers of steps/epochs."""
    xs, ys = two_moons(points)
    weights = micrograd_initial_weights(SEED)
    return {"X": xs, "y": ys, "weights": weights, "steps": steps, "epochs": epochs}


# ---------------------------------------------------------------------------------------------
# Worker side: train a few steps with one engine, timing each phase of each step
# ---------------------------------------------------------------------------------------------


def learning_rate(k: int) -> float:
    """The demo's schedule: 1.0 at step 0, falling by 0.009 per step."""
    return 1.0 - 0.9 * k / 100


def max_margin_loss(value: type, score, params: list, xs: list, ys: list) -> object:
    """``mean_i relu(1 - y_i * score_i) + ALPHA * sum(p * p)``, written once for both engines.

    ``score(inputs)`` maps a list of input Values to the model's one output Value. The order of
    operations is the demo's, so that micrograd and fine-grained stepgrad round identically.
    """
    scores = [score([value(a) for a in row]) for row in xs]
    margins = [(1 + -yi * si).relu() for yi, si in zip(ys, scores)]
    data_loss = sum(margins) * (1.0 / len(margins))
    reg_loss = ALPHA * sum(p * p for p in params)
    return data_loss + reg_loss


def load_weights(engine: str, params: list, weights: list[float]) -> None:
    """Give the parameters micrograd's initial weights (in micrograd's order)."""
    if len(params) != len(weights):
        raise ValueError(f"{engine}: {len(params)} parameters, expected {len(weights)}")
    for p, w in zip(params, weights):
        p.data = w


def stepgrad_model(engine: str, weights: list[float]) -> object:
    """stepgrad's MLP of the demo (relu hidden units, linear output) with micrograd's weights;
    fused for the engines whose name ends in ``-fused``."""
    from nn import MLP

    fused = engine.endswith("-fused")
    model = MLP(
        SIZES[0], list(SIZES[1:]), activation="relu", output_activation="linear", fused=fused
    )
    load_weights(engine, model.parameters(), weights)
    return model


def train_graph_engine(engine: str, setup: dict, steps: int) -> dict:
    """Train with micrograd or stepgrad; per step: forward, backward and update times, loss."""
    if engine == "micrograd":
        from micrograd.engine import Value
        from micrograd.nn import MLP

        model = MLP(SIZES[0], list(SIZES[1:]))
        load_weights(engine, model.parameters(), setup["weights"])
        score = model  # micrograd's one-unit output layer returns a bare Value
    else:
        from autograd import Value

        model = stepgrad_model(engine, setup["weights"])

        def score(inputs: list) -> object:
            return model(inputs)[0]

    params = model.parameters()

    record: dict[str, list[float]] = {"forward": [], "backward": [], "update": [], "step": []}
    losses: list[float] = []
    compared: list[float] = []  # the parameters after as many steps as micrograd takes
    for k in range(steps):
        t0 = time.perf_counter()
        loss = max_margin_loss(Value, score, params, setup["X"], setup["y"])
        t1 = time.perf_counter()
        model.zero_grad()
        loss.backward()
        t2 = time.perf_counter()
        lr = learning_rate(k)
        for p in params:
            p.data -= lr * p.grad
        t3 = time.perf_counter()
        losses.append(loss.data)
        for key, t in (("forward", t1 - t0), ("backward", t2 - t1), ("update", t3 - t2)):
            record[key].append(t)
        record["step"].append(t3 - t0)
        if k + 1 == setup["steps"]:
            compared = [p.data for p in params]
    return {"losses": losses, "times": record, "params_after_compared_steps": compared}


def train_with_fit(engine: str, setup: dict) -> dict:
    """The demo's whole loop through ``nn.fit``: full batch, hinge loss + L2, SGD with the
    demo's schedule, for ``setup["epochs"]`` epochs; timed from the call to its return."""
    from nn import SGD, fit

    model = stepgrad_model(engine, setup["weights"])
    params = model.parameters()
    optimizer = SGD(params, lr=learning_rate)
    compared: list[float] = []  # the parameters after as many steps as micrograd takes

    def after_epoch(epoch: int, loss: float, accuracy: float | None) -> None:
        if epoch + 1 == setup["steps"]:
            compared.extend(p.data for p in params)

    t0 = time.perf_counter()
    history = fit(
        model,
        setup["X"],
        setup["y"],
        loss="hinge",
        optimizer=optimizer,
        epochs=setup["epochs"],
        alpha=ALPHA,
        progress=False,
        callback=after_epoch,
    )
    total = time.perf_counter() - t0
    return {
        "losses": history.loss,
        "total": total,
        "epochs": setup["epochs"],
        "params_after_compared_steps": compared,
    }


def numpy_layers(flat: list[float]) -> tuple[list[list[list[float]]], list[list[float]]]:
    """Split micrograd-ordered parameters into per-layer W (units, inputs) and b (units)."""
    weights, biases = [], []
    values = iter(flat)
    for nin, nout in zip(SIZES, SIZES[1:]):
        rows, bias = [], []
        for _ in range(nout):
            rows.append([next(values) for _ in range(nin)])
            bias.append(next(values))
        weights.append(rows)
        biases.append(bias)
    return weights, biases


def train_numpy(setup: dict, steps: int) -> dict:
    """Train with the NumPy version (the whole batch as matrices, hand-written backward).

    Its "forward" is the matrix forward pass; the loss value is computed in its backward, next
    to dJ/d(output), so the two phases split the work a little differently than a graph does.
    """
    import numpy as np

    from nn.numpy_mlp import NumpyMLP, NumpySGD

    weights, biases = numpy_layers(setup["weights"])
    net = NumpyMLP(weights, biases, ["relu"] * (len(SIZES) - 2) + ["linear"])
    optimizer = NumpySGD(net, lr=learning_rate)
    xs, ys = np.array(setup["X"]), np.array(setup["y"])

    record: dict[str, list[float]] = {"forward": [], "backward": [], "update": [], "step": []}
    losses: list[float] = []
    compared: list[float] = []  # the parameters after as many steps as micrograd takes
    for k in range(steps):
        t0 = time.perf_counter()
        net.forward(xs)
        t1 = time.perf_counter()
        loss = net.backward(ys, "hinge", alpha=ALPHA)
        t2 = time.perf_counter()
        optimizer.step()
        t3 = time.perf_counter()
        losses.append(loss)
        for key, t in (("forward", t1 - t0), ("backward", t2 - t1), ("update", t3 - t2)):
            record[key].append(t)
        record["step"].append(t3 - t0)
        if k + 1 == setup["steps"]:
            compared = net.flat_parameters().tolist()
    return {"losses": losses, "times": record, "params_after_compared_steps": compared}


def worker_main(args: argparse.Namespace) -> None:
    """Entry point of a worker process: train, then emit losses and timings."""
    with open(args.setup, encoding="utf-8") as f:
        setup = json.load(f)
    steps = setup["steps"] if args.engine == "micrograd" else max(setup["steps"], FAST_STEPS)
    if args.engine in FIT_ENGINES:
        emit(train_with_fit(args.engine, setup))
    if args.engine == "numpy":
        emit(train_numpy(setup, steps))
    emit(train_graph_engine(args.engine, setup, steps))


# ---------------------------------------------------------------------------------------------
# Parent side
# ---------------------------------------------------------------------------------------------


def run_time(result: dict) -> float:
    """What "fastest" compares: the median step, or for a run through nn.fit its total."""
    if "total" in result:
        return result["total"]
    return statistics.median(result["times"]["step"])


def demo_loop_time(micrograd: dict, epochs: int) -> tuple[float, str]:
    """micrograd's time for the demo's whole loop of `epochs` steps, and how it was obtained."""
    steps = micrograd["times"]["step"]
    if len(steps) >= epochs:
        return sum(steps[:epochs]), f"the sum of its first {epochs} steps"
    return statistics.median(steps) * epochs, f"its median step times {epochs}"


def median_times(result: dict) -> dict[str, float]:
    """Median of each phase over the steps (the median shrugs off one slow, disturbed step)."""
    return {key: statistics.median(ts) for key, ts in result["times"].items()}


def loss_difference(result: dict, reference: dict, steps: int) -> float:
    """Largest |loss - micrograd's loss| over the first `steps` steps."""
    pairs = zip(result["losses"][:steps], reference["losses"][:steps])
    return max(abs(a - b) for a, b in pairs)


def parameter_difference(result: dict, reference: dict) -> float:
    """Largest |parameter - micrograd's| after micrograd's last step (checks every gradient)."""
    key = "params_after_compared_steps"
    return max(abs(a - b) for a, b in zip(result[key], reference[key]))


def train_all(setup_path: str, repeat: int) -> dict[str, dict]:
    """Train every engine `repeat` times, engines taking turns; keep each one's fastest run.

    Taking turns spreads a burst of load from other programs over all engines instead of
    landing on one; "fastest" is the run with the smallest median step time (or, through
    nn.fit, the smallest total).
    """
    runs: dict[str, list[dict]] = {engine: [] for engine in ENGINES}
    for k in range(repeat):
        for engine in ENGINES:
            print(f"  training with {engine}, run {k + 1}/{repeat} ...", flush=True)
            try:
                runs[engine].append(
                    run_worker(SCRIPT, ["--worker", "--engine", engine, "--setup", setup_path])
                )
            except WorkerError as exc:
                print(f"  ! {exc}", flush=True)
    return {
        engine: min(done, key=run_time)
        for engine, done in runs.items()
        if done
    }


def print_losses(results: dict[str, dict], steps: int) -> None:
    """The loss of each of micrograd's steps, engine by engine."""
    print("\nLoss per step")
    rows = [[str(k), *(f"{r['losses'][k]:.15f}" for r in results.values())] for k in range(steps)]
    print(table(rows, ["step", *results]))


def print_step_times(results: dict[str, dict]) -> None:
    """How long each step took, engine by engine (micrograd takes fewer steps)."""
    print("\nTime of each step")
    stepped = {engine: r for engine, r in results.items() if "times" in r}
    step_times = [r["times"]["step"] for r in stepped.values()]
    rows = [
        [str(k), *(seconds(ts[k]) if k < len(ts) else "" for ts in step_times)]
        for k in range(max(map(len, step_times)))
    ]
    print(table(rows, ["step", *stepped]))


def print_phase_medians(medians: dict[str, dict[str, float]]) -> None:
    """Median forward, backward, update and whole-step time of each engine."""
    print("\nMedian time per step, by phase")
    rows = [
        [phase, *(seconds(m[phase]) for m in medians.values())]
        for phase in ("forward", "backward", "update", "step")
    ]
    print(table(rows, ["", *medians]))


def print_ratios(ratios: dict[str, float], medians: dict[str, dict[str, float]]) -> None:
    """micrograd's step time over each engine's, and how far the Value engines are from NumPy."""
    print("\nRatios (micrograd time per step / engine time per step)")
    for engine, r in ratios.items():
        print(f"  ratio micrograd/{engine}: {ratio_text(r)}")
    if "numpy" in medians:
        for engine in ("stepgrad", "stepgrad-fused"):
            if engine in medians:
                r = medians[engine]["step"] / medians["numpy"]["step"]
                print(f"  ratio {engine}/numpy: {ratio_text(r)}  (how much slower than NumPy)")


def print_fit(results: dict[str, dict], loop: float, how: str, epochs: int) -> dict[str, float]:
    """nn.fit's whole loop against micrograd's demo loop; returns the ratios."""
    print(f"\nThe demo's {epochs} steps through nn.fit")
    print(f"  micrograd's demo loop: {seconds(loop)} ({how})")
    ratios = {}
    for engine in FIT_ENGINES:
        if engine in results:
            total = results[engine]["total"]
            ratios[engine] = loop / total
            print(
                f"  {engine}: {seconds(total)} ({seconds(total / epochs)} per epoch), "
                f"ratio micrograd/{engine}: {ratio_text(ratios[engine])}"
            )
    return ratios


def run_benchmark(args: argparse.Namespace) -> int:
    """Measure every engine, print per-step times, ratios and targets; return the exit code."""
    if importlib.util.find_spec("micrograd") is None:
        print("micrograd is not installed: pip install micrograd==0.1.0", file=sys.stderr)
        return 2
    points = QUICK["points"] if args.quick else args.points
    steps = QUICK["steps"] if args.quick else args.steps
    epochs = QUICK["epochs"] if args.quick else args.epochs
    if epochs < steps:
        print(f"--epochs ({epochs}) must be at least --steps ({steps})", file=sys.stderr)
        return 2
    setup = make_setup(points, steps, epochs)

    print("stepgrad vs micrograd 0.1.0 vs NumPy: one training step of micrograd's demo")
    print(machine_line())
    print(
        f"MLP {' -> '.join(map(str, SIZES))} (relu, linear output), {points} two-moons points,\n"
        f"max-margin loss + {ALPHA:g} * L2, SGD; each engine in its own process"
    )
    print(
        f"micrograd runs {steps} steps, the others {max(steps, FAST_STEPS)}; "
        f"times are medians over the steps; nn.fit runs {epochs} epochs; "
        f"best of {args.repeat} run(s) per engine\n"
    )

    with tempfile.TemporaryDirectory() as tmp:
        setup_path = os.path.join(tmp, "setup.json")
        with open(setup_path, "w", encoding="utf-8") as f:
            json.dump(setup, f)
        results = train_all(setup_path, args.repeat)
    if "micrograd" not in results:
        print("micrograd's run failed: nothing to compare against", file=sys.stderr)
        return 2
    ref = results["micrograd"]

    print_losses(results, steps)
    print_step_times(results)
    medians = {engine: median_times(r) for engine, r in results.items() if "times" in r}
    print_phase_medians(medians)
    ratios = {
        engine: medians["micrograd"]["step"] / medians[engine]["step"]
        for engine in medians
        if engine != "micrograd"
    }
    print_ratios(ratios, medians)
    loop, how = demo_loop_time(ref, epochs)
    fit_ratios = print_fit(results, loop, how, epochs)
    differences = {
        engine: (loss_difference(r, ref, steps), parameter_difference(r, ref))
        for engine, r in results.items()
        if r is not ref
    }
    print(f"\nLargest difference from micrograd over its {steps} steps")
    for engine, (d, p) in differences.items():
        print(f"  {engine}: |loss - micrograd's| {d:.3g}, |parameter - micrograd's| {p:.3g}")

    per_step, demo_loop = "micrograd per step", "micrograd's demo loop"
    targets = [
        ratio_target("stepgrad fine-grained", ratios.get("stepgrad"), TARGET_FINE, per_step),
        ratio_target("stepgrad fused", ratios.get("stepgrad-fused"), TARGET_FUSED, per_step),
        same_result_target("stepgrad", "stepgrad fine-grained", SAME_LOSS_FINE, differences),
        ratio_target(
            "nn.fit fine-grained", fit_ratios.get("stepgrad-fit"), TARGET_FIT_FINE, demo_loop
        ),
        ratio_target(
            "nn.fit fused", fit_ratios.get("stepgrad-fit-fused"), TARGET_FIT_FUSED, demo_loop
        ),
        same_result_target("stepgrad-fused", "stepgrad fused", SAME_LOSS_OTHER, differences),
        same_result_target("numpy", "NumPy", SAME_LOSS_OTHER, differences),
        same_result_target("stepgrad-fit", "nn.fit fine-grained", SAME_LOSS_FINE, differences),
        same_result_target("stepgrad-fit-fused", "nn.fit fused", SAME_LOSS_OTHER, differences),
    ]
    summary = {
        "machine": machine_line(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "config": {
            "points": points,
            "steps": steps,
            "epochs": epochs,
            "sizes": SIZES,
            "alpha": ALPHA,
            "repeat": args.repeat,
        },
        "setup": setup,
        "results": results,
        "median_times": medians,
        "ratios": ratios,
        "demo_loop": {"micrograd": loop, "how": how},
        "fit_ratios": fit_ratios,
        "differences": {e: {"loss": d, "parameters": p} for e, (d, p) in differences.items()},
    }
    return finish(targets, args.check, summary, args.json)


def ratio_target(what: str, ratio: float | None, target: float, against: str) -> Target:
    """A speed target: the measured ratio to micrograd (None: not measured) is at least target."""
    return Target(f"{what} >= {target:g}x {against}", ratio_text(ratio), (ratio or 0.0) >= target)


def same_result_target(
    engine: str, name: str, tolerance: float, differences: dict[str, tuple[float, float]]
) -> Target:
    """The target that an engine's losses and parameters stay within `tolerance` of micrograd's."""
    goal = f"{name} losses and parameters equal micrograd's to {tolerance:g}"
    if engine not in differences:
        return Target(goal, "not measured", False)
    loss, params = differences[engine]
    return Target(goal, f"loss {loss:.3g}, parameters {params:.3g}", max(loss, params) <= tolerance)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (--worker, --engine and --setup are for the script's subprocesses)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=positive_int, default=100, help="two-moons points (100)")
    p.add_argument("--steps", type=positive_int, default=10, help="micrograd's training steps (10)")
    p.add_argument(
        "--epochs", type=positive_int, default=100, help="epochs through nn.fit: the demo's (100)"
    )
    p.add_argument(
        "--repeat", type=positive_int, default=1, help="runs per engine; the fastest is kept (1)"
    )
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    p.add_argument("--json", metavar="FILE", help="also write the results to FILE as JSON")
    p.add_argument("--check", action="store_true", help="exit with 1 when a target is missed")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--engine", choices=ENGINES, help=argparse.SUPPRESS)
    p.add_argument("--setup", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, or one engine's training when started as a worker."""
    args = parse_args(argv)
    if args.worker:
        worker_main(args)
    return run_benchmark(args)


if __name__ == "__main__":
    sys.exit(main())
