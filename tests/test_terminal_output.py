"""The sheet in a terminal: colour only on a terminal (and never with NO_COLOR), one part at a
time with --part, and a reader that goes away (`stepgrad example | head`) ends it quietly."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli_example import closed_form_2_2_1, shown

ROOT = Path(__file__).resolve().parents[1]
ESC = "\x1b["


def stepgrad(*args: str) -> list[str]:
    return [sys.executable, "-m", "viz.cli", *args]


def environment(**changes: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    env["TERM"] = "xterm-256color"
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_on_a_terminal(*args: str, env: dict[str, str]) -> str:
    """What `stepgrad args` writes to a terminal (a pseudo-terminal's other end)."""
    main, other = pty.openpty()
    process = subprocess.Popen(
        stepgrad(*args), stdout=other, stderr=subprocess.PIPE, cwd=ROOT, env=env
    )
    os.close(other)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    assert process.wait(timeout=120) == 0
    assert process.stderr.read() == b""
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def run_piped(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        stepgrad(*args), capture_output=True, text=True, cwd=ROOT, env=env or environment(),
        timeout=120,
    )


# ---------------------------------------------------------------------------------------------
# Colour
# ---------------------------------------------------------------------------------------------


def test_a_terminal_gets_bold_headings_and_red_for_a_wrong_printed_number():
    out = run_on_a_terminal("example", "2-2-1", "--steps", "0", env=environment())
    assert f"{ESC}1mForward pass{ESC}0m" in out
    assert f"{ESC}1mPrinted numbers check{ESC}0m" in out
    # the case study prints z1[0] = 0.31 for 0.5·0.5 + 0.3·0.2 + 0.1 = 0.41: a red ✗ line
    z_line = next(i for i, line in enumerate(out.splitlines()) if line.startswith("  z1[0] ="))
    mark = out.splitlines()[z_line + 1]
    assert mark.strip().startswith(f"{ESC}31m✗ printed 0.31") and mark.endswith(f"{ESC}0m")
    # the numbers themselves are untouched
    assert f"= {shown(closed_form_2_2_1()['z1[0]'])}\n" in out


def test_no_color_turns_colour_off_even_on_a_terminal():
    out = run_on_a_terminal("example", "--steps", "0", env=environment(NO_COLOR="1"))
    assert "Forward pass" in out and ESC not in out


def test_a_pipe_never_gets_colour():
    result = run_piped("example", "--steps", "0")
    assert result.returncode == 0 and "Forward pass" in result.stdout
    assert ESC not in result.stdout


# ---------------------------------------------------------------------------------------------
# One part of the sheet
# ---------------------------------------------------------------------------------------------

HEADINGS = ("Given", "Forward pass", "Loss", "Output error", "Hidden errors", "Gradients",
            "Update (η = 0.1)", "Training", "Printed numbers check")  # fmt: skip
PART_HEADINGS = {
    "forward": {"Forward pass"},
    "loss": {"Loss"},
    "backward": {"Output error", "Hidden errors", "Gradients"},
    "update": {"Update (η = 0.1)", "Training"},
    "check": {"Printed numbers check"},
}


@pytest.mark.parametrize("part", list(PART_HEADINGS))
def test_part_prints_only_its_sections(part):
    result = run_piped("example", "2-2-1", "--part", part, "--steps", "2")
    assert result.returncode == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Worked example 2-2-1")
    headings = {line.split(":")[0] for line in lines if line and not line.startswith(" ")}
    headings = {h for h in headings if h.startswith(HEADINGS)} - {lines[0]}
    assert {h for h in HEADINGS if any(x.startswith(h) for x in headings)} == PART_HEADINGS[part]


def test_the_loss_part_shows_the_hand_computed_loss():
    expected = closed_form_2_2_1()
    out = run_piped("example", "--part", "loss").stdout
    # L = (t − ŷ)² with t = 0.8 and ŷ = σ(z2), computed with plain math in test_cli_example
    assert f"= {shown(expected['loss'])}\n" in out
    assert "Forward pass" not in out and "δ2" not in out


@pytest.mark.parametrize(
    "args",
    [("--part", "loss", "--format", "json"), ("--part", "loss", "--quiz")],
)
def test_part_with_another_format_is_one_error_line(args):
    result = run_piped("example", *args)
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "--part" in result.stderr


def test_an_unknown_part_lists_the_parts():
    result = run_piped("example", "--part", "middle")
    assert result.returncode == 2 and result.stdout == ""
    last = result.stderr.strip().splitlines()[-1]  # after the usage lines, as for every option
    assert "--part" in last and "'forward', 'loss', 'backward', 'update', 'check'" in last


# ---------------------------------------------------------------------------------------------
# A closed pipe
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [("example",), ("example", "--format", "json"), ("trace", "x*y", "x=2", "y=3"),
     ("graph", "-o", "-", "--format", "dot")],
)
def test_a_reader_that_is_already_gone_ends_the_command_quietly(args):
    # the read end is closed before the command writes a byte: every write meets a closed pipe
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            stepgrad(*args), stdout=write_end, stderr=subprocess.PIPE, cwd=ROOT, timeout=120
        )
    finally:
        os.close(write_end)
    assert result.stderr == b""  # no traceback, no "Exception ignored", no error line
    assert result.returncode == 141  # 128 + SIGPIPE, as a shell reports `cmd | head`


def test_reading_one_line_and_closing_ends_quietly():
    process = subprocess.Popen(
        stepgrad("example", "--steps", "5000"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=ROOT, env=environment(),
    )
    first = process.stdout.readline()
    process.stdout.close()
    assert process.wait(timeout=120) in (0, 141)
    assert first.startswith(b"Worked example 2-2-1") and process.stderr.read() == b""
