"""Packaging: the right `autograd` is imported, the console script works, layers import one way."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import autograd
from viz.cli import main

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_autograd_is_this_project_not_the_pypi_package():
    # PyPI's unrelated `autograd` package imports under the same name.
    assert pathlib.Path(autograd.__file__).resolve().parent == ROOT / "autograd"
    assert hasattr(autograd, "Value") and hasattr(autograd, "trace_backward")


def test_version_flag_prints_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exit_:
        assert exit_.code == 0
    assert capsys.readouterr().out.strip() == f"stepgrad {autograd.__version__}"


def test_help_lists_the_commands():
    result = subprocess.run(
        [sys.executable, "-m", "viz.cli", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0
    assert "example" in result.stdout and "graph" in result.stdout


def _imports(package: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / package).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
    return found


def test_layers_import_in_one_direction_only():
    assert not _imports("autograd") & {"nn", "viz"}
    assert "viz" not in _imports("nn")


def test_every_module_starts_with_a_docstring():
    for package in ("autograd", "nn", "viz"):
        for path in (ROOT / package).glob("*.py"):
            doc = ast.get_docstring(ast.parse(path.read_text()))
            assert doc, f"{path.relative_to(ROOT)} has no module docstring"
