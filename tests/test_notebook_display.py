"""Drawings in the notebooks fit the cell's width; reading them loads no script from the web."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from autograd import Value
from viz import draw, step_frames
from viz.display import FitWidth, fit_width, fit_width_svg

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SVG_TAG = re.compile(r"<svg\b[^>]*>", flags=re.DOTALL)
FIXED_SIZE = re.compile(r"""\s(?:width|height)\s*=\s*["'][0-9.]+\s*(?:pt|px)?["']""")
REMOTE_SCRIPT = re.compile(
    r"""<script[^>]*\bsrc\s*=\s*["']?\s*(?:https?:)?//""", flags=re.IGNORECASE
)


def svg_tag(svg: str) -> str:
    match = SVG_TAG.search(svg)
    assert match, svg[:200]
    return match.group(0)


def small_graph():
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    d = a * b + Value(10.0, "c")
    d.label = "d"
    d.backward()
    return d


def test_fit_width_drops_the_fixed_size_and_keeps_the_view_box():
    svg = (
        '<?xml version="1.0"?>\n<svg width="1888pt" height="1403pt"\n'
        ' viewBox="0.00 0.00 1888.00 1403.27" xmlns="http://www.w3.org/2000/svg"><g/></svg>'
    )
    tag = svg_tag(fit_width_svg(svg))
    assert not FIXED_SIZE.search(tag), tag
    assert 'viewBox="0.00 0.00 1888.00 1403.27"' in tag
    assert 'width="100%"' in tag and "height:auto" in tag
    # never wider than drawn: 1888 pt at 96/72 px per pt = 2517.3 px
    assert "max-width:2517px" in tag
    assert fit_width_svg(svg).endswith("<g/></svg>")  # only the opening tag changes


def test_fit_width_leaves_text_without_a_view_box_alone():
    assert fit_width_svg("no picture here") == "no picture here"
    fixed = '<svg width="10pt" height="10pt"></svg>'
    assert fit_width_svg(fixed) == fixed  # without a viewBox it cannot scale


def test_a_drawing_from_draw_is_shown_at_the_cell_width_and_draw_is_unchanged():
    graph = draw(small_graph())
    shown = fit_width(graph)
    assert isinstance(shown, FitWidth)
    original = svg_tag(graph.pipe(format="svg", encoding="utf-8"))
    tag = svg_tag(shown._repr_svg_())
    view_box = re.search(r'viewBox="([^"]+)"', original).group(1)
    assert f'viewBox="{view_box}"' in tag and not FIXED_SIZE.search(tag)
    # draw() still returns the graphviz object users render, with its natural size in pt
    assert re.search(r'width="[0-9.]+pt"', original)
    assert "image/svg+xml" in graph._repr_mimebundle_()


def test_a_step_frame_and_svg_text_are_shown_at_the_cell_width():
    frame = step_frames(small_graph())[0]
    assert not FIXED_SIZE.search(svg_tag(fit_width(frame).svg))
    assert not FIXED_SIZE.search(svg_tag(fit_width(frame.svg).svg))
    with pytest.raises(TypeError, match="not int"):
        fit_width(3)


def stored_outputs(path: Path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            for mime, data in output.get("data", {}).items():
                yield mime, "".join(data) if isinstance(data, list) else data


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_drawing_a_notebook_shows_fits_the_cell(path):
    for mime, text in stored_outputs(path):
        if mime == "image/svg+xml":
            tag = svg_tag(text)
            assert "viewBox" in tag and not FIXED_SIZE.search(tag), f"{path.name}: {tag[:200]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_notebook_output_loads_a_script_from_the_internet(path):
    for mime, text in stored_outputs(path):
        if mime in ("text/html", "image/svg+xml"):
            assert not REMOTE_SCRIPT.search(text), f"{path.name}: {mime} loads a remote script"


def test_no_notebook_names_a_source_as_a_seed():
    for path in NOTEBOOKS:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"seed\s*0\d\d|the seed\b", text, flags=re.IGNORECASE), path.name


def test_in_html_the_drawing_is_inline_and_never_drawn_wider_than_its_natural_size():
    shown = fit_width(draw(small_graph()))
    html = shown._repr_html_()
    assert html.startswith("<svg") and "<?xml" not in html and "<!DOCTYPE" not in html
    tag = svg_tag(html)
    assert 'width="100%"' in tag and re.search(r"max-width:\d+px", tag)
