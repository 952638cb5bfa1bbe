"""Recording a backward pass as data: one step per node, in the order the chain rule visits them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from autograd.backward import backpropagate
from autograd.value import Value, _parents


def _name(node: Value) -> str:
    # Unlabelled nodes are named by their op and value, so a formula still reads as math.
    return node.label or (f"[{node.op} = {node.data:.4g}]" if node.op else f"[{node.data:.4g}]")


@dataclass(frozen=True)
class ParentStep:
    """What one chain-rule step sends to one parent of the node being visited."""

    node: Value  # the parent
    label: str
    local_grad: float  # d(node)/d(parent)
    rule: str  # the local rule in words, e.g. "d(a*b)/da = b"
    contribution: float  # local_grad * the node's grad: what flows to the parent
    grad_after: float  # the parent's grad after adding the contribution


@dataclass(frozen=True)
class TraceStep:
    """One node visited by the chain rule: its gradient from above and what it passes on."""

    index: int  # 0 for the output, then in the order backward() visits the nodes
    node: Value
    label: str
    op: str
    data: float
    grad: float  # d(output)/d(node), complete when the node is visited
    parents: tuple[ParentStep, ...]

    def formula(self) -> str:
        """The step as text, one line per parent, with the numbers filled in, e.g.::

        z2 (+) = 1.09142, grad -0.0193257
          grad(b2) += ∂z2/∂b2 × grad(z2) = 1 × -0.0193257 = -0.0193257 → -0.0193257   [...]
        """
        name = _name(self.node)
        lines = [f"{name} ({self.op}) = {self.data:.6g}, grad {self.grad:.6g}"]
        for p in self.parents:
            pname = _name(p.node)
            lines.append(
                f"  grad({pname}) += ∂{_grouped(name)}/∂{_grouped(pname)} × grad({name}) = "
                f"{p.local_grad:.6g} × {self.grad:.6g} = {p.contribution:.6g}"
                f" → {p.grad_after:.6g}   [{p.rule}]"
            )
        return "\n".join(lines)


def _grouped(name: str) -> str:
    # "∂a*b + c/∂a*b" is unreadable; "∂(a*b + c)/∂(a*b)" is not.
    atomic = name.replace("[", "").replace("]", "").replace("_", "").isalnum()
    bracketed = name.startswith("[") and name.endswith("]") and name.count("[") == 1
    return name if atomic or bracketed else f"({name})"


@dataclass(frozen=True)
class BackwardTrace:
    """The whole backward pass from ``root``, step by step (``steps[0]`` is the root itself)."""

    root: Value
    steps: tuple[TraceStep, ...]

    def __iter__(self) -> Iterator[TraceStep]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, index: int) -> TraceStep:
        return self.steps[index]


def trace_backward(root: Value) -> BackwardTrace:
    """Run ``root.backward()`` and record every chain-rule step it takes.

    The gradients left on the nodes are exactly those ``backward()`` leaves (this *is*
    ``backward()``, with a recorder attached), so leaves accumulate as usual.
    """
    if not isinstance(root, Value):
        raise TypeError(f"trace_backward needs a Value, got {type(root).__name__}")
    steps: list[TraceStep] = []

    def record(node: Value, local: Sequence[float]) -> None:
        g = node.grad
        parents = _parents(node)
        rules = node._op.rules
        sent: list[ParentStep] = []
        # Simulate the additions backward() is about to make, in the same order, so that
        # grad_after is exact even when a parent appears twice (b = a + a).
        pending: dict[int, float] = {}
        for parent, d, rule in zip(parents, local, rules):
            before = pending.get(id(parent), parent.grad)
            after = before + d * g
            pending[id(parent)] = after
            sent.append(ParentStep(parent, parent.label, d, rule, d * g, after))
        steps.append(TraceStep(len(steps), node, node.label, node.op, node.data, g, tuple(sent)))

    backpropagate(root, on_step=record)
    return BackwardTrace(root, tuple(steps))
