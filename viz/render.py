"""Writing a drawing to a file: SVG, PNG or PDF through Graphviz's `dot`, or the DOT text itself."""

from __future__ import annotations

import os
from pathlib import Path

import graphviz

from autograd import Value
from nn.network import NetworkLayout
from viz.draw import GRAPHVIZ_INSTALL_HINT, draw

# file extension -> Graphviz output format (None: the DOT text, no Graphviz program needed)
FORMATS: dict[str, str | None] = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": None}


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz `dot` program is not installed; the message says how to install it.

    ``source`` holds the DOT text that could not be rendered, and ``dot_path`` the file it was
    saved to (None if it was not saved), so nothing is lost.
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
    If `dot` is missing, the DOT text is written next to ``path`` (same name, ``.dot``) and
    :class:`GraphvizNotFoundError` says how to install Graphviz. Returns the path written.
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
        path.write_text(graph.source, encoding="utf-8")
        return path
    data = pipe(graph.source, fmt, save_source_to=path.with_suffix(".dot"))
    path.write_bytes(data)
    return path


def pipe(source: str, fmt: str, save_source_to: Path | None = None) -> bytes:
    """Run `dot` on DOT text and return the output bytes, with clear errors.

    When `dot` is missing the source is first saved to ``save_source_to`` (if given), then
    :class:`GraphvizNotFoundError` is raised; when `dot` fails, a RuntimeError carries its message.
    The source may hold several graphs: `dot` then writes one output after the other.
    """
    try:
        return graphviz.pipe("dot", fmt, source.encode("utf-8"), quiet=True)
    except graphviz.ExecutableNotFound:
        saved = None
        if save_source_to is not None:
            save_source_to.write_text(source, encoding="utf-8")
            saved = save_source_to
        where = (
            f" The DOT source was saved to {saved}; render it later with "
            f"`dot -T{fmt} {saved} -o out.{fmt}`."
            if saved
            else " The DOT source is still available as the drawing's `.source`."
        )
        raise GraphvizNotFoundError(
            f"cannot make {fmt.upper()}: {GRAPHVIZ_INSTALL_HINT}{where}", source, saved
        ) from None
    except graphviz.CalledProcessError as error:
        detail = (error.stderr or b"").decode("utf-8", "replace").strip()
        raise RuntimeError(f"Graphviz `dot` failed to make {fmt.upper()}: {detail}") from None
