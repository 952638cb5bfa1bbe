"""Benchmark stepgrad's engine against micrograd 0.1.0: speed, memory per node, deep graphs.

Run from the repository root::

    python benchmarks/bench_engine.py            # default sizes, about a minute
    python benchmarks/bench_engine.py --quick    # small sizes, a few seconds (smoke test)
    python benchmarks/bench_engine.py --repeat 3 --json engine.json --check

Every measurement runs in its own fresh interpreter (this script, started again with
``--worker``), which imports only the engine it measures: neither engine's heap or garbage
collector state can slow the other down. The garbage collector stays on, as users have it.
Timing and memory are separate processes because tracemalloc slows allocation down.

What is measured (see benchmarks/README.md for the figures):

1. ``sum of a_i * b_i`` over N pairs (default 200,000), the sum taken as a balanced tree:
   build time, backward time, their total, and tracemalloc's bytes per graph node: the graph
   as built (before backward) and the peak while backward runs.
2. A chain of 1,000,000 multiplications, forward and backward.
3. The deepest chain each engine survives at the default recursion limit.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import random
import sys
import time
import tracemalloc

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
ENGINES = ("stepgrad", "micrograd")
SEED = 1234
CHAIN_FACTOR = 1.0000001  # close to 1, so that a million products stay near 1.1: no overflow
DEPTH_START = 100  # the deepest-chain search doubles from here ...
DEPTH_CAP = 1_000_000  # ... up to here (the size of the long chain)

# The targets this benchmark checks (stepgrad against micrograd 0.1.0).
TARGET_END_TO_END = 6.0
TARGET_BACKWARD = 2.0
TARGET_GRAPH_BYTES_PER_NODE = 100.0  # the graph as built, before backward
TARGET_BYTES_PER_NODE = 150.0  # the peak, while backward runs

QUICK = {"pairs": 2_000, "chain": 20_000}


# ---------------------------------------------------------------------------------------------
# Worker side: one measurement of one engine, in a fresh process
# ---------------------------------------------------------------------------------------------


def load_value(engine: str) -> type:
    """The Value class of one engine; only that engine is imported into the worker."""
    if engine == "stepgrad":
        from autograd import Value
    else:
        from micrograd.engine import Value
    return Value


def random_pairs(n: int) -> tuple[list[float], list[float]]:
    """The same n pairs of floats in [-1, 1) for both engines, made before any timing starts."""
    rng = random.Random(SEED)
    return [rng.uniform(-1.0, 1.0) for _ in range(n)], [rng.uniform(-1.0, 1.0) for _ in range(n)]


def build_dot(value: type, xs: list[float], ys: list[float]) -> tuple[list, list, object]:
    """Leaves a_i, b_i, and sum_i a_i * b_i with the sum taken pairwise (a balanced tree).

    The same code builds both engines' graphs: 2N leaves, N products, N - 1 sums. A balanced
    tree keeps micrograd's recursive topological sort shallow (about log2 N levels).
    """
    a = [value(x) for x in xs]
    b = [value(y) for y in ys]
    level = [ai * bi for ai, bi in zip(a, b)]
    while len(level) > 1:
        paired = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return a, b, level[0]


def dot_node_count(n: int) -> int:
    """Nodes in the dot-product graph: 2N leaves + N products + (N - 1) sums."""
    return 2 * n + n + (n - 1)


def worker_dot_time(engine: str, n: int) -> dict:
    """Time building the dot-product graph and its backward pass; then check the results."""
    value = load_value(engine)
    xs, ys = random_pairs(n)
    t0 = time.perf_counter()
    a, b, root = build_dot(value, xs, ys)
    t1 = time.perf_counter()
    root.backward()
    t2 = time.perf_counter()
    # Checked after the clock stopped: d(sum a_i b_i)/da_i = b_i exactly (every sum node passes
    # 1.0 on unchanged), and the value agrees with an exactly rounded sum.
    exact = math.fsum(x * y for x, y in zip(xs, ys))
    grads_ok = all(ai.grad == y and bi.grad == x for ai, bi, x, y in zip(a, b, xs, ys))
    value_ok = math.isclose(root.data, exact, rel_tol=1e-9, abs_tol=1e-9)
    correct = grads_ok and value_ok
    return {"build": t1 - t0, "backward": t2 - t1, "total": t2 - t0, "correct": correct}


def worker_dot_memory(engine: str, n: int) -> dict:
    """Bytes per node traced: the graph as built, then the peak while backward runs."""
    value = load_value(engine)
    xs, ys = random_pairs(n)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    _, _, root = build_dot(value, xs, ys)
    graph = tracemalloc.get_traced_memory()[0]
    root.backward()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    nodes = dot_node_count(n)
    return {
        "nodes": nodes,
        "graph_bytes_per_node": (graph - base) / nodes,
        "peak_bytes": peak - base,
        "peak_bytes_per_node": (peak - base) / nodes,
        "kept_bytes_per_node": (current - base) / nodes,
    }


def worker_chain(engine: str, depth: int) -> dict:
    """Build y = x * c * c * ... (depth multiplications), run backward; report how it ended."""
    value = load_value(engine)
    x, c = value(1.0), value(CHAIN_FACTOR)
    t0 = time.perf_counter()
    try:
        y = x
        for _ in range(depth):
            y = y * c
    except RecursionError:
        return {"status": "RecursionError", "phase": "build"}
    t1 = time.perf_counter()
    try:
        y.backward()
    except RecursionError:
        return {"status": "RecursionError", "phase": "backward", "build": t1 - t0}
    t2 = time.perf_counter()
    # dy/dx = c^depth: a closed form independent of the engine (rounding over a million
    # products stays far below 1e-8 relative).
    expected = math.pow(CHAIN_FACTOR, depth)
    correct = math.isclose(x.grad, expected, rel_tol=1e-8)
    return {
        "status": "ok",
        "build": t1 - t0,
        "backward": t2 - t1,
        "total": t2 - t0,
        "correct": correct,
    }


def worker_main(args: argparse.Namespace) -> None:
    """Entry point of a worker process: run one measurement and emit its result."""
    if args.worker == "dot-time":
        emit(worker_dot_time(args.engine, args.pairs))
    elif args.worker == "dot-memory":
        emit(worker_dot_memory(args.engine, args.pairs))
    else:
        emit(worker_chain(args.engine, args.depth))


# ---------------------------------------------------------------------------------------------
# Parent side: start the workers, collect, compare
# ---------------------------------------------------------------------------------------------


def measure(kind: str, engine: str, *extra: str) -> dict:
    """Run one worker measurement; a worker that dies is reported, not fatal."""
    try:
        return run_worker(SCRIPT, ["--worker", kind, "--engine", engine, *extra])
    except WorkerError as exc:
        print(f"  ! {exc}", flush=True)
        return {"status": "crashed", "error": str(exc)}


def measure_dot_times(n: int, repeat: int) -> dict[str, dict]:
    """Best of `repeat` runs per engine (the run with the smallest total), engines alternating."""
    runs: dict[str, list[dict]] = {e: [] for e in ENGINES}
    for k in range(repeat):
        for engine in ENGINES:
            print(f"  timing {engine}, run {k + 1}/{repeat} ...", flush=True)
            runs[engine].append(measure("dot-time", engine, "--pairs", str(n)))
    best = {}
    for engine, results in runs.items():
        ok = [r for r in results if "total" in r]
        best[engine] = min(ok, key=lambda r: r["total"]) if ok else results[0]
        best[engine]["runs"] = [r.get("total") for r in results]
    return best


def chain_survives(engine: str, depth: int) -> bool:
    """True when a chain of `depth` multiplications goes through backward in a fresh process."""
    return measure("chain", engine, "--depth", str(depth)).get("status") == "ok"


def deepest_chain(engine: str, cap: int, cap_survived: bool) -> dict:
    """The deepest chain that survives: doubling from DEPTH_START, then bisection.

    The chain of `cap` multiplications was already run in part (2); if it survived, there is
    nothing to search. Every probe is a fresh process, so the stack starts equally shallow.
    """
    if cap_survived:
        return {"deepest": cap, "at_least": True, "probes": 0}
    probes = 0
    good, bad = 0, cap
    depth = min(DEPTH_START, cap)
    while depth < cap:
        probes += 1
        if not chain_survives(engine, depth):
            bad = depth
            break
        good = depth
        depth *= 2
    while bad - good > 1:
        mid = (good + bad) // 2
        probes += 1
        if chain_survives(engine, mid):
            good = mid
        else:
            bad = mid
    return {"deepest": good, "at_least": False, "first_failing": bad, "probes": probes}


def ratio(slow: dict, fast: dict, key: str) -> float | None:
    """micrograd's figure divided by stepgrad's, when both were measured."""
    if key in slow and key in fast and fast[key] > 0:
        return slow[key] / fast[key]
    return None


def chain_cell(result: dict) -> str:
    """How a long-chain run ended, for the table."""
    if result.get("status") == "ok":
        return seconds(result["total"])
    if result.get("status") == "RecursionError":
        return f"RecursionError in {result['phase']}"
    return result.get("status", "?")


def depth_cell(result: dict) -> str:
    """The deepest surviving chain, for the table."""
    prefix = ">= " if result["at_least"] else ""
    return f"{prefix}{result['deepest']:,}"


def run_benchmark(args: argparse.Namespace) -> int:
    """Measure everything, print the tables, ratios and targets; return the exit code."""
    if importlib.util.find_spec("micrograd") is None:
        print("micrograd is not installed: pip install micrograd==0.1.0", file=sys.stderr)
        return 2
    n = QUICK["pairs"] if args.quick else args.pairs
    chain = QUICK["chain"] if args.quick else DEPTH_CAP
    nodes = dot_node_count(n)

    print("stepgrad vs micrograd 0.1.0: engine benchmark")
    print(machine_line())
    print(f"each measurement in its own process; best of {args.repeat} per engine\n")

    print(f"(1) sum of a_i * b_i, {n:,} pairs, pairwise sum: {nodes:,} nodes", flush=True)
    dot = measure_dot_times(n, args.repeat)
    mem = {}
    for engine in ENGINES:
        print(f"  tracemalloc run for {engine} ...", flush=True)
        mem[engine] = measure("dot-memory", engine, "--pairs", str(n))

    print(f"(2) chain of {chain:,} multiplications", flush=True)
    long_chain = {engine: measure("chain", engine, "--depth", str(chain)) for engine in ENGINES}

    print(f"(3) deepest chain at recursion limit {sys.getrecursionlimit()}", flush=True)
    deepest = {
        engine: deepest_chain(engine, chain, long_chain[engine].get("status") == "ok")
        for engine in ENGINES
    }

    s, m = dot["stepgrad"], dot["micrograd"]
    ratios = {
        "end_to_end": ratio(m, s, "total"),
        "build": ratio(m, s, "build"),
        "backward": ratio(m, s, "backward"),
        "memory": ratio(mem["micrograd"], mem["stepgrad"], "peak_bytes_per_node"),
    }

    def per_node(r: dict, key: str) -> str:
        return f"{r[key]:.1f} B" if key in r else r.get("status", "-")

    def timing_row(label: str, key: str, ratio_key: str) -> list[str]:
        return [label, seconds(s.get(key)), seconds(m.get(key)), ratio_text(ratios[ratio_key])]

    def memory_row(label: str, key: str, ratio_key: str | None) -> list[str]:
        r = ratio_text(ratios[ratio_key]) if ratio_key else ""
        return [label, per_node(mem["stepgrad"], key), per_node(mem["micrograd"], key), r]

    print(f"\nResults ({n:,} pairs; chain of {chain:,})")
    rows = [
        timing_row("(1) build", "build", "build"),
        timing_row("(1) backward", "backward", "backward"),
        timing_row("(1) total, end to end", "total", "end_to_end"),
        memory_row("(1) graph memory per node", "graph_bytes_per_node", None),
        memory_row("(1) peak memory per node", "peak_bytes_per_node", "memory"),
        memory_row("(1) memory kept per node", "kept_bytes_per_node", None),
        ["(1) results correct", str(s.get("correct", "-")), str(m.get("correct", "-")), ""],
        [
            f"(2) chain of {chain:,}: build+backward",
            chain_cell(long_chain["stepgrad"]),
            chain_cell(long_chain["micrograd"]),
            "",
        ],
        [
            "(3) deepest chain survived",
            depth_cell(deepest["stepgrad"]),
            depth_cell(deepest["micrograd"]),
            "",
        ],
    ]
    print(table(rows, ["", "stepgrad", "micrograd", "micrograd/stepgrad"]))

    print("\nRatios (micrograd / stepgrad; higher means stepgrad is faster or smaller)")
    print(f"  ratio end to end: {ratio_text(ratios['end_to_end'])}")
    print(f"  ratio build:      {ratio_text(ratios['build'])}")
    print(f"  ratio backward:   {ratio_text(ratios['backward'])}")
    print(f"  ratio memory:     {ratio_text(ratios['memory'])}  (peak bytes per node)")

    stepgrad_bytes = mem["stepgrad"].get("peak_bytes_per_node")
    graph_bytes = mem["stepgrad"].get("graph_bytes_per_node")
    chain_ok = long_chain["stepgrad"].get("status") == "ok" and long_chain["stepgrad"]["correct"]
    targets = [
        Target(
            f"end to end >= {TARGET_END_TO_END:g}x micrograd",
            ratio_text(ratios["end_to_end"]),
            (ratios["end_to_end"] or 0.0) >= TARGET_END_TO_END,
        ),
        Target(
            f"backward >= {TARGET_BACKWARD:g}x micrograd",
            ratio_text(ratios["backward"]),
            (ratios["backward"] or 0.0) >= TARGET_BACKWARD,
        ),
        Target(
            f"graph <= {TARGET_GRAPH_BYTES_PER_NODE:g} bytes per node",
            "-" if graph_bytes is None else f"{graph_bytes:.1f} B",
            graph_bytes is not None and graph_bytes <= TARGET_GRAPH_BYTES_PER_NODE,
        ),
        Target(
            f"peak memory <= {TARGET_BYTES_PER_NODE:g} bytes per node",
            "-" if stepgrad_bytes is None else f"{stepgrad_bytes:.1f} B",
            stepgrad_bytes is not None and stepgrad_bytes <= TARGET_BYTES_PER_NODE,
        ),
        Target(
            f"chain of {chain:,} completes with correct gradient",
            chain_cell(long_chain["stepgrad"]),
            chain_ok,
        ),
        Target(
            "results of (1) correct in both engines",
            f"stepgrad {s.get('correct')}, micrograd {m.get('correct')}",
            bool(s.get("correct")) and bool(m.get("correct")),
        ),
    ]
    results = {
        "machine": machine_line(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "config": {"pairs": n, "nodes": nodes, "chain": chain, "repeat": args.repeat},
        "dot_time": dot,
        "dot_memory": mem,
        "chain": long_chain,
        "deepest_chain": deepest,
        "ratios": ratios,
    }
    return finish(targets, args.check, results, args.json)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (the --worker ones are for the script's own subprocesses)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=positive_int, default=200_000, help="pairs in (1) (200000)")
    p.add_argument(
        "--repeat", type=positive_int, default=1, help="timing runs per engine; best is kept (1)"
    )
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    p.add_argument("--json", metavar="FILE", help="also write the results to FILE as JSON")
    p.add_argument("--check", action="store_true", help="exit with 1 when a target is missed")
    p.add_argument("--worker", choices=["dot-time", "dot-memory", "chain"], help=argparse.SUPPRESS)
    p.add_argument("--engine", choices=ENGINES, help=argparse.SUPPRESS)
    p.add_argument("--depth", type=positive_int, default=DEPTH_CAP, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, or one measurement when started as a worker."""
    args = parse_args(argv)
    if args.worker:
        worker_main(args)
    return run_benchmark(args)


if __name__ == "__main__":
    sys.exit(main())
