"""Benchmark the drawing's size guard: how fast ``draw`` refuses a graph far too big to draw.

Run from the repository root::

    python benchmarks/bench_draw_guard.py                    # 5,000,000-node graph
    python benchmarks/bench_draw_guard.py --nodes 200000 --check

The graph is a sum of products (a*b + c*d + ...), built before the clock starts; only the call
to :func:`viz.draw.draw` is timed, with the memory it allocates (tracemalloc). The guard must
refuse the graph in under 1 s without building any drawing (``--check`` exits 1 otherwise).
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograd import Value, no_grad  # noqa: E402
from viz.draw import draw  # noqa: E402

TIME_LIMIT_S = 1.0


def build(nodes: int) -> Value:
    """A graph of about ``nodes`` Values: pairs multiplied, the products summed left to right."""
    pairs = max(1, nodes // 4)
    total = Value(0.0)
    for k in range(pairs):
        total = total + Value(float(k)) * Value(0.5)
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5_000_000, help="graph size (default 5e6)")
    parser.add_argument("--check", action="store_true", help="exit 1 unless refused in < 1 s")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    root = build(args.nodes)
    built = time.perf_counter() - start
    print(f"built a graph of ~{args.nodes:,} values in {built:.1f} s (not timed below)")
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with no_grad():  # the guard must not need to record anything either
            draw(root)
    except ValueError as error:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"refused in {elapsed:.3f} s, peak {peak / 1e6:.1f} MB allocated: {error}")
        return 1 if args.check and elapsed >= TIME_LIMIT_S else 0
    print("not refused: the guard let the graph through")
    return 1


if __name__ == "__main__":
    sys.exit(main())
