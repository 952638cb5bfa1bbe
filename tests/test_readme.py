"""README's Python examples run as written, and print the numbers the README says they print."""

from __future__ import annotations

import math
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_python_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # examples may write files
    exec(compile(BLOCKS[index], f"README block {index}", "exec"), {})


def test_quick_start_prints_the_hand_computed_numbers(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[0], "README quick start", "exec"), {})
    first = capsys.readouterr().out.splitlines()[0].split()
    # y = sigmoid(w x + b) with x = 0.5, w = -1.5, b = 0.3, by hand:
    s = 1.0 / (1.0 + math.exp(-(-1.5 * 0.5 + 0.3)))
    d = s * (1.0 - s)
    assert [float(v) for v in first] == pytest.approx([s, -1.5 * d, 0.5 * d, d])
