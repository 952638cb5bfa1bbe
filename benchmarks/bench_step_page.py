"""Benchmark the step page of a graph just under the drawing's size guard: time to write, size.

Run from the repository root::

    python benchmarks/bench_step_page.py                 # 3 runs, prints time and size
    python benchmarks/bench_step_page.py --check         # exit 1 unless < 5 s and < 2 MB
    python benchmarks/bench_step_page.py --frames        # also the old one-picture-per-step way
    python benchmarks/bench_step_page.py --json page.json

The graph: ``nn.MLP(5, [6, 3, 1])`` with tanh hidden units, fine-grained (one node per
multiplication and per addition), on one sample, with the squared error against a target:
just under 300 drawn nodes (values plus operations), the default ``max_nodes`` of
:func:`viz.draw.draw`. The page has every part: forward pass, loss, backward pass and the update
of all parameters (``lr=0.1``), the neurons grouped in labelled boxes (``model=``).

``--frames`` times the way the page was made before (``viz.steps.step_frames``: one Graphviz
picture per chain-rule step) on the same graph, for the ratio; it takes minutes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograd import Value, topological_order  # noqa: E402
from nn import MLP  # noqa: E402
from viz.steps import step_frames, step_page  # noqa: E402

TIME_LIMIT_S = 5.0
SIZE_LIMIT_BYTES = 2_000_000


def build() -> tuple[MLP, Value, int]:
    """The model, its loss on one sample, and the number of nodes a drawing shows."""
    model = MLP(5, [6, 3, 1], activation="tanh", seed=0)
    (y,) = model([0.5, -0.2, 0.1, 0.7, -0.4])
    loss = (y - Value(0.3, "t")) ** 2
    loss.label = "loss"
    drawn = sum(1 if v.is_leaf else 2 for v in topological_order(loss))
    return model, loss, drawn


def time_page(runs: int, folder: Path) -> dict:
    model, loss, drawn = build()
    times = []
    for k in range(runs):
        path = folder / f"page-{k}.html"
        start = time.perf_counter()
        page = step_page(loss, lr=0.1, model=model)
        page.write(path)
        times.append(time.perf_counter() - start)
    return {
        "drawn_nodes": drawn,
        "steps": len(page.steps),
        "parts": page.part_counts(),
        "seconds": times,
        "median_seconds": statistics.median(times),
        "bytes": path.stat().st_size,
    }


def time_frames() -> float:
    model, loss, _ = build()
    start = time.perf_counter()
    step_frames(loss, model=model)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="pages written (default 3)")
    parser.add_argument("--check", action="store_true", help="fail unless under 5 s and 2 MB")
    parser.add_argument("--frames", action="store_true", help="also time one picture per step")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        result = time_page(max(1, args.runs), Path(folder))
    print(
        f"step page of a {result['drawn_nodes']}-node graph ({result['steps']} steps: "
        + ", ".join(f"{n} {part}" for part, n in result["parts"].items())
        + ")"
    )
    print(
        f"  written in {result['median_seconds']:.2f} s (median of {len(result['seconds'])}; "
        f"limit {TIME_LIMIT_S:g} s), {result['bytes'] / 1e6:.2f} MB "
        f"(limit {SIZE_LIMIT_BYTES / 1e6:g} MB)"
    )
    if args.frames:
        result["frames_seconds"] = time_frames()
        ratio = result["frames_seconds"] / result["median_seconds"]
        print(
            f"  one Graphviz picture per step instead: {result['frames_seconds']:.1f} s "
            f"({ratio:.0f}x slower)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.check and not (
        result["median_seconds"] < TIME_LIMIT_S and result["bytes"] < SIZE_LIMIT_BYTES
    ):
        print("FAIL: the page is over its time or size limit", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
