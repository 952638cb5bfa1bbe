"""viz: everything that shows: graph drawings, step-by-step traces, lesson sheets and quizzes,
and the command line."""

from viz.draw import draw
from viz.explain import explain, quiz
from viz.render import GraphvizNotFoundError, render
from viz.report import render_json, render_markdown, render_text
from viz.steps import step_frames, write_step_svgs, write_steps_html

__all__ = [
    "GraphvizNotFoundError",
    "draw",
    "explain",
    "quiz",
    "render",
    "render_json",
    "render_markdown",
    "render_text",
    "step_frames",
    "write_step_svgs",
    "write_steps_html",
]
