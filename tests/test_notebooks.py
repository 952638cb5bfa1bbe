"""Every notebook in notebooks/ runs top to bottom, and is committed executed and small.

The notebooks assert what they claim (engine against hand arithmetic, against NumPy, against
finite differences), so running them is a test of the library as well as of the lessons.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
LESSONS = {
    "01_worked_example_2-2-1.ipynb",
    "02_computation_graphs.ipynb",
    "03_training_an_mlp.ipynb",
    "04_checking_against_numpy.ipynb",
    "05_gradients_of_gradients.ipynb",
    "06_your_own_lesson.ipynb",
}
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # IPython colours its tracebacks
MAX_BYTES = 1_000_000  # committed with outputs, but no megabyte pictures
CELL_TIMEOUT = 120  # seconds per cell


@pytest.fixture
def kernel_is_this_python(tmp_path, monkeypatch):
    """Point the kernel "python3" at this interpreter, whatever kernels the user has installed.

    A kernel spec found first on JUPYTER_PATH wins over the user's and the system's, so the
    notebooks import this checkout's packages, not another environment's. A fresh IPYTHONDIR
    keeps the user's IPython start-up scripts out of the run.
    """
    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (stepgrad tests)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))


def test_every_lesson_is_in_the_notebooks_folder():
    missing = LESSONS - {path.name for path in NOTEBOOKS}
    assert not missing, f"missing from {NOTEBOOKS_DIR}: {sorted(missing)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom_without_error(path, kernel_is_this_python):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},
    )
    failure = None
    try:
        client.execute()
    except CellExecutionError as error:
        failure = ANSI_COLOUR.sub("", str(error))
    if failure is not None:  # outside the except: report the cell, not a chain of tracebacks
        pytest.fail(f"{path.name}: a cell raised an error\n{failure}", pytrace=False)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_executed_with_outputs_and_small(path):
    size = path.stat().st_size
    assert size < MAX_BYTES, f"{path.name} is {size} bytes; keep pictures small"
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert all(cell.source.strip() for cell in notebook.cells), f"{path.name} has an empty cell"
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{path.name} has no code cells"
    counts = [cell.execution_count for cell in code]
    # 1, 2, 3, ...: saved right after one run from the top in a fresh kernel
    assert counts == list(range(1, len(code) + 1)), (
        f"{path.name}: execution counts {counts}; restart the kernel, run all, then save"
    )
    outputs = [output for cell in code for output in cell.outputs]
    assert outputs, f"{path.name} was saved without its outputs"
    errors = [output for output in outputs if output.output_type == "error"]
    assert not errors, f"{path.name} was saved with an error output: {errors[0].get('ename')}"


def readme_notebook_command() -> list[str]:
    """The command docs/notebooks.md gives for running the lessons, as argv."""
    section = (ROOT / "docs" / "notebooks.md").read_text(encoding="utf-8")
    commands = re.findall(r"```bash\n(.*?)\n```", section, flags=re.DOTALL)
    assert len(commands) == 1, "docs/notebooks.md should give exactly one command"
    return shlex.split(commands[0])


def test_readme_command_runs_a_lesson_and_writes_a_page(kernel_is_this_python, tmp_path):
    # README's own command, on one lesson instead of all (the test above runs every one), with
    # this environment's jupyter in place of .venv/bin/jupyter. The lesson is a copy with its
    # outputs removed, so every output on the page was made by this run.
    argv = readme_notebook_command()
    assert argv[0] == ".venv/bin/jupyter" and argv[1] == "nbconvert", argv
    assert "notebooks/*.ipynb" in argv and "--execute" in argv
    lesson = nbformat.read(NOTEBOOKS_DIR / "01_worked_example_2-2-1.ipynb", as_version=4)
    for cell in lesson.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    (tmp_path / "notebooks").mkdir()
    nbformat.write(lesson, tmp_path / "notebooks" / "lesson.ipynb")
    for template in NOTEBOOKS_DIR.glob("*.j2"):  # the page's template, as the command names it
        (tmp_path / "notebooks" / template.name).write_bytes(template.read_bytes())
    argv = [sys.executable, "-m", "jupyter", *argv[1:]]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    page = (tmp_path / "build" / "notebooks" / "lesson.html").read_text(encoding="utf-8")
    assert re.search(r"In\s\[1\]:", page)  # executed: the cells are numbered (\s: a no-break space)
    assert page.count("jp-RenderedText") >= 3  # and their printed outputs are on the page
    # read offline: no script comes from the internet (nbconvert's own page takes three from a CDN)
    scripts = re.findall(r"<script\b[^>]*>", page, flags=re.IGNORECASE)
    remote = [tag for tag in scripts if re.search(r"src\s*=\s*[\"']?\s*(https?:)?//", tag)]
    assert not remote, remote
    assert "<svg" in page and 'width="100%"' in page  # the drawing, at the page's width
