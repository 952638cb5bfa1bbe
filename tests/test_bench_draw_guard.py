"""The size-guard benchmark script runs and its check holds on a graph past the guard."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_draw_guard.py"


def test_guard_benchmark_refuses_a_large_graph_and_its_check_passes(capsys):
    spec = importlib.util.spec_from_file_location("bench_draw_guard", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--nodes", "200000", "--check"]) == 0
    assert "refused in" in capsys.readouterr().out
