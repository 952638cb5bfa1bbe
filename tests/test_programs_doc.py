"""docs/programs.md: each command prints the lines shown; the lesson and Python examples work."""

from __future__ import annotations

import pathlib
import re
import shlex
import subprocess
import sys

import pytest
import tomllib

from nn.spec import parse_spec
from viz.explain import explain

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "programs.md"
TEXT = DOC.read_text(encoding="utf-8")
FILES = dict(re.findall(r"```text (\S+)\n(.*?)```", TEXT, flags=re.S))
CONSOLE = re.findall(r"```console excerpt\n(.*?)```", TEXT, flags=re.S)


def _examples() -> list[tuple[str, list[str]]]:
    """(command, expected lines) for each console block; a command may span lines (quotes)."""
    examples = []
    for block in CONSOLE:
        lines = block.rstrip("\n").split("\n")
        assert lines[0].startswith("$ stepgrad ")
        command = lines[0][2:]
        k = 1
        while True:
            try:
                shlex.split(command)
                break
            except ValueError:  # an open quote: the command goes on on the next line
                command += "\n" + lines[k]
                k += 1
        examples.append((command, lines[k:]))
    return examples


EXAMPLES = _examples()


def test_the_doc_has_examples():
    assert len(EXAMPLES) >= 6 and "steps.txt" in FILES


@pytest.mark.parametrize(("command", "expected"), EXAMPLES, ids=[c[:40] for c, _ in EXAMPLES])
def test_each_command_prints_what_the_doc_shows(command, expected, tmp_path):
    for name, content in FILES.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    argv = [sys.executable, "-m", "viz.cli", *shlex.split(command)[1:]]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    error = any(line.startswith("stepgrad: error:") for line in expected)
    assert run.returncode == (2 if error else 0), run.stderr
    shown = {line.strip() for line in (run.stdout + run.stderr).splitlines()}
    for line in expected:
        assert line.strip() in shown, line


def test_the_lesson_file_example_builds_and_its_printed_number_checks_out():
    block = re.search(r"```toml\n(.*?)```", TEXT, flags=re.S)
    assert block is not None
    spec = parse_spec(tomllib.loads(block.group(1)), "docs/programs.md")
    explanation = explain(spec, steps=1)
    by_symbol = {q.symbol: q for q in explanation.quantities}
    assert by_symbol["ŷ"].value == 0.5 * 2.0  # q = w*x, written ŷ
    assert by_symbol["ŷ"].comparison is not None and by_symbol["ŷ"].comparison.mismatch is False
    assert by_symbol["∂L/∂w"].value == pytest.approx(2 * (1.0 - 1.5) * 2.0, rel=1e-12)


def test_the_python_example_prints_what_its_comment_says(capsys):
    block = re.search(r"```python\n(.*?)```", TEXT, flags=re.S)
    assert block is not None
    exec(compile(block.group(1), "docs/programs.md", "exec"), {})  # our own doc's code
    comment = block.group(1).rsplit("# ", 1)[1].strip()
    assert capsys.readouterr().out.split() == comment.split()
