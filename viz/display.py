"""Showing drawings in a notebook so they fit the cell's width instead of overflowing it."""

from __future__ import annotations

import re

# The opening <svg ...> tag; Graphviz writes its attributes on one or more lines.
_SVG_TAG = re.compile(r"<svg\b[^>]*>", flags=re.DOTALL)
_SIZE_ATTR = re.compile(r"""\s(width|height)\s*=\s*(["'])([^"']*)\2""")
_STYLE_ATTR = re.compile(r"""\sstyle\s*=\s*(["'])([^"']*)\1""")
_NUMBER = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(pt|px)?\s*$")
_PX_PER_PT = 4 / 3  # CSS: 1pt = 1/72 in, 1px = 1/96 in


def fit_width_svg(svg: str) -> str:
    """Return `svg` with its fixed width and height replaced by "as wide as the cell allows".

    The drawing keeps its ``viewBox`` (so it scales without distortion), is never drawn wider than
    its natural size (a three-box graph stays small), and shrinks to the width of its container
    when that is narrower (a wide graph fits a notebook cell or a phone). Text that is not an SVG
    document is returned unchanged.
    """
    match = _SVG_TAG.search(svg)
    if match is None:
        return svg
    tag = match.group(0)
    natural = None
    for name, _, value in _SIZE_ATTR.findall(tag):
        number = _NUMBER.match(value)
        if name == "width" and number:
            scale = _PX_PER_PT if number.group(2) in (None, "pt") else 1.0
            natural = float(number.group(1)) * scale
    if "viewBox" not in tag:  # without a viewBox the picture cannot scale; leave it as drawn
        return svg
    tag = _SIZE_ATTR.sub("", tag)
    style = "width:100%;height:auto;"
    if natural is not None:
        style += f"max-width:{natural:.0f}px;"
    old = _STYLE_ATTR.search(tag)
    if old is not None:
        style += old.group(2)
        tag = _STYLE_ATTR.sub("", tag)
    tag = tag[:4] + f' width="100%" style="{style}"' + tag[4:]
    return svg[: match.start()] + tag + svg[match.end() :]


class FitWidth:
    """A drawing shown in Jupyter at the width of the cell (see :func:`fit_width`)."""

    def __init__(self, svg: str) -> None:
        self.svg = fit_width_svg(svg)

    def _repr_svg_(self) -> str:
        # Front ends that show SVG as an <img> (JupyterLab, nbconvert's HTML) size it from the
        # SVG's own width: 100% of the cell, since the page's style cannot reach inside an image.
        return self.svg

    def _repr_html_(self) -> str:
        # Preferred where HTML is shown: the same picture inline, where its style applies too, so
        # a small graph keeps its natural size and only a wide one shrinks to the cell.
        start = self.svg.find("<svg")
        return self.svg[start:] if start >= 0 else self.svg

    def __repr__(self) -> str:
        return "<drawing shown at the width of the cell; .svg holds the SVG text>"


def fit_width(drawing: object) -> FitWidth:
    """Wrap a drawing so a notebook shows it scaled to the cell's width.

    `drawing` is what :func:`viz.draw` returns (any Graphviz graph), SVG text, or an object with
    an ``svg`` attribute (a frame from :func:`viz.step_frames`). ``draw()`` itself is unchanged:
    keep its result to render or save it, and use ``fit_width(...)`` only to display it.
    """
    if isinstance(drawing, str):
        return FitWidth(drawing)
    svg = getattr(drawing, "svg", None)
    if isinstance(svg, str):
        return FitWidth(svg)
    pipe = getattr(drawing, "pipe", None)
    if callable(pipe):
        return FitWidth(pipe(format="svg", encoding="utf-8"))
    raise TypeError(
        "fit_width() takes a drawing from draw(), SVG text or a step frame, "
        f"not {type(drawing).__name__}"
    )
