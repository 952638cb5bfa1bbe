"""nn.files: untrusted JSON/TOML files give one clear line naming the file and field, bounded."""

from __future__ import annotations

import math
import pickle

import pytest

from nn import files
from nn.files import (
    FileFormatError,
    check_choice,
    check_keys,
    check_number,
    check_numbers,
    check_table,
    child,
    join_path,
    optional,
    parse_text,
    read_data,
    require,
    split_path,
)


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def _one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def test_reads_json_and_toml_by_suffix(tmp_path):
    j = _write(tmp_path, "net.json", '{"sizes": [2, 1], "lr": 0.5, "name": "a"}')
    t = _write(tmp_path, "net.toml", 'sizes = [2, 1]\nlr = 0.5\nname = "a"  # comment\n')
    expected = {"sizes": [2, 1], "lr": 0.5, "name": "a"}
    assert read_data(j) == expected
    assert read_data(t) == expected
    assert read_data(j, fmt="json") == expected


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    path = _write(tmp_path, "bom.json", b"\xef\xbb\xbf" + b'{"a": 1}')
    assert read_data(path) == {"a": 1}


@pytest.mark.parametrize(
    "content",
    [
        pickle.dumps({"sizes": [2, 1]}),  # protocol 4+: starts with byte 0x80
        '{"sizes": [2, 1]}'.encode("utf-16"),  # with a byte-order mark
        '{"sizes": [2, 1]}'.encode("utf-16-le"),  # without one: NUL after every character
        bytes(range(256)),
        b"\x89PNG\r\n\x1a\n" + bytes(40),
        b'{"a": "\xff\xfe"}',
    ],
)
def test_binary_pickle_and_utf16_files_are_not_text(tmp_path, content):
    path = _write(tmp_path, "model.json", content)
    with pytest.raises(FileFormatError) as error:
        read_data(path)
    message = _one_line(error)
    assert message.startswith(f"{path}: not a text file (UTF-8)")


def test_a_text_pickle_is_refused_as_invalid_json(tmp_path):
    path = _write(tmp_path, "model.json", pickle.dumps({"a": 1}, protocol=0))
    with pytest.raises(FileFormatError, match=r"model.json: not valid JSON: .*line 1, column 1"):
        read_data(path)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.json", "[" * 100_000),
        ("deep.json", "[" * 100_000 + "]" * 100_000),
        ("deep.json", '{"a":' * 100_000 + "1" + "}" * 100_000),
        ("deep.toml", "x = " + "[" * 100_000),
        ("deep.toml", "x = " + "{a = " * 100_000),
    ],
)
def test_deep_nesting_is_refused_before_parsing(tmp_path, name, text):
    path = _write(tmp_path, name, text)
    with pytest.raises(FileFormatError) as error:
        read_data(path)
    assert _one_line(error) == f"{path}: nested deeper than {files.MAX_DEPTH} levels"


def test_brackets_inside_strings_and_comments_do_not_count_as_nesting(tmp_path):
    deep_text = "[" * 200
    j = _write(tmp_path, "s.json", '{"label": "' + deep_text + '\\"' + deep_text + '"}')
    assert read_data(j) == {"label": deep_text + '"' + deep_text}
    t = _write(
        tmp_path,
        "s.toml",
        f"a = '{deep_text}'\nb = \"{deep_text}\"\nc = '''\n{deep_text}'''\n# {deep_text}\n",
    )
    assert read_data(t) == {
        "a": deep_text,
        "b": deep_text,
        "c": deep_text,
    }


def test_nesting_up_to_the_limit_is_read(tmp_path):
    path = _write(tmp_path, "ok.json", "[" * 10 + "1" + "]" * 10)
    value = read_data(path)
    for _ in range(10):
        value = value[0]
    assert value == 1
    with pytest.raises(FileFormatError, match="nested deeper than 3 levels"):
        read_data(path, max_depth=3)


@pytest.mark.parametrize("name", ["big.json", "big.toml"])
def test_a_401_digit_integer_is_reported_with_its_field_path(tmp_path, name):
    digits = "9" * 401
    text = (
        '{"layers": [{"bias": ' + digits + "}]}" if name.endswith("json") else f"x = [1, {digits}]"
    )
    data = read_data(_write(tmp_path, name, text))
    value, where = (
        (data["layers"][0]["bias"], "layers[0].bias")
        if name.endswith("json")
        else (data["x"][1], "x[1]")
    )
    assert value == math.inf  # never a bare OverflowError; the number check names it
    with pytest.raises(FileFormatError) as error:
        check_number(value, where, source=name)
    assert _one_line(error).startswith(f"{name}: {where}: is inf (or too large)")


def test_small_integers_stay_exact_ints(tmp_path):
    data = read_data(_write(tmp_path, "n.json", "[123456789012345678, -7]"))
    assert data == [123456789012345678, -7]
    assert all(type(v) is int for v in data)


@pytest.mark.parametrize("name", ["long.json", "long.toml"])
def test_a_number_of_more_than_4300_digits_is_refused_before_parsing(tmp_path, name):
    text = "[" + "1" * 5000 + "]" if name.endswith("json") else "x = " + "1" * 5000
    with pytest.raises(FileFormatError) as error:
        read_data(_write(tmp_path, name, text))
    assert _one_line(error) == f"{tmp_path / name}: has a number with more than 4300 digits"


def test_size_is_bounded_before_reading(tmp_path):
    path = _write(tmp_path, "big.json", "[" + "0," * 600_000 + "0]")  # about 1.2 MB
    with pytest.raises(FileFormatError, match=r"big.json: is 1.1 MiB, over the limit of 1.0 MiB"):
        read_data(path)
    with pytest.raises(FileFormatError, match=r"over the limit of 100 bytes"):
        read_data(_write(tmp_path, "small.json", "[" + "1," * 60 + "1]"), max_bytes=100)


def test_an_endless_device_is_refused_before_reading():
    with pytest.raises(FileFormatError, match=r"^/dev/zero: is not a regular file \(it is a dev"):
        read_data("/dev/zero", max_bytes=1024)


def test_missing_file_and_folder_are_named(tmp_path):
    with pytest.raises(FileFormatError, match=r"nothere.json: no such file$"):
        read_data(tmp_path / "nothere.json")
    with pytest.raises(FileFormatError, match=r": is a folder, not a file$"):
        read_data(tmp_path)


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("bad.json", '{"a": 1,}', r"bad.json: not valid JSON: .*\(line 1, column 9\)"),
        ("bad.json", '{"a": 1, "a": 2}', r'bad.json: the key "a" appears twice in one table'),
        ("bad.toml", "a = [1, 2,\n", r"bad.toml: not valid TOML: "),
        ("bad.toml", "a = 1\na = 2\n", r"bad.toml: not valid TOML: "),
    ],
)
def test_syntax_errors_are_one_line_naming_the_file(tmp_path, name, text, match):
    with pytest.raises(FileFormatError, match=match) as error:
        read_data(_write(tmp_path, name, text))
    _one_line(error)


def test_toml_without_a_reader_says_what_to_install(monkeypatch):
    monkeypatch.setattr(files, "_toml", None)
    with pytest.raises(FileFormatError) as error:
        parse_text("a = 1", "net.toml", fmt="toml")
    assert _one_line(error) == (
        "net.toml: reading TOML needs Python 3.11 or newer, or `pip install tomli`"
    )


def test_file_format_error_is_a_value_error():
    assert issubclass(FileFormatError, ValueError)
    error = FileFormatError("m.json", "layers[1].weights[0][2]", "must be a number")
    assert (error.source, error.where, error.problem) == (
        "m.json",
        "layers[1].weights[0][2]",
        "must be a number",
    )
    assert str(error) == "m.json: layers[1].weights[0][2]: must be a number"
    assert str(FileFormatError("", "x", "missing")) == "x: missing"


# ---------------------------------------------------------------------------------------------
# Field paths and walking
# ---------------------------------------------------------------------------------------------


def test_field_paths_read_like_the_data():
    assert child("", "layers") == "layers"
    assert child("layers", 1) == "layers[1]"
    assert child("layers[1]", "weights") == "layers[1].weights"
    assert child("symbols", "w 5") == 'symbols["w 5"]'
    assert join_path(["layers", 1, "weights", 0, 2]) == "layers[1].weights[0][2]"
    assert split_path("layers[1].weights[0][2]") == ["layers", 1, "weights", 0, 2]
    assert split_path('symbols["w 5"].x') == ["symbols", "w 5", "x"]
    with pytest.raises(ValueError, match="not a field path"):
        split_path("layers[-1]")


DATA = {"layers": [{"weights": [[0.1, 0.2], [0.3, "x"]], "activation": "tanh"}], "lr": True}


@pytest.mark.parametrize(
    ("where", "kind", "message"),
    [
        ("layers[1].weights", list, "m.json: layers[1]: missing (the list has 1 item)"),
        ("layers[0].bias", list, "m.json: layers[0].bias: missing"),
        (
            "layers[0].activation",
            list,
            "m.json: layers[0].activation: must be a list, got string 'tanh'",
        ),
        ("layers[0].weights", dict, "m.json: layers[0].weights: must be a table, got list"),
        ("layers.x", list, "m.json: layers: must be a table, got list"),
        ("lr", int, "m.json: lr: must be a whole number, got boolean True"),
    ],
)
def test_require_names_the_field(where, kind, message):
    with pytest.raises(FileFormatError) as error:
        require(DATA, where, kind, source="m.json")
    assert _one_line(error).startswith(message)


def test_require_and_optional_return_the_value():
    assert require(DATA, "layers[0].activation", str) == "tanh"
    assert require(DATA, "lr", bool) is True
    assert optional(DATA, "layers[0].bias", list, [0.0]) == [0.0]
    assert optional(DATA, "layers[0].activation", str, "linear") == "tanh"
    assert optional(DATA, "missing", str) is None
    with pytest.raises(FileFormatError, match=r"layers\[0\]\.activation: must be a number"):
        optional(DATA, "layers[0].activation", float, 1.0)


def test_check_keys_refuses_typos_and_lists_the_allowed():
    with pytest.raises(FileFormatError) as error:
        check_keys({"weights": 1, "biasses": 2}, "layers[0]", ["weights", "biases"], source="n")
    assert _one_line(error) == "n: layers[0].biasses: unknown key; allowed: weights, biases"


# ---------------------------------------------------------------------------------------------
# Numbers and tables
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        (True, {}, "x: must be a number, got boolean True"),
        ("1", {}, "x: must be a number, got string '1'"),
        (None, {}, "x: must be a number, got NoneType None"),
        (math.nan, {}, "x: is NaN; it must be a finite number"),
        (-math.inf, {}, "x: is -inf (or too large); it must be finite"),
        (10**400, {}, "x: is too large; it must be finite"),
        (2.5, {"integer": True}, "x: must be a whole number, got 2.5"),
        (0, {"minimum": 1}, "x: must be at least 1, got 0"),
        (11, {"integer": True, "maximum": 10}, "x: must be at most 10, got 11"),
    ],
)
def test_check_number_refuses(value, kwargs, message):
    with pytest.raises(FileFormatError) as error:
        check_number(value, "x", **kwargs)
    assert _one_line(error) == message


def test_check_number_converts():
    assert check_number(3, "x") == 3.0 and type(check_number(3, "x")) is float
    assert (
        check_number(3.0, "x", integer=True) == 3
        and type(check_number(3.0, "x", integer=True)) is int
    )
    assert check_number(-0.25, "x", minimum=-1, maximum=0) == -0.25


def test_check_numbers_bounds_length_before_reading_items():
    assert check_numbers([1, 2.5], "b") == [1.0, 2.5]
    with pytest.raises(FileFormatError, match=r"^b: must have 3 items, got 2$"):
        check_numbers([1, 2], "b", length=3)
    with pytest.raises(FileFormatError, match=r"^b: has 5 items; at most 4 are allowed$"):
        check_numbers(["not", "read", "at", "all", "!"], "b", max_length=4)
    with pytest.raises(FileFormatError, match=r"^f: b\[1\]: is NaN"):
        check_numbers([1, math.nan], "b", source="f")


def test_check_table_checks_shape_then_numbers():
    assert check_table([[1, 2], [3, 4]], "w", shape=(2, 2)) == [[1.0, 2.0], [3.0, 4.0]]
    with pytest.raises(
        FileFormatError, match=r"^w\[1\]: must have 2 numbers \(like row 0\), got 1$"
    ):
        check_table([[1, 2], [3]], "w")
    with pytest.raises(FileFormatError, match=r"^w\[0\]: must have 3 numbers, got 2$"):
        check_table([[1, 2], [3, 4]], "w", shape=(2, 3))
    with pytest.raises(FileFormatError, match=r"^w: must have 3 items, got 2$"):
        check_table([[1, 2], [3, 4]], "w", shape=(3, 2))
    with pytest.raises(FileFormatError, match=r"^m.json: layers\[1\].weights\[0\]\[2\]: must be"):
        check_table([[1, 2, "x"]], "layers[1].weights", source="m.json")
    with pytest.raises(FileFormatError, match=r"^w: has 6 numbers; at most 5 are allowed$"):
        check_table([[1, 2, 3], [4, 5, 6]], "w", max_items=5)
    with pytest.raises(FileFormatError, match=r"^w: must have at least one row$"):
        check_table([], "w")


def test_optional_gives_the_default_when_a_table_on_the_way_is_absent():
    data = {"layers": [{"weights": [[1.0]]}, 3]}
    assert optional(data, "symbols.z1", str, "z") == "z"
    assert optional(data, "layers[5].bias", float, 0.0) == 0.0
    with pytest.raises(FileFormatError, match=r"^f: layers\[1\]: must be a table, got int 3$"):
        optional(data, "layers[1].bias", float, 0.0, source="f")


def test_a_wrong_value_is_shown_as_a_short_excerpt():
    huge = list(range(1_000_000))
    with pytest.raises(FileFormatError) as error:
        require({"name": huge}, "name", str)
    assert len(str(error.value)) < 80
    assert str(error.value).startswith("name: must be a string, got list [0, 1, 2, 3, ...]")


def test_check_choice_lists_the_choices():
    assert check_choice("tanh", "activation", ["tanh", "relu"]) == "tanh"
    with pytest.raises(FileFormatError) as error:
        check_choice("swish", "layers[1].activation", ["tanh", "relu"], source="n.toml")
    assert str(error.value) == (
        "n.toml: layers[1].activation: must be one of tanh, relu; got string 'swish'"
    )
    with pytest.raises(FileFormatError, match="got int 3"):
        check_choice(3, "loss", ["mse"])
