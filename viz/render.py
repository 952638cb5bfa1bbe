"""Writing a drawing to a file: SVG, PNG or PDF through Graphviz's `dot`, or the DOT text itself."""

from __future__ import annotations

import os
from pathlib import Path

import graphviz

from autograd import Value
from nn.network import NetworkLayout
from nn.safe_write import encode_text, write_file
from viz.draw import GRAPHVIZ_INSTALL_HINT, draw

# file extension -> Graphviz output format (None: the DOT text, no Graphviz program needed)
FORMATS: dict[str, str | None] = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": None}


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz `dot` program is not installed; the message says how to install it.

    ``source`` holds the DOT text that could not be rendered, so nothing is lost; ``dot_path``
    is the file it was saved to when a caller asked for that (None otherwise).
    """

    def __init__(self, message: str, source: str, dot_path: Path | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.dot_path = dot_path


def output_format(path: str | os.PathLike[str]) -> str | None:
    """The Graphviz format for a file name by its extension (None for .dot), or a ValueError."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        supported = ", ".join(FORMATS)
        found = f"extension {suffix!r}" if suffix else "no extension"
        raise ValueError(f"cannot draw to {os.fspath(path)!r}: {found}; supported: {supported}")
    return FORMATS[suffix]


def render(
    value: Value | NetworkLayout | graphviz.Digraph,
    path: str | os.PathLike[str],
    **draw_options: object,
) -> Path:
    """Draw ``value``'s graph (see :func:`viz.draw.draw` for the options) and write it to ``path``.

    The extension chooses the format: ``.svg``, ``.png``, ``.pdf`` (rendered by Graphviz's `dot`
    program) or ``.dot`` (the DOT text). ``value`` may also be a network layout (drawn in the
    network view; ``view="network", model=mlp`` draws an MLP's) or a Digraph that ``draw``
    returned.
    If `dot` is missing, :class:`GraphvizNotFoundError` says how to install Graphviz and carries
    the DOT text as ``.source``; no other file is written (a ``.dot`` beside ``path`` may be the
    user's own). Returns the path written.
    """
    path = Path(path)
    fmt = output_format(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: directory {path.parent} does not exist")
    if isinstance(value, graphviz.Digraph):
        if draw_options:
            raise TypeError(
                f"render got an already drawn Digraph and draw options {sorted(draw_options)}; "
                "pass the Value instead, or the options to draw()"
            )
        graph = value
    else:
        graph = draw(value, **draw_options)
    if fmt is None:
        return write_file(path, graph.source)
    encode_text(graph.source, path)  # a label UTF-8 cannot hold: an error naming the file
    return write_file(path, pipe(graph.source, fmt))


def pipe(source: str, fmt: str) -> bytes:
    """Run `dot` on DOT text and return the output bytes, with clear errors.

    When `dot` is missing, :class:`GraphvizNotFoundError` (holding the source) is raised; when
    `dot` fails, a RuntimeError carries its message. The source may hold several graphs: `dot`
    then writes one output after the other.
    """
    data = source.encode("utf-8")  # before `dot` runs: a lone surrogate is our error, not its
    try:
        return graphviz.pipe("dot", fmt, data, quiet=True)
    except graphviz.ExecutableNotFound:
        # No file is written here: a .dot beside the output may be the user's own. The text
        # stays in the exception, and a .dot output name gives it without Graphviz.
        raise GraphvizNotFoundError(
            f"cannot make {fmt.upper()}: {GRAPHVIZ_INSTALL_HINT} Without Graphviz, ask for the "
            "DOT text instead (an output name ending in .dot).",
            source,
        ) from None
    except graphviz.CalledProcessError as error:
        detail = (error.stderr or b"").decode("utf-8", "replace").strip()
        raise RuntimeError(f"Graphviz `dot` failed to make {fmt.upper()}: {detail}") from None
