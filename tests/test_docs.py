"""Every example in README.md and docs/*.md works as written.

* each ```python block runs (in a fresh folder, since examples may write files);
* each line of a ```bash block that runs `stepgrad` exits with 0, the lines of a block in order in
  one folder (so `stepgrad example --template > my.toml` then `stepgrad example my.toml` works);
* each ```console block `$ stepgrad ...` prints exactly the output shown under it, with the
  ```toml blocks headed `# file: NAME` of the same page written beside it;
* every relative link points at a file of the repository.

A new page in docs/ is tested by being there.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from viz.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
TEXTS = {page: page.read_text(encoding="utf-8") for page in PAGES}

# Pages written on other branches at the same time as this test (and the picture the README
# shows): linked already, so that they are reachable the moment they arrive. Once they are all
# in the repository this set is to be emptied; every other link must point at a file.
ARRIVING: set[str] = set()  # pages linked before they are written (none now: every link resolves)


def _name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def _blocks(language: str) -> list[tuple[str, int, str]]:
    """(page, index, code) of every fenced block in that language, page by page."""
    found = []
    for page, text in TEXTS.items():
        for i, code in enumerate(re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)):
            found.append((_name(page), i, code))
    return found


def _files(text: str) -> dict[str, str]:
    """The ```toml blocks of a page that start with `# file: NAME`: name -> content."""
    return {
        m.group(1): f"# file: {m.group(1)}\n{m.group(2)}"
        for m in re.finditer(r"```toml\n# file: (\S+)\n(.*?)```", text, flags=re.S)
    }


def _runs_stepgrad(line: str) -> bool:
    """A shell line whose command (after any VAR=value settings) is `stepgrad`."""
    words = line.split()
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", words[0]):
        words = words[1:]
    return bool(words) and words[0] == "stepgrad"


PYTHON = _blocks("python")
BASH = [
    (page, i, [line for line in code.splitlines() if _runs_stepgrad(line)])
    for page, i, code in _blocks("bash")
    if any(_runs_stepgrad(line) for line in code.splitlines())
]
RUNS = [
    (_name(page), command, shown)
    for page, text in TEXTS.items()
    for command, shown in re.findall(r"```console\n\$ (stepgrad [^\n]*)\n(.*?)```", text, re.S)
]


# ---------------------------------------------------------------------------------------------
# The front door
# ---------------------------------------------------------------------------------------------


def test_readme_is_a_front_door_of_at_most_150_lines_with_the_two_commands():
    text = TEXTS[README]
    assert len(text.splitlines()) <= 150
    assert "```bash\nbash scripts/setup.sh && .venv/bin/stepgrad example\n```" in text
    assert "```bash\n.venv/bin/python -m pytest\n```" in text
    assert re.search(r"^!\[[^\]]*\]\([^)]+\)$", text, flags=re.M)  # a picture
    assert "docs/index.md" in text


def test_the_docs_show_python_a_network_an_expression_and_a_printed_example():
    assert sum(1 for page, _, _ in PYTHON if page == "README.md") >= 1 and len(PYTHON) >= 3
    files = {name for text in TEXTS.values() for name in _files(text)}
    assert {"neuron.toml", "book.toml"} <= files
    commands = [command for _, command, _ in RUNS]
    assert any(c.startswith("stepgrad trace ") for c in commands)
    assert any("book.toml" in c for c in commands)
    assert len(BASH) >= 3


def test_readme_quick_start_prints_the_hand_computed_numbers(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (code,) = [code for page, i, code in PYTHON if page == "README.md" and i == 0]
    exec(compile(code, "README quick start", "exec"), {})
    first = capsys.readouterr().out.splitlines()[0].split()
    # y = sigmoid(w x + b) with x = 0.5, w = -1.5, b = 0.3, by hand:
    s = 1.0 / (1.0 + math.exp(-(-1.5 * 0.5 + 0.3)))
    d = s * (1.0 - s)
    assert [float(v) for v in first] == pytest.approx([s, -1.5 * d, 0.5 * d, d])


# ---------------------------------------------------------------------------------------------
# Every example
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("page", "index", "code"), PYTHON, ids=[f"{p}-{i}" for p, i, _ in PYTHON])
def test_python_block_runs(page, index, code, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # examples may write files
    exec(compile(code, f"{page} block {index}", "exec"), {})


@pytest.mark.parametrize(("page", "index", "lines"), BASH, ids=[f"{p}-{i}" for p, i, _ in BASH])
def test_stepgrad_lines_of_a_bash_block_run(page, index, lines, tmp_path):
    env = dict(os.environ)
    # the `stepgrad` of this checkout's environment, as `source .venv/bin/activate` gives it
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    for line in lines:
        result = subprocess.run(
            ["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"{page}: {line}\n{result.stderr}"
        assert "Traceback" not in result.stderr, f"{page}: {line}\n{result.stderr}"


@pytest.mark.parametrize(("page", "command", "shown"), RUNS, ids=[c for _, c, _ in RUNS])
def test_console_block_prints_what_the_page_shows(page, command, shown, tmp_path, monkeypatch):
    for name, content in _files(TEXTS[ROOT / page]).items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(shlex.split(command)[1:])
    assert code == 0
    assert out.getvalue() == shown


# ---------------------------------------------------------------------------------------------
# Links
# ---------------------------------------------------------------------------------------------

LINKS = [
    (_name(page), target)
    for page, text in TEXTS.items()
    for target in re.findall(r"\]\(([^)\s]+)\)", text)
    if not re.match(r"[a-z]+:|#", target)
]


def test_every_relative_link_points_at_a_file():
    missing = []
    for page, target in LINKS:
        path = (ROOT / page).parent / target.split("#", 1)[0]
        where = path.resolve().relative_to(ROOT).as_posix()
        if not path.exists() and where not in ARRIVING:
            missing.append(f"{page} -> {target}")
    assert missing == []
    assert len(LINKS) >= 10


def test_readme_and_the_index_link_every_page():
    pages = {_name(p) for p in PAGES if p != README} | {p for p in ARRIVING if p.endswith(".md")}
    for front in ("README.md", "docs/index.md"):
        linked = {
            ((ROOT / front).parent / target).resolve().relative_to(ROOT).as_posix()
            for page, target in LINKS
            if page == front
        }
        assert pages - {front} <= linked, front
