"""viz: everything that shows: graph drawings, step-by-step traces and the command line."""

from viz.draw import draw
from viz.render import GraphvizNotFoundError, render
from viz.steps import step_frames, write_step_svgs, write_steps_html

__all__ = [
    "GraphvizNotFoundError",
    "draw",
    "render",
    "step_frames",
    "write_step_svgs",
    "write_steps_html",
]
