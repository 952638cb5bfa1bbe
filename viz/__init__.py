"""viz: everything that shows: graph drawings, step-by-step traces, lesson sheets and quizzes,
and the command line."""

# Names are loaded on first use (PEP 562 module __getattr__), so `import viz.lab` (the lab's one
# entry point, also what the browser site runs under Pyodide) does not import the graphviz
# package or NumPy; the drawing functions load them when first asked for.

import sys
from importlib import import_module
from types import ModuleType

# public name -> the module that defines it
_SOURCES = {
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

__all__ = sorted(_SOURCES)


def __getattr__(name: str) -> object:
    """Load a public name from its module on first use, then keep it here."""
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'viz' has no attribute {name!r}")
    value = getattr(import_module(source), name)
    globals()[name] = value  # later lookups are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SOURCES))


class _Package(ModuleType):
    """The viz package, whose attributes draw, explain, quiz and render stay the functions."""

    def __setattr__(self, name: str, value: object) -> None:
        # Importing a submodule binds it on its package (viz.draw = <module viz.draw>). Four
        # submodules share their name with a public function; as with the former eager imports,
        # the package attribute is the function (the module stays in sys.modules, so
        # `from viz.draw import ...` is unaffected).
        if name in _SOURCES and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
