"""`stepgrad example FILE` from the command line: the template, bad files, the quiz's edges."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_lessons import CLASSIC, classic_by_hand
from viz.cli import main

REPO = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONIOENCODING": "utf-8"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["example", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def template(capsys, tmp_path) -> Path:
    code, out, _ = run(capsys, "--template")
    assert code == 0
    path = tmp_path / "net.toml"
    path.write_text(out, encoding="utf-8")
    return path


def test_template_runs_as_it_is_in_every_format(capsys, template):
    code, text, _ = run(capsys, str(template), "--steps", "2")
    assert code == 0
    assert "net_h1 = w1·i1 + w2·i2 + b1 = 0.15·0.05 + 0.2·0.1 + 0.35 = 0.3775" in text
    assert "E after 2 updates" in text
    code, md, _ = run(capsys, str(template), "--format", "markdown")
    assert code == 0 and md.startswith("# Worked example my-network")
    code, js, _ = run(capsys, str(template), "--format", "json", "--lr", "0.25")
    data = json.loads(js)
    assert data["lr"] == 0.25 and data["printed_check"] is None


def test_template_quiz_and_step_page(capsys, monkeypatch, template, tmp_path):
    monkeypatch.setattr(sys, "stdin", io.StringIO("0.3775\nq\n"))
    page = tmp_path / "net.html"
    code, out, _ = run(capsys, str(template), "--quiz", "--graph", str(page))
    assert code == 0
    assert "✓ right." in out and "Score: 1 of" in out
    assert f"wrote {page} (step-by-step page of the my-network example, html)" in out
    assert page.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


def test_own_file_graph_as_svg_has_the_users_symbols(capsys, tmp_path):
    spec = tmp_path / "classic.json"
    spec.write_text(json.dumps(CLASSIC), encoding="utf-8")
    path = tmp_path / "g.dot"
    code, out, _ = run(capsys, str(spec), "--steps", "0", "--graph", str(path))
    assert code == 0
    dot = path.read_text(encoding="utf-8")
    for label in ("net_h1", "out_o2", "w8", "b1"):
        assert label in dot
    assert "E_total = ½·(t1 − out_o1)² + ½·(t2 − out_o2)² = " in out
    v = classic_by_hand()
    assert f"= {v['loss']:.6g}\n" in out


def _write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def _classic_toml_without_orientation() -> str:
    return """inputs = [0.05, 0.10]
targets = [0.01]
[[layers]]
activation = "sigmoid"
weights = [[0.15, 0.20]]
biases = [0.35]
[loss]
kind = "half_squared_error"
"""


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("net.toml", _classic_toml_without_orientation(),
         'net.toml: layers[0].orientation: missing: add orientation = "[unit][input]"'),
        ("net.json", json.dumps({**CLASSIC, "layers": [{**CLASSIC["layers"][0],
                                                         "activation": "swish"}]}),
         "net.json: layers[0].activation: unknown value 'swish'"),
        ("net.json", b"\x80\x03}q\x00(X\x05\x00\x00\x00pickle", "net.json: not a text file"),
        ("net.json", "{}".encode("utf-16"), "net.json: not a text file"),
        ("net.json", "[" * 100_000 + "]" * 100_000, "net.json: nested deeper than"),
        ("net.json", json.dumps(CLASSIC).replace("0.05", "9" * 401),
         "net.json: inputs.values[0]: must be a finite"),
        ("net.json", '{"inputs": [NaN]}', "net.json"),
        ("net.toml", "inputs = [", "net.toml: not valid TOML"),
        ("net.toml", "x" * 2_000_000, "net.toml"),
        ("net.yaml", "inputs: [1]", "unknown example"),
    ],
)  # fmt: skip
def test_bad_files_give_one_line_naming_the_file_and_field(capsys, tmp_path, name, content,
                                                          message):
    path = _write(tmp_path, name, content)
    code, out, err = run(capsys, str(path))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("stepgrad: error: ")
    assert message in err.replace(str(tmp_path) + os.sep, ""), err


def test_missing_file_is_one_line(capsys, tmp_path):
    code, out, err = run(capsys, str(tmp_path / "nope.toml"))
    assert code == 2 and out == "" and "nope.toml" in err and err.count("\n") == 1


def test_graph_with_an_unsupported_extension_fails_before_printing(capsys, tmp_path):
    code, out, err = run(capsys, "2-2-1", "--graph", str(tmp_path / "g.jpg"))
    assert code == 2 and out == ""
    assert "unsupported file type '.jpg'" in err


# ---------------------------------------------------------------------------------------------
# The quiz at the edges: no stdin, endless input, Ctrl-C
# ---------------------------------------------------------------------------------------------


def _quiz_process(stdin) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "viz.cli", "example", "1-1-1", "--quiz"],
        stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, env=ENV,
    )  # fmt: skip


def test_quiz_with_closed_stdin_ends_cleanly():
    # `stepgrad example --quiz <&-`: the process starts without a file descriptor 0
    done = subprocess.run(
        f'"{sys.executable}" -m viz.cli example 1-1-1 --quiz <&-',
        shell=True, capture_output=True, cwd=REPO, env=ENV, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert b"Traceback" not in done.stderr
    assert b"Score: 0 of" in done.stdout


def test_quiz_from_dev_zero_ends_with_bounded_memory():
    with open("/dev/zero", "rb") as zero:
        process = _quiz_process(zero)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert b"Traceback" not in err
    assert b"answers in a row that are not numbers" in out
    assert len(out) < 100_000  # a few lines per junk answer, a bounded number of answers


def test_quiz_ctrl_c_ends_with_the_score_so_far():
    process = _quiz_process(subprocess.PIPE)
    process.stdin.write(b"0.3\n")
    process.stdin.flush()
    time.sleep(3)  # let it answer the first question and wait for the second
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert b"Traceback" not in err
    assert b"Interrupted: stopping the quiz." in out
    assert b"Score: 1 of" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--collapse"], "--collapse and --view apply to --graph"),
        (["--graph", "g.svg", "--view", "network", "--collapse"], "the network view already"),
    ],
)  # fmt: skip
def test_drawing_options_that_cannot_work_fail_before_printing(capsys, tmp_path, argv, message):
    argv = [str(tmp_path / a) if a.endswith((".html", ".svg")) else a for a in argv]
    code, out, err = run(capsys, "2-2-1", *argv)
    assert code == 2 and out == ""
    assert message in " ".join(err.split())


def test_compare_printed_is_the_new_spelling_of_compare_seed(capsys):
    _, out, _ = run(capsys, "1-1-1", "--compare-printed", "--steps", "0")
    assert "prints no numbers for this example" in out
    _, out, _ = run(capsys, "2-2-1", "--no-compare-printed", "--steps", "0")
    assert "Printed numbers check" not in out


def test_training_a_large_lesson_for_long_is_refused_before_any_work(capsys, tmp_path):
    layer = {"activation": "tanh", "orientation": "[unit][input]",
             "weights": [[0.1] * 32 for _ in range(32)], "biases": [0.0] * 32}  # fmt: skip
    spec = {"inputs": [0.1] * 32, "targets": [0.5] * 32, "layers": [layer] * 8,
            "loss": "squared_error"}  # fmt: skip
    path = tmp_path / "big.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    start = time.perf_counter()
    code, out, err = run(capsys, str(path), "--steps", "5000")
    assert code == 2 and out == ""
    assert "at most 23 steps for this network" in err  # 200_000 // (8 * 32 * 33)
    assert time.perf_counter() - start < 10


def test_the_command_line_names_every_built_in_lesson():
    # viz.cli writes the names out (importing nn.examples would load the engine before --help)
    from nn.examples import EXAMPLE_NAMES, PROGRAM_EXAMPLE_NAMES
    from viz.cli import EXAMPLES, PROGRAM_EXAMPLES

    assert EXAMPLES == EXAMPLE_NAMES
    assert PROGRAM_EXAMPLES == PROGRAM_EXAMPLE_NAMES
