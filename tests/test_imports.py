"""The packages import one way (viz -> nn -> autograd) and no module imports itself in a loop.

Every ``import`` counts, also one inside a function: a cycle that only closes at call time is
still a cycle for the reader who wants to understand one module before the next.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("autograd", "nn", "viz")
LAYER = {"autograd": 0, "nn": 1, "viz": 2}


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


# Known, deliberate exceptions (importer, imported), each a lazy import inside a function with a
# comment saying why. Keep this list short; the layering test below has no exceptions.
ALLOWED: set[tuple[str, str]] = set()


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of import nodes under ``if TYPE_CHECKING:``: they never run."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                skipped.update(id(n) for n in ast.walk(inner))
    return skipped


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The project modules a file imports (anywhere in it), by their full names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_only(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name in modules:
                found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}
    modules = set(files)
    graph = {}
    for name, path in files.items():
        # a package's __init__ re-exports its modules: importing "nn" means importing nn's
        # __init__, which is not a cycle with the modules it lists
        graph[name] = {
            m
            for m in _imports(path, modules)
            if m != name and m not in PACKAGES and (name, m) not in ALLOWED
        }
    return graph


def test_imports_go_one_way_viz_nn_autograd():
    wrong = [
        (name, target)
        for name, targets in _graph().items()
        for target in targets
        if LAYER[target.split(".")[0]] > LAYER[name.split(".")[0]]
    ]
    assert not wrong, f"imports against the layering: {wrong}"


def test_no_import_cycles_among_the_modules():
    graph = _graph()
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_import_cycle_inside_the_engine():
    # The engine a learner opens first: every module of autograd/ can be read after the ones it
    # imports, none of them imports back (Value.backward() included), with no exception listed.
    graph = {name: targets for name, targets in _graph().items() if name.startswith("autograd.")}
    order: list[str] = []
    remaining = {
        name: {t for t in targets if t.startswith("autograd.")} for name, targets in graph.items()
    }
    while remaining:
        ready = sorted(name for name, targets in remaining.items() if not targets - set(order))
        assert ready, f"import cycle among {sorted(remaining)}"
        for name in ready:
            order.append(name)
            del remaining[name]
    assert not ALLOWED
    assert order.index("autograd.reference_backward") < order.index("autograd.fast_backward")
