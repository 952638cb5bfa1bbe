"""README's lesson sections print exactly what they show.

In "Your own network", "Your own expression" and "Check a printed example", each ``$ stepgrad``
block prints exactly the output shown under it, with the files shown above it.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from viz.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"
TEXT = README.read_text(encoding="utf-8")
FILES = {
    m.group(1): m.group(0).partition("\n")[2]
    for m in re.finditer(r"```toml\n# file: (\S+)\n.*?(?=```)", TEXT, flags=re.S)
}
FILES = {
    name: block.rsplit("```", 1)[0] if "```" in block else block for name, block in FILES.items()
}
RUNS = re.findall(r"```console\n\$ (stepgrad [^\n]*)\n(.*?)```", TEXT, flags=re.S)


def test_readme_shows_a_network_an_expression_and_a_printed_example():
    assert {"neuron.toml", "book.toml"} <= set(FILES)
    commands = [command for command, _ in RUNS]
    assert any(c.startswith("stepgrad trace ") for c in commands)
    assert any("book.toml" in c for c in commands)


@pytest.mark.parametrize("command, shown", RUNS, ids=[c for c, _ in RUNS])
def test_readme_command_prints_what_the_readme_shows(command, shown, tmp_path, monkeypatch):
    for name, content in FILES.items():
        (tmp_path / name).write_text(f"# file: {name}\n{content}", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(shlex.split(command)[1:])
    assert code == 0
    assert out.getvalue() == shown
