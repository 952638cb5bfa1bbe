"""Plumbing shared by the benchmark scripts: worker subprocesses, formatting, targets."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass

# A worker prints exactly one line starting with this marker; anything else it prints (warnings,
# a library's chatter) is ignored by the parent.
RESULT_MARKER = "BENCH-RESULT "


# ---------------------------------------------------------------------------------------------
# Worker side
# ---------------------------------------------------------------------------------------------


def emit(result: dict) -> None:
    """Send a worker's result to the parent and end the worker process at once.

    ``os._exit`` skips tearing down the graph the worker built: freeing close to a million
    nodes takes longer than measuring them and would only slow the whole run down.
    """
    sys.stdout.write(RESULT_MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


# ---------------------------------------------------------------------------------------------
# Parent side
# ---------------------------------------------------------------------------------------------


class WorkerError(RuntimeError):
    """A worker process ended without reporting a result (crash, killed, timeout)."""


def run_worker(script: str, args: list[str], timeout: float = 600.0) -> dict:
    """Run ``python script --worker ... args`` in a fresh interpreter; return its result dict.

    A fresh process per measurement means each engine starts from an empty heap, with the
    garbage collector in its default state, and that one engine's leftovers cannot slow the
    other down.
    """
    cmd = [sys.executable, script, *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise WorkerError(f"worker {' '.join(args)} timed out after {timeout:.0f} s") from exc
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER) :])
    how = (
        f"killed by signal {-proc.returncode}"
        if proc.returncode < 0
        else f"exit code {proc.returncode}"
    )
    tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
    raise WorkerError(f"worker {' '.join(args)} reported no result ({how}):\n{tail}")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1, with a message naming the bad value otherwise."""
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def machine_line() -> str:
    """One line describing where the numbers were measured."""
    cpus = os.cpu_count() or "?"
    return (
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}, {cpus} CPUs, "
        f"recursion limit {sys.getrecursionlimit()}, garbage collector on"
    )


def seconds(t: float | None) -> str:
    """A duration for a table cell."""
    if t is None:
        return "-"
    if t < 0.01:
        return f"{t * 1000:.2f} ms"
    return f"{t:.3f} s"


def ratio_text(r: float | None) -> str:
    """A speed or memory ratio for a table cell."""
    return "-" if r is None else f"{r:.1f}x"


def table(rows: list[list[str]], header: list[str]) -> str:
    """Plain fixed-width table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = str(cells[0]).ljust(widths[0])
        rest = [str(c).rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return "  " + "  ".join([first, *rest])

    sep = "  " + "  ".join("-" * w for w in widths)
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


@dataclass
class Target:
    """One performance target: what is required, what was measured, and whether it holds."""

    name: str
    measured: str
    passed: bool

    def line(self) -> str:
        """``PASS``/``FAIL`` followed by the target and the measured figure."""
        return f"  {'PASS' if self.passed else 'FAIL'}  {self.name}  (measured: {self.measured})"


def finish(targets: list[Target], check: bool, results: dict, json_path: str | None) -> int:
    """Print the target lines, write the JSON file if asked; return the process exit code."""
    print("\nTargets")
    for t in targets:
        print(t.line())
    results["targets"] = [
        {"name": t.name, "measured": t.measured, "passed": t.passed} for t in targets
    ]
    if json_path:
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
        print(f"\nresults written to {json_path}")
    failed = [t for t in targets if not t.passed]
    if failed and check:
        print(f"\n{len(failed)} target(s) missed (--check): exit code 1")
        return 1
    return 0
