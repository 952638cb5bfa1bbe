"""viz: everything that shows: graph drawings, step-by-step traces, lesson sheets and quizzes,
and the command line."""

from __future__ import annotations

import importlib
import sys
import types

# Each public name and the module that defines it. They load on first use (PEP 562), not when
# the package does: the `stepgrad` command imports viz.cli, and a Ctrl-C during the half second
# the drawing modules take to import must reach viz.cli.main's handler, not print a traceback.
_EXPORTS = {
    "GraphvizNotFoundError": "viz.render",
    "draw": "viz.draw",
    "explain": "viz.explain",
    "quiz": "viz.explain",
    "render": "viz.render",
    "render_json": "viz.report",
    "render_markdown": "viz.report",
    "render_text": "viz.report",
    "step_frames": "viz.steps",
    "write_step_svgs": "viz.steps",
    "write_steps_html": "viz.steps",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'viz' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


class _Package(types.ModuleType):
    """The viz package, whose function names win over its submodules' names.

    Importing ``viz.draw`` (the module) makes the import system set ``viz.draw`` to it; here
    ``viz.draw`` means the function (as when this package imported its functions eagerly), so
    such a setting is dropped and ``__getattr__`` answers with the function.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
