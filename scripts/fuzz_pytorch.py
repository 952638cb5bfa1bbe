"""Random scalar programs through stepgrad and PyTorch (float64): values and derivatives compared.

PyTorch is not a dependency of stepgrad; run this in an environment that has it::

    python -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch numpy graphviz
    PYTHONPATH=. /tmp/torchenv/bin/python scripts/fuzz_pytorch.py --programs 2000

Each program is ``--ops`` random operations (+ - * / ** exp log tanh sigmoid relu abs softplus
sqrt neg) over three inputs, at a random point. For every program where PyTorch's value and
first derivatives are finite, it compares, to 1e-9 relative (1e-7 for second derivatives):

* the value, ``backward()``'s gradients and ``grad(create_graph=True)``'s gradients;
* the gradients of the program compiled by ``compile_graph``;
* the second derivatives: ``grad`` of the first input's gradient graph.

Programs PyTorch takes through an undefined point (log of a negative: NaN there, an error in
stepgrad) are counted as skipped. It prints the first mismatches in full and a summary line;
the exit code is 1 when any program disagreed.

One difference is known (1 program in 3,779 with the default seed and ``--programs 6000``): a
second derivative through a relu that is off, when the first-order gradient arriving there was
infinite. Both give the first derivatives 0 there (relu passes exactly 0); PyTorch keeps the
masked gradient connected to the infinite slope behind it, so differentiating once more meets
0 * inf and gives NaN, where stepgrad's gradient graph has no such path and gives 0.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import warnings

import torch

from autograd import Value, compile_graph, grad

UNARY = ("exp", "log", "tanh", "sigmoid", "relu", "abs", "softplus", "sqrt", "neg")
BINARY = ("+", "-", "*", "/", "pow")
EXPONENTS = (2.0, 3.0, 0.5, -1.0)


def program(rng: random.Random, inputs: int, ops: int) -> list[tuple]:
    """Random steps (op, operand index, operand index or ("const", exponent) or None)."""
    steps: list[tuple] = []
    for k in range(ops):
        available = inputs + k
        if rng.random() < 0.5:
            op = rng.choice(BINARY)
            a, b = rng.randrange(available), rng.randrange(available)
            steps.append((op, a, ("const", rng.choice(EXPONENTS)) if op == "pow" else b))
        else:
            steps.append((rng.choice(UNARY), rng.randrange(available), None))
    return steps


def binary(op: str, a, b):
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    return a**b


def torch_op(op: str, a, b=None):
    if op in BINARY:
        return binary(op, a, b)
    if op == "neg":
        return -a
    if op == "softplus":
        return torch.nn.functional.softplus(a)
    return getattr(a, op)()  # exp log tanh sigmoid relu abs sqrt


def stepgrad_op(op: str, a, b=None):
    if op in BINARY:
        return binary(op, a, b)
    if op == "neg":
        return -a
    if op == "abs":
        return abs(a)
    return getattr(a, op)()


def run(steps: list[tuple], xs: list, apply) -> object:
    values = list(xs)
    for op, a, b in steps:
        if isinstance(b, tuple):
            values.append(apply(op, values[a], b[1]))
        elif b is None:
            values.append(apply(op, values[a]))
        else:
            values.append(apply(op, values[a], values[b]))
    return values[-1]


def close(x: float, y: float, tol: float = 1e-9) -> bool:
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    return abs(x - y) <= tol * max(1.0, abs(x), abs(y))


def by_pytorch(steps: list[tuple], point: list[float]):
    """(value, first derivatives, second derivatives of the first one), or None if skipped."""
    xs = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in point]
    try:
        out = run(steps, xs, torch_op)
        if not math.isfinite(out.item()):
            return None
        firsts = torch.autograd.grad(out, xs, create_graph=True, allow_unused=True)
        firsts = [g if g is not None else torch.tensor(0.0) for g in firsts]
        if not all(math.isfinite(g.item()) for g in firsts):
            return None
        seconds = (
            torch.autograd.grad(firsts[0], xs, allow_unused=True)
            if firsts[0].requires_grad
            else [None] * len(xs)
        )
    except RuntimeError:
        return None
    return (
        out.item(),
        [g.item() for g in firsts],
        [g.item() if g is not None else 0.0 for g in seconds],
    )


def by_stepgrad(steps: list[tuple], point: list[float]):
    """The same from stepgrad: value, backward(), grad(create_graph), compiled, seconds."""
    xs = [Value(p, f"x{i}") for i, p in enumerate(point)]
    try:
        out = run(steps, xs, stepgrad_op)
    except (ValueError, ZeroDivisionError):
        return None  # an undefined op: stepgrad refuses it, PyTorch gives NaN
    firsts = grad(out, xs, create_graph=True, allow_unused=True)
    graph_firsts = [g.data if isinstance(g, Value) else (g or 0.0) for g in firsts]
    seconds = [0.0] * len(xs)
    if isinstance(firsts[0], Value):
        seconds = [g if g is not None else 0.0 for g in grad(firsts[0], xs, allow_unused=True)]
        seconds = [g.data if isinstance(g, Value) else g for g in seconds]
    out.backward()
    backward = [x.grad for x in xs]
    compiled = compile_graph(lambda *vs: run(steps, list(vs), stepgrad_op), *point)
    _, compiled_grads = compiled(*point)
    return out.data, backward, graph_firsts, list(compiled_grads), seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=2000, help="programs to try (2000)")
    parser.add_argument("--ops", type=int, default=8, help="operations per program (8)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--show", type=int, default=5, help="mismatches printed in full (5)")
    args = parser.parse_args(argv)
    torch.set_default_dtype(torch.float64)
    warnings.simplefilter("ignore")  # NonFiniteWarning: the numbers are compared instead
    rng = random.Random(args.seed)
    checked = skipped = mismatches = 0
    for _ in range(args.programs):
        steps = program(rng, 3, args.ops)
        point = [rng.uniform(0.2, 2.0) * rng.choice((1, -1)) for _ in range(3)]
        want = by_pytorch(steps, point)
        got = by_stepgrad(steps, point) if want is not None else None
        if want is None or got is None:
            skipped += 1
            continue
        checked += 1
        value, backward, graph_firsts, compiled, seconds = got
        same = (
            close(value, want[0])
            and all(close(a, b) for a, b in zip(backward, want[1]))
            and all(close(a, b) for a, b in zip(graph_firsts, want[1]))
            and all(close(a, b) for a, b in zip(compiled, want[1]))
            and all(close(a, b, 1e-7) for a, b in zip(seconds, want[2]))
        )
        if not same:
            mismatches += 1
            if mismatches <= args.show:
                print(f"MISMATCH {steps} at {point}")
                print(f"  stepgrad: value {value}, backward {backward}, grad {graph_firsts}, "
                      f"compiled {compiled}, second {seconds}")  # fmt: skip
                print(f"  PyTorch:  value {want[0]}, first {want[1]}, second {want[2]}")
    print(
        f"{checked} programs compared, {mismatches} mismatches, {skipped} skipped "
        f"(undefined or non-finite in PyTorch); torch {torch.__version__}"
    )
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
