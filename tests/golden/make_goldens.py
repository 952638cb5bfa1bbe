"""Regenerate the golden outputs of `stepgrad example` (run by hand, then review the diff by eye).

    .venv/bin/python -m tests.golden.make_goldens
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

from viz.cli import main

HERE = Path(__file__).resolve().parent

# (file name, argv after "stepgrad example", quiz answers or None)
CASES = [
    (f"{name}_{fmt}{suffix}.{ext}", [name, "--format", fmt, *extra], None)
    for name in ("2-2-1", "1-1-1", "softmax")
    for fmt, ext in (("text", "txt"), ("markdown", "md"), ("json", "json"))
    for suffix, extra in (("", []), ("_steps2_lr0.5", ["--steps", "2", "--lr", "0.5"]))
] + [
    ("2-2-1_no-compare-seed.txt", ["2-2-1", "--no-compare-seed", "--steps", "1"], None),
    ("1-1-1_compare-seed.txt", ["1-1-1", "--compare-seed", "--steps", "1"], None),
    # a scripted quiz: right, junk then wrong, skip, empty (skip), right, then quit
    ("2-2-1_quiz.txt", ["2-2-1", "--quiz"], "0.41\nabc\n0.5\ns\n\n0.615384\nq\n"),
    ("1-1-1_quiz_eof.txt", ["1-1-1", "--quiz", "--steps", "0"], "0.3\n0.57\n"),
    ("softmax_quiz_tolerance.txt", ["softmax", "--quiz", "--tolerance", "0.05"], "0.33\n0.2\nq\n"),
]


def run(argv: list[str], answers: str | None) -> str:
    """What `stepgrad example ARGV` prints to stdout (with ``answers`` on stdin)."""
    out = io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(answers or "")
    try:
        with contextlib.redirect_stdout(out):
            code = main(["example", *argv])
    finally:
        sys.stdin = old_stdin
    assert code == 0, argv
    return out.getvalue()


GRAPHS = [(f"graph_{name}.txt", name) for name in ("2-2-1", "1-1-1", "softmax")]


def graph_listing(name: str) -> str:
    """Every node of a built-in example's graph after one backward pass, in topological order:
    index, label, op, data, grad and the indices of its parents (the drawings depend on these)."""
    from autograd import topological_order
    from nn.examples import build_example

    example = build_example(name)
    example.loss.backward()
    order = topological_order(example.loss)
    index = {id(node): k for k, node in enumerate(order)}
    lines = [
        f"{k} {node.label!r} {node.op!r} {node.data!r} {node.grad!r} "
        f"{[index[id(p)] for p in node.parents]}"
        for k, node in enumerate(order)
    ]
    lines.append("parameters " + " ".join(p.label for p in example.parameters))
    lines.append(f"deltas {example.deltas}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    for file_name, argv, answers in CASES:
        (HERE / file_name).write_text(run(argv, answers), encoding="utf-8")
        print("wrote", file_name)
    for file_name, name in GRAPHS:
        (HERE / file_name).write_text(graph_listing(name), encoding="utf-8")
        print("wrote", file_name)
