"""Files users bring, made hostile (issue 16): pipes, dotted keys, huge strings, huge models and
typos are refused with one line naming the file, in bounded time and memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tracemalloc

import pytest

import nn.files as files
from nn.files import FileFormatError, read_data
from nn.mlp import MAX_BUILD_MEMORY, MLP
from nn.module import FILE_FORMAT, FILE_VERSION


def _model_document(**changes) -> dict:
    model = MLP(2, [2, 1], seed=0)
    document = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "class": "MLP",
        "config": model.config(),
        "state": model.state_dict(),
    }
    document.update(changes)
    return document


def _write(path, document) -> str:
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------------------------------------
# Not a regular file: a FIFO must not block
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "from viz.cli import main; sys.exit(main(['example', PATH]))",
        "from nn.mlp import MLP; MLP.from_file(PATH)",
        "from nn.mlp import MLP; MLP(2, [1]).load(PATH)",
    ],
)
@pytest.mark.parametrize("name", ["x.toml", "model.json"])
def test_a_fifo_is_refused_without_blocking(tmp_path, code, name):
    fifo = tmp_path / name
    os.mkfifo(fifo)
    program = f"import sys\nPATH = {str(fifo)!r}\n" + code
    # Reading a FIFO with no writer blocks forever: the timeout is the test failing.
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert f"{fifo}: is not a regular file (it is a named pipe, a FIFO)" in done.stderr


def test_a_device_is_refused_before_reading():
    with pytest.raises(FileFormatError, match=r"^/dev/zero: is not a regular file"):
        read_data("/dev/zero")


# ---------------------------------------------------------------------------------------------
# TOML keys of many dotted parts: refused before tomllib sees them
# ---------------------------------------------------------------------------------------------


def test_a_toml_key_of_50000_dotted_parts_is_refused_before_parsing(tmp_path, monkeypatch):
    path = tmp_path / "x.toml"
    path.write_text(".".join(["a"] * 50_000) + " = 1\n", encoding="utf-8")
    assert path.stat().st_size > 100_000

    def never(*args, **kwargs):
        raise AssertionError("tomllib was asked to parse it")

    monkeypatch.setattr(files._toml, "loads", never)
    with pytest.raises(FileFormatError) as error:
        read_data(path)
    assert str(error.value) == (
        f"{path}: has a key of 50000 dotted parts ('a.a.a.a.a.a.a.a.a.a.'...); at most "
        f"{files.MAX_KEY_PARTS} are allowed"
    )


@pytest.mark.parametrize(
    "text",
    [
        "[" + ".".join(["t"] * 40) + "]\nx = 1\n",  # a table header
        "x = { " + ".".join(['"q"'] * 40) + " = 1 }\n",  # quoted parts in an inline table
        "a . " * 40 + "b = 1\n",  # spaces around the dots
    ],
)
def test_every_spelling_of_a_long_dotted_key_is_counted(tmp_path, text):
    path = tmp_path / "x.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FileFormatError, match="dotted parts"):
        read_data(path)


def test_dots_inside_strings_comments_and_numbers_are_not_key_parts(tmp_path):
    path = tmp_path / "x.toml"
    dots = ".".join(["a"] * 100)
    path.write_text(
        f'a.b.c = "{dots}"\nd = \'{dots}\'\n# {dots}\ne = 1.5\nf = """\n{dots}\n"""\n',
        encoding="utf-8",
    )
    data = read_data(path)
    assert data["a"]["b"]["c"] == dots and data["f"] == dots + "\n" and data["e"] == 1.5


# ---------------------------------------------------------------------------------------------
# JSON strings: memory linear and small in the file size
# ---------------------------------------------------------------------------------------------


def _peak(function) -> int:
    tracemalloc.start()
    with contextlib.suppress(FileFormatError):
        function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def test_a_16_mib_string_in_a_model_file_costs_a_few_times_the_file(tmp_path):
    size = 16 << 20
    path = tmp_path / "model.json"
    _write(path, _model_document(**{"class": "x" * size}))
    peak = _peak(lambda: MLP.from_file(path))
    # The bytes, the decoded text and the parsed string: three copies, whatever the scan does
    # (it used to take ~120 bytes per character: 2 GB here).
    assert peak < 5 * size, f"peak {peak / 2**20:.0f} MiB"
    with pytest.raises(FileFormatError, match=r"class: holds a 'xxxx"):
        MLP.from_file(path)


def test_a_string_of_escapes_costs_no_more(tmp_path):
    size = 8 << 20
    path = tmp_path / "lesson.json"
    path.write_text('{"title": "' + "\\n" * (size // 2) + '"}', encoding="utf-8")
    peak = _peak(lambda: read_data(path, max_bytes=size + 100))
    assert peak < 5 * size, f"peak {peak / 2**20:.0f} MiB"


def test_digits_and_brackets_inside_strings_are_text(tmp_path):
    path = tmp_path / "x.json"
    text = "[" * 100 + "9" * 5000 + '\\"'
    _write(path, {"s": text})
    assert read_data(path)["s"] == text


def test_a_long_run_of_short_numbers_is_checked_in_linear_time(tmp_path):
    # 4300 digits is the longest accepted number; runs of that length back to back used to
    # be re-scanned from every digit.
    path = tmp_path / "x.json"
    _write(path, {"s": 1})
    text = "[" + ",".join(["1" * 4300] * 200) + "]"
    path.write_text(text, encoding="utf-8")
    assert len(read_data(path)) == 200


# ---------------------------------------------------------------------------------------------
# Model files: the work is bounded, typos are errors
# ---------------------------------------------------------------------------------------------


def test_a_model_of_500000_layers_is_refused_before_building(tmp_path):
    config = {**MLP(1, [1]).config(), "nin": 1, "sizes": [1] * 500_000}
    path = _write(tmp_path / "deep.json", _model_document(config=config))
    peak = _peak(lambda: MLP.from_file(path))
    with pytest.raises(FileFormatError) as error:
        MLP.from_file(path)
    message = str(error.value)
    assert message.startswith(f"{path}: config.sizes: describes an MLP of 1,000,000 parameters")
    assert "500,000 layers" in message and f"{MAX_BUILD_MEMORY >> 20} MiB" in message
    assert "\n" not in message
    assert peak < 100 << 20  # the file is ~1.5 MB; building the model took 964 MB


def test_the_largest_model_by_parameters_is_still_accepted_by_the_bound():
    from nn.mlp import build_memory

    assert build_memory(1000, [999]) < MAX_BUILD_MEMORY  # 1,000,000 parameters in one layer


@pytest.mark.parametrize("key", ["sizez", "activaton", "dropout"])
def test_an_unknown_config_key_names_it_and_the_accepted_ones(tmp_path, key):
    config = {**MLP(2, [2, 1]).config(), key: 1}
    path = _write(tmp_path / "m.json", _model_document(config=config))
    with pytest.raises(FileFormatError) as error:
        MLP.from_file(path)
    assert str(error.value) == (
        f"{path}: config.{key}: unknown key; allowed: nin, sizes, activation, "
        "output_activation, fused"
    )
