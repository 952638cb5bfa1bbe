"""Smoke tests for the benchmark scripts: they run (--quick), report ratios and sane facts.

Timing targets are never asserted here (a loaded test machine would make that flaky); the
benchmarks check them themselves with --check. These tests pin what does not depend on speed:
the scripts finish, print their ratio lines, count nodes right, and see micrograd's recursion
limit where Python puts it.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("micrograd")

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
Run = tuple[subprocess.CompletedProcess, dict]  # a script's finished process and its --json data


def run_script(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BENCH / name), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


@pytest.fixture(scope="module")
def engine_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    path = tmp_path_factory.mktemp("bench") / "engine.json"
    proc = run_script("bench_engine.py", "--quick", "--json", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc, json.loads(path.read_text())


@pytest.fixture(scope="module")
def training_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    path = tmp_path_factory.mktemp("bench") / "training.json"
    proc = run_script("bench_training.py", "--quick", "--json", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc, json.loads(path.read_text())


# -- bench_engine.py ---------------------------------------------------------------------------


def test_engine_quick_run_prints_every_ratio_line(engine_run):
    out = engine_run[0].stdout
    for name in ("end to end", "build", "backward", "memory"):
        assert f"ratio {name}:" in out
    assert "Targets" in out and ("PASS" in out or "FAIL" in out)


def test_engine_graph_bytes_per_node_are_measured_below_the_peak(engine_run):
    # The graph as built is part of what is alive at the peak (backward only adds to it).
    memory = engine_run[1]["dot_memory"]["stepgrad"]
    assert 0 < memory["graph_bytes_per_node"] <= memory["peak_bytes_per_node"]
    assert "graph memory per node" in engine_run[0].stdout
    assert "graph <= 100 bytes per node" in engine_run[0].stdout


def test_engine_counts_2n_leaves_n_products_n_minus_1_sums(engine_run):
    config = engine_run[1]["config"]
    n = config["pairs"]
    assert config["nodes"] == 2 * n + n + (n - 1)


def test_engine_results_of_dot_product_are_correct_in_both_engines(engine_run):
    # Each worker compares its gradients with b_i / a_i and its sum with math.fsum.
    times = engine_run[1]["dot_time"]
    assert times["stepgrad"]["correct"] is True
    assert times["micrograd"]["correct"] is True


def test_engine_micrograd_dies_with_recursion_error_near_the_recursion_limit(engine_run):
    data = engine_run[1]
    assert data["chain"]["micrograd"]["status"] == "RecursionError"
    deepest = data["deepest_chain"]["micrograd"]
    limit = sys.getrecursionlimit()
    # Each node of the chain costs micrograd one Python frame, plus a few frames of setup.
    assert limit - 50 <= deepest["deepest"] < limit
    assert deepest["first_failing"] == deepest["deepest"] + 1
    assert "RecursionError" in engine_run[0].stdout


def test_engine_stepgrad_survives_the_whole_chain(engine_run):
    data = engine_run[1]
    chain = data["config"]["chain"]
    assert data["chain"]["stepgrad"]["status"] == "ok"
    assert data["chain"]["stepgrad"]["correct"] is True
    assert data["deepest_chain"]["stepgrad"] == {"deepest": chain, "at_least": True, "probes": 0}
    assert f">= {chain:,}" in engine_run[0].stdout


def test_engine_rejects_a_non_positive_pair_count_by_name():
    proc = run_script("bench_engine.py", "--pairs", "0")
    assert proc.returncode == 2
    assert "--pairs" in proc.stderr and "positive integer" in proc.stderr


# -- bench_training.py -------------------------------------------------------------------------


def test_training_quick_run_prints_a_ratio_line_per_engine(training_run):
    out = training_run[0].stdout
    for engine in ("stepgrad", "stepgrad-fused", "numpy"):
        assert f"ratio micrograd/{engine}:" in out
    assert "Targets" in out


def test_training_fine_grained_stepgrad_repeats_micrograds_losses_and_updates(training_run):
    data = training_run[1]
    steps = data["config"]["steps"]
    mine, theirs = data["results"]["stepgrad"], data["results"]["micrograd"]
    assert len(theirs["losses"]) == steps
    # Same weights, same graph: only the order in which micrograd (a set of parents) adds up
    # gradient contributions may change the last bit.
    losses = zip(mine["losses"][:steps], theirs["losses"])
    assert max(abs(a - b) for a, b in losses) <= 1e-12
    key = "params_after_compared_steps"
    assert len(mine[key]) == len(theirs[key]) == len(data["setup"]["weights"])
    assert max(abs(a - b) for a, b in zip(mine[key], theirs[key])) <= 1e-12
    # ... and training did move the parameters (else equal parameters would prove nothing).
    assert max(abs(a - b) for a, b in zip(theirs[key], data["setup"]["weights"])) > 1e-3


def test_training_through_fit_prints_its_ratio_to_micrograds_demo_loop(training_run):
    out, data = training_run[0].stdout, training_run[1]
    epochs = data["config"]["epochs"]
    for engine in ("stepgrad-fit", "stepgrad-fit-fused"):
        assert f"ratio micrograd/{engine}:" in out
        assert len(data["results"][engine]["losses"]) == epochs
    # micrograd ran fewer steps than the loop has: its loop time is its median step x epochs.
    steps = data["results"]["micrograd"]["times"]["step"]
    assert data["demo_loop"]["micrograd"] == pytest.approx(statistics.median(steps) * epochs)


def test_training_through_fit_repeats_micrograds_losses_and_updates(training_run):
    # fit with the demo's loss, L2 term and learning-rate schedule takes micrograd's steps:
    # fine-grained to the last bits, fused up to the order of its sums.
    data = training_run[1]
    steps = data["config"]["steps"]
    theirs = data["results"]["micrograd"]
    key = "params_after_compared_steps"
    for engine, tolerance in (("stepgrad-fit", 1e-12), ("stepgrad-fit-fused", 1e-9)):
        mine = data["results"][engine]
        losses = zip(mine["losses"][:steps], theirs["losses"])
        assert max(abs(a - b) for a, b in losses) <= tolerance, engine
        assert len(mine[key]) == len(theirs[key])
        assert max(abs(a - b) for a, b in zip(mine[key], theirs[key])) <= tolerance, engine


def test_training_rejects_fewer_epochs_than_micrograd_steps():
    proc = run_script("bench_training.py", "--steps", "5", "--epochs", "4")
    assert proc.returncode == 2
    assert "--epochs (4) must be at least --steps (5)" in proc.stderr


def test_training_fused_and_numpy_losses_agree_with_micrograd(training_run):
    data = training_run[1]
    steps = data["config"]["steps"]
    theirs = data["results"]["micrograd"]["losses"]
    for engine in ("stepgrad-fused", "numpy"):
        mine = data["results"][engine]["losses"][:steps]
        assert max(abs(a - b) for a, b in zip(mine, theirs)) <= 1e-9, engine


def test_training_first_loss_matches_a_hand_computed_forward_pass(training_run):
    # The step-0 loss recomputed here in plain Python from the setup the benchmark used: an
    # independent check that every engine trained on the data and weights it was given.
    data = training_run[1]
    setup = data["setup"]
    sizes = data["config"]["sizes"]
    weights = iter(setup["weights"])
    layers = []
    for nin, nout in zip(sizes, sizes[1:]):
        neurons = []
        for _ in range(nout):
            w = [next(weights) for _ in range(nin)]
            neurons.append((w, next(weights)))
        layers.append(neurons)
    total = 0.0
    for x, y in zip(setup["X"], setup["y"]):
        a = x
        for i, neurons in enumerate(layers):
            z = [b + sum(wi * ai for wi, ai in zip(w, a)) for w, b in neurons]
            a = z if i == len(layers) - 1 else [max(0.0, zi) for zi in z]
        total += max(0.0, 1.0 - y * a[0])
    expected = total / len(setup["X"]) + data["config"]["alpha"] * sum(
        p * p for p in setup["weights"]
    )
    assert data["results"]["micrograd"]["losses"][0] == pytest.approx(expected, rel=1e-12)
