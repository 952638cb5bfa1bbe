"""Reading files users bring (JSON or TOML): bounded, never trusted, one clear error per problem.

Everything here treats a file as hostile until checked. Sizes are bounded before anything is
allocated, parsing never recurses without a bound, and every problem raises one
:class:`FileFormatError` whose one-line message names the file and the field, as in
``net.toml: layers[1].weights[0][2]: must be a number, got str 'x'``.

Reading::

    data = read_data("net.toml")             # plain dicts, lists, str, int, float, bool
    weights = require(data, "layers[1].weights", list, source="net.toml")
    table = check_table(weights, "layers[1].weights", source="net.toml", shape=(2, 3))
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
import reprlib
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

try:  # the standard library's TOML reader since Python 3.11; the same code as `tomli` before
    import tomllib as _toml
except ImportError:  # pragma: no cover - only on Python 3.10
    try:
        import tomli as _toml
    except ImportError:
        _toml = None

MAX_BYTES = 1 << 20  # 1 MiB: far more than any lesson or small model needs
MAX_DEPTH = 64  # brackets inside brackets; real files need fewer than 10
MAX_ITEMS = 1_000_000  # longest list or table a checker accepts
MAX_DIGITS = 4300  # longest run of digits (Python's own limit for int(str) since 3.11)
_EXACT_INT_DIGITS = 18  # integers this long stay exact ints; longer ones become floats


class FileFormatError(ValueError):
    """A file (or spec) cannot be used: the message names the source, the field and the problem.

    ``source`` is the file (or "" for data given in Python), ``where`` the field path such as
    ``layers[1].weights[0][2]`` (or "" for the file as a whole), ``problem`` what is wrong.
    """

    def __init__(self, source: str, where: str, problem: str) -> None:
        self.source = str(source)
        self.where = where
        self.problem = problem
        super().__init__(": ".join(part for part in (self.source, where, problem) if part))


# ---------------------------------------------------------------------------------------------
# Reading a file
# ---------------------------------------------------------------------------------------------


def read_data(
    path: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """The parsed content of a JSON or TOML file, after checking its size and encoding.

    ``fmt`` is "json" or "toml"; by default a ``.toml`` file is TOML and anything else JSON.
    Raises :class:`FileFormatError` (one line, naming the file) when the file is missing, larger
    than ``max_bytes``, not UTF-8 text, not valid JSON/TOML, or nested deeper than ``max_depth``.
    Integers of more than 18 digits come back as floats (``inf`` when out of range: the number
    checks below report those with their field path).
    """
    source = str(path)
    fmt = _format_of(path, fmt)
    raw = _read_bounded(Path(path), source, max_bytes)
    # NUL bytes never occur in a text file; UTF-16 text has one in every ASCII character.
    if b"\x00" in raw:
        raise FileFormatError(source, "", "not a text file (UTF-8): it contains NUL bytes")
    try:
        text = raw.decode("utf-8-sig")  # a leading byte-order mark, as Notepad writes, is fine
    except UnicodeDecodeError as error:
        raise FileFormatError(
            source,
            "",
            f"not a text file (UTF-8): byte 0x{raw[error.start]:02x} at offset {error.start}",
        ) from None
    return parse_text(text, source, fmt=fmt, max_depth=max_depth)


def parse_text(
    text: str, source: str = "", *, fmt: str = "json", max_depth: int = MAX_DEPTH
) -> Any:
    """Parse JSON or TOML text with the same bounds as :func:`read_data` (for text in hand)."""
    if fmt not in ("json", "toml"):
        raise ValueError(f'fmt must be "json" or "toml", got {fmt!r}')
    _check_shape_of_text(text, source, fmt, max_depth)
    try:
        if fmt == "json":
            return json.loads(text, parse_int=_parse_int, object_pairs_hook=_unique_keys)
        if _toml is None:
            raise FileFormatError(
                source, "", "reading TOML needs Python 3.11 or newer, or `pip install tomli`"
            )
        return _bound_ints(_toml.loads(text))
    except json.JSONDecodeError as error:
        raise FileFormatError(
            source, "", f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    except RecursionError:  # the depth scan should have caught it; never let it escape
        raise FileFormatError(source, "", f"nested deeper than {max_depth} levels") from None
    except FileFormatError as error:
        if error.source or not source:
            raise
        raise FileFormatError(source, error.where, error.problem) from None
    except ValueError as error:  # tomllib.TOMLDecodeError is a ValueError
        raise FileFormatError(source, "", f"not valid {fmt.upper()}: {error}") from None


def _format_of(path: str | os.PathLike[str], fmt: str | None) -> str:
    if fmt is None:
        return "toml" if Path(path).suffix.lower() == ".toml" else "json"
    if fmt not in ("json", "toml"):
        raise ValueError(f'fmt must be "json" or "toml", got {fmt!r}')
    return fmt


def _read_bounded(path: Path, source: str, max_bytes: int) -> bytes:
    """The file's bytes, never more than max_bytes + 1 of them in memory.

    Only a regular file is read: a FIFO or a device named ``x.toml`` would block or never end.
    It is opened without blocking (O_NONBLOCK: opening a FIFO for reading otherwise waits for
    a writer) and checked with fstat on the open file, so it cannot be swapped in between.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise FileFormatError(source, "", "no such file") from None
    except IsADirectoryError:
        raise FileFormatError(source, "", "is a folder, not a file") from None
    except OSError as error:
        raise FileFormatError(source, "", f"cannot read it: {error.strerror}") from None
    try:
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise FileFormatError(source, "", "is a folder, not a file")
            if not stat.S_ISREG(info.st_mode):
                raise FileFormatError(
                    source, "", f"is not a regular file (it is a {_file_kind(info.st_mode)})"
                )
            if info.st_size > max_bytes:
                raise FileFormatError(
                    source, "", f"is {_size(info.st_size)}, over the limit of {_size(max_bytes)}"
                )
            # In small pieces (read(n) reserves n bytes at once), and one byte past the limit
            # at most: a file may grow while it is read.
            chunks, total = [], 0
            while total <= max_bytes:
                chunk = f.read(min(1 << 16, max_bytes + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
            raw = b"".join(chunks)
    except IsADirectoryError:
        raise FileFormatError(source, "", "is a folder, not a file") from None
    except OSError as error:
        raise FileFormatError(source, "", f"cannot read it: {error.strerror}") from None
    if len(raw) > max_bytes:
        raise FileFormatError(source, "", f"is over the limit of {_size(max_bytes)}")
    return raw


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "named pipe, a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n} bytes"


# Strings and comments, whose brackets, digits and dots are text, not structure. JSON has only
# "..." strings; TOML also has '...', """...""", '''...''' and # comments. An unterminated
# string runs to the end (the parser reports it). Every repeat is possessive (*+): the regex
# engine keeps no backtracking record per character, so a 16 MiB string costs a few KB to skip
# (the alternation "(?:[^"\\]|\\.)*" it replaces cost ~150 bytes per character).
_JSON_STRING = r'"[^"\\]*+(?:\\.[^"\\]*+)*+"?'
_TOML_TEXT = re.compile(
    r'"""[^"\\]*+(?:(?:\\.|"(?!""))[^"\\]*+)*+(?:"""|$)'
    r"|'''[^']*+(?:'(?!'')[^']*+)*+(?:'''|$)"
    r'|"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+"?'
    r"|'[^'\n]*+'?"
    r"|#[^\n]*+",
)
# A run of digits counts from its first digit only (the lookbehind): matching from every digit
# of a long run would take time quadratic in its length.
_LONG_DIGITS = rf"(?<![0-9_])[0-9_]{{{MAX_DIGITS + 1}}}"
_JSON_TOKENS = re.compile(rf"{_JSON_STRING}|[\[\]{{}}]|{_LONG_DIGITS}")
_STRUCTURE_TOKENS = re.compile(rf"[\[\]{{}}]|{_LONG_DIGITS}")
# A TOML key of dotted parts (bare or quoted: quoted ones are "" by then), e.g. a.b."c".d.
# tomllib takes time quadratic in the number of parts (50,000 parts: 34 s), so they are
# bounded before it runs. Floats and times (1.5, 07:32:00.25) match with one dot.
_DOTTED_KEY = re.compile(r'(?:[A-Za-z0-9_-]++|"")(?:[ \t]*+\.[ \t]*+(?:[A-Za-z0-9_-]++|""))++')
MAX_KEY_PARTS = 32  # parts of one dotted TOML key; lessons use 2 or 3


def _check_shape_of_text(text: str, source: str, fmt: str, max_depth: int) -> None:
    """Refuse text nested deeper than max_depth, with absurdly long numbers or (TOML) keys of
    too many dotted parts, before parsing.

    A bounded scan instead of trusting the parsers: JSON's and TOML's parsers recurse once per
    bracket, tomllib is quadratic in a key's dotted parts, and Python's int() takes quadratic
    time on huge digit strings before 3.11. Memory: a few KB for JSON whatever the file holds;
    for TOML (files of at most 1 MiB) a copy of the text with its strings left out.
    """
    if fmt == "json":
        tokens = _JSON_TOKENS.finditer(text)
    else:
        structure = _TOML_TEXT.sub('""', text)
        for match in _DOTTED_KEY.finditer(structure):
            parts = match.group().count(".") + 1
            if parts > MAX_KEY_PARTS:
                start = match.group()[:20]
                raise FileFormatError(
                    source, "", f"has a key of {parts} dotted parts ({start!r}...); at most "
                    f"{MAX_KEY_PARTS} are allowed"
                )
        text, tokens = structure, _STRUCTURE_TOKENS.finditer(structure)
    depth = 0
    for match in tokens:
        char = text[match.start()]
        if char in "[{":
            depth += 1
            if depth > max_depth:
                raise FileFormatError(source, "", f"nested deeper than {max_depth} levels")
        elif char in "]}":
            depth -= 1
        elif char != '"':
            raise FileFormatError(source, "", f"has a number with more than {MAX_DIGITS} digits")


def _parse_int(digits: str) -> int | float:
    # A huge integer cannot be a weight or a size; as a float it is inf, which the number
    # checks then report with its field path (float(int) would raise a bare OverflowError).
    if len(digits.lstrip("-")) > _EXACT_INT_DIGITS:
        return float(digits)
    return int(digits)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # JSON lets a key appear twice and keeps the last; a repeated weight is a mistake to report.
    table = dict(pairs)
    if len(table) != len(pairs):
        seen: set[str] = set()
        repeated = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise FileFormatError("", "", f"the key {json.dumps(repeated)} appears twice in one table")
    return table


def _bound_ints(data: Any) -> Any:
    """The same rule as _parse_int for TOML, whose reader has no integer hook (no recursion)."""
    stack = [data]
    while stack:
        item = stack.pop()
        pairs: Iterable[tuple[Any, Any]]
        if isinstance(item, dict):
            pairs = list(item.items())
        elif isinstance(item, list):
            pairs = list(enumerate(item))
        else:
            continue
        for key, value in pairs:
            if type(value) is int and abs(value) >= 10**_EXACT_INT_DIGITS:
                item[key] = _int_to_float(value)
            elif isinstance(value, (dict, list)):
                stack.append(value)
    return data


def _int_to_float(value: int) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


# ---------------------------------------------------------------------------------------------
# Field paths: layers[1].weights[0][2]
# ---------------------------------------------------------------------------------------------

_PATH_PART = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def child(where: str, key: str | int) -> str:
    """The path of ``key`` inside ``where``: ``child("layers", 1)`` -> ``"layers[1]"``."""
    if isinstance(key, int):
        return f"{where}[{key}]"
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", key):
        return f"{where}.{key}" if where else key
    return f"{where}[{json.dumps(key)}]"  # a key with spaces or dots: quoted, unambiguous


def split_path(where: str) -> list[str | int]:
    """The keys and indices of a path: ``"layers[1].weights"`` -> ``["layers", 1, "weights"]``."""
    parts: list[str | int] = []
    position = 0
    while position < len(where):
        match = _PATH_PART.match(where, position)
        if match is None or (match.group(1) and position == 0 and where.startswith(".")):
            raise ValueError(f"not a field path: {where!r} (at character {position})")
        name, index, quoted = match.groups()
        parts.append(name if name is not None else int(index) if index else json.loads(quoted))
        position = match.end()
    return parts


def join_path(parts: Iterable[str | int]) -> str:
    """The inverse of :func:`split_path`: ``["layers", 1, "w"]`` -> ``"layers[1].w"``."""
    where = ""
    for part in parts:
        where = child(where, part)
    return where


def lookup(data: Any, where: str, *, source: str = "") -> Any:
    """The value at path ``where`` in ``data``; a FileFormatError names the first missing step."""
    return _walk(data, where, source, missing_ok=False)


_MISSING = object()


def _walk(data: Any, where: str, source: str, *, missing_ok: bool) -> Any:
    value, done = data, ""
    for key in split_path(where):
        step = child(done, key)
        if isinstance(key, int):
            if not isinstance(value, list):
                raise FileFormatError(source, done, f"must be a list, got {_kind(value)}")
            present = key < len(value)
            absent = f"missing (the list has {_count(len(value), 'item')})"
        else:
            if not isinstance(value, Mapping):
                raise FileFormatError(source, done, f"must be a table, got {_kind(value)}")
            present, absent = key in value, "missing"
        if not present:
            if missing_ok:
                return _MISSING
            raise FileFormatError(source, step, absent)
        value, done = value[key], step
    return value


def require(data: Any, where: str, kind: type | tuple[type, ...], *, source: str = "") -> Any:
    """The value at ``where``, which must exist and be of ``kind`` (``list``, ``dict``, ``str`` ..).

    For numbers use :func:`check_number`, which also rejects NaN, infinities and booleans.
    """
    value = lookup(data, where, source=source)
    return _check_kind(value, where, kind, source)


def optional(
    data: Any, where: str, kind: type | tuple[type, ...], default: Any = None, *, source: str = ""
) -> Any:
    """Like :func:`require`, but ``default`` when ``where`` (or a table on the way) is absent.

    A step of the wrong kind is still an error: in ``layers[0].bias``, a ``layers[0]`` that is
    a number is reported, not taken as "no bias given".
    """
    value = _walk(data, where, source, missing_ok=True)
    return default if value is _MISSING else _check_kind(value, where, kind, source)


def check_keys(
    table: Mapping[str, Any], where: str, allowed: Iterable[str], *, source: str = ""
) -> None:
    """Refuse keys not in ``allowed`` (a typo must not be silently ignored), listing the allowed."""
    allowed = list(allowed)
    for key in table:
        if key not in allowed:
            raise FileFormatError(
                source, child(where, str(key)), f"unknown key; allowed: {', '.join(allowed)}"
            )


def check_choice(value: Any, where: str, choices: Iterable[str], *, source: str = "") -> str:
    """``value``, which must be one of the strings ``choices`` (an activation, a loss ...)."""
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        raise FileFormatError(
            source, where, f"must be one of {', '.join(choices)}; got {_kind(value)}"
        )
    return value


def _check_kind(value: Any, where: str, kind: type | tuple[type, ...], source: str) -> Any:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:  # True is an int in Python; not here
        raise FileFormatError(source, where, f"must be {_names(kinds)}, got {_kind(value)}")
    if not isinstance(value, kinds):
        raise FileFormatError(source, where, f"must be {_names(kinds)}, got {_kind(value)}")
    return value


_KIND_NAMES = {
    list: "a list",
    dict: "a table",
    str: "a string",
    bool: "true or false",
    int: "a whole number",
    float: "a number",
}


def _names(kinds: tuple[type, ...]) -> str:
    return " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)


_EXCERPT = reprlib.Repr()  # bounded work and length, even for a list of a million items
_EXCERPT.maxstring = _EXCERPT.maxother = 40
_EXCERPT.maxlist = _EXCERPT.maxdict = 4
_EXCERPT.maxlevel = 2


def _kind(value: Any) -> str:
    """How a message shows a wrong value: its kind and a short excerpt."""
    shown = _EXCERPT.repr(value)
    names = {dict: "table", list: "list", str: "string", bool: "boolean"}
    return f"{names.get(type(value), type(value).__name__)} {shown}"


# ---------------------------------------------------------------------------------------------
# Numbers, lists and tables
# ---------------------------------------------------------------------------------------------


def check_number(
    value: Any,
    where: str,
    *,
    source: str = "",
    integer: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
) -> Any:
    """``value`` as a float (or an int with ``integer=True``), finite and within the bounds.

    Booleans, strings, NaN and infinities are refused with the field path; so is a number
    outside ``[minimum, maximum]`` and, with ``integer=True``, a fraction.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise FileFormatError(source, where, f"must be a number, got {_kind(value)}")
    if isinstance(value, int):
        number: int | float = value
    else:
        number = float(value)
        if math.isnan(number):
            raise FileFormatError(source, where, "is NaN; it must be a finite number")
        if math.isinf(number):
            raise FileFormatError(source, where, f"is {number} (or too large); it must be finite")
    if integer:
        if isinstance(number, float):
            if not number.is_integer():
                raise FileFormatError(source, where, f"must be a whole number, got {number!r}")
            number = int(number)
    else:
        number = _int_to_float(number) if isinstance(number, int) else number
        if math.isinf(number):
            raise FileFormatError(source, where, "is too large; it must be finite")
    if minimum is not None and number < minimum:
        raise FileFormatError(source, where, f"must be at least {_bound(minimum)}, got {value!r}")
    if maximum is not None and number > maximum:
        raise FileFormatError(source, where, f"must be at most {_bound(maximum)}, got {value!r}")
    return number


def _bound(limit: float) -> str:
    return str(limit) if isinstance(limit, int) else f"{limit:g}"


def check_length(
    value: Any,
    where: str,
    *,
    source: str = "",
    length: int | None = None,
    max_length: int = MAX_ITEMS,
) -> list[Any]:
    """``value``, which must be a list of exactly ``length`` (or at most ``max_length``) items."""
    if not isinstance(value, list):
        raise FileFormatError(source, where, f"must be a list, got {_kind(value)}")
    if length is not None and len(value) != length:
        raise FileFormatError(source, where, f"must have {length} items, got {len(value)}")
    if len(value) > max_length:
        raise FileFormatError(
            source, where, f"has {len(value)} items; at most {max_length} are allowed"
        )
    return value


def check_numbers(
    value: Any,
    where: str,
    *,
    source: str = "",
    length: int | None = None,
    max_length: int = MAX_ITEMS,
) -> list[float]:
    """A list of finite numbers as floats; its length is checked before any item is read."""
    items = check_length(value, where, source=source, length=length, max_length=max_length)
    return [check_number(item, child(where, i), source=source) for i, item in enumerate(items)]


def check_table(
    value: Any,
    where: str,
    *,
    source: str = "",
    shape: tuple[int, int] | None = None,
    max_items: int = MAX_ITEMS,
) -> list[list[float]]:
    """A rectangular list of lists of finite numbers (``shape`` = (rows, columns) if given).

    The number of rows and the length of every row are checked before any number is converted,
    so a table that is too large or ragged is refused without building anything.
    """
    rows_wanted, columns_wanted = shape if shape is not None else (None, None)
    rows = check_length(value, where, source=source, length=rows_wanted, max_length=max_items)
    if not rows:
        raise FileFormatError(source, where, "must have at least one row")
    for i, row in enumerate(rows):
        check_length(row, child(where, i), source=source, max_length=max_items)
    columns = len(rows[0]) if columns_wanted is None else columns_wanted
    for i, row in enumerate(rows):
        if len(row) != columns:
            like = " (like row 0)" if columns_wanted is None else ""
            raise FileFormatError(
                source, child(where, i), f"must have {columns} numbers{like}, got {len(row)}"
            )
    if len(rows) * columns > max_items:
        raise FileFormatError(
            source, where, f"has {len(rows) * columns} numbers; at most {max_items} are allowed"
        )
    return [check_numbers(row, child(where, i), source=source) for i, row in enumerate(rows)]
