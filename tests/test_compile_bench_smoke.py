"""Smoke test for benchmarks/bench_compiled.py: it runs (--quick), prints its ratios, and the
compiled runs end with exactly the losses and parameters of fit without compiling.

Timing targets are never asserted here (a loaded machine would make that flaky); the script
checks them itself with --check.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("micrograd")

ROOT = Path(__file__).resolve().parent.parent


def test_bench_compiled_quick_run_reports_ratios_and_equal_training(tmp_path):
    path = tmp_path / "compiled.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_compiled.py"), "--quick",
         "--json", str(path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "ratio micrograd/compiled fine 2-16-16-1:" in out
    assert "ratio fit/compiled fused 2-64-64-1:" in out
    assert "Targets" in out
    data = json.loads(path.read_text())
    assert set(data["differences"]) == {"fine-16", "fused-16", "fine-64", "fused-64"}
    assert all(d <= 1e-12 for d in data["differences"].values())
    for run, t in data["per_epoch"].items():
        assert t > 0.0, run
