"""Recording a backward pass as data: one step per node, in the order the chain rule visits them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from autograd.graph import parents_of, topological_order
from autograd.reference_backward import reference_backward
from autograd.value import Value


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
    # The parent's .grad once this contribution is in, as .grad reads after the pass: for a
    # leaf, its gradient from earlier passes plus this pass's contributions so far (leaves
    # accumulate); for any other node, this pass's contributions so far.
    grad_after: float
    pass_grad: float = 0.0  # this pass's contributions to the parent so far, this one included
    grad_before_pass: float = 0.0  # a leaf's .grad before this pass (0.0 for other nodes)


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

        For a leaf that already held a gradient, the arrow still shows what ``.grad`` holds
        afterwards, and says where it comes from: ``→ 1.0598 (0.237799 before this pass +
        0.822001 from it)``.
        """
        name = _name(self.node)
        lines = [f"{name} ({self.op}) = {self.data:.6g}, grad {self.grad:.6g}"]
        for p in self.parents:
            pname = _name(p.node)
            earlier = (
                f" ({p.grad_before_pass:.6g} before this pass + {p.pass_grad:.6g} from it)"
                if p.grad_before_pass
                else ""
            )
            lines.append(
                f"  grad({pname}) += ∂{_grouped(name)}/∂{_grouped(pname)} × grad({name}) = "
                f"{p.local_grad:.6g} × {self.grad:.6g} = {p.contribution:.6g}"
                f" → {p.grad_after:.6g}{earlier}   [{p.rule}]"
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
    """Run the backward pass from ``root`` and record every chain-rule step it takes.

    The pass is the reference one (autograd/reference_backward.py, the chain rule in one
    screen), with a recorder attached; it leaves exactly the gradients ``root.backward()`` leaves
    (a property test pins the two equal), so leaves accumulate as usual, and every
    ``grad_after`` is what ``.grad`` holds at that point of the pass: the last one recorded
    for each node is its ``.grad`` after the call, to the last bit.
    """
    if not isinstance(root, Value):
        raise TypeError(f"trace_backward needs a Value, got {type(root).__name__}")
    steps: list[TraceStep] = []
    # Each leaf's gradient from earlier passes: backward() adds this pass's sum to it at the end.
    earlier = {id(v): v.grad or 0.0 for v in topological_order(root) if v.is_leaf}

    def record(node: Value, local: Sequence[float]) -> None:
        g = node.grad
        parents = parents_of(node)
        rules = node._op.rules
        sent: list[ParentStep] = []
        # Simulate the additions backward() is about to make, in the same order, so that
        # grad_after is exact even when a parent appears twice (b = a + a). During the pass a
        # leaf's .grad holds this pass's sum only; its old gradient is added at the end, as here.
        pending: dict[int, float] = {}
        for parent, d, rule in zip(parents, local, rules):
            so_far = pending.get(id(parent), parent.grad) + d * g
            pending[id(parent)] = so_far
            old = earlier.get(id(parent), 0.0)
            after = old + so_far if old else so_far
            sent.append(ParentStep(parent, parent.label, d, rule, d * g, after, so_far, old))
        steps.append(TraceStep(len(steps), node, node.label, node.op, node.data, g, tuple(sent)))

    reference_backward(root, on_step=record)
    return BackwardTrace(root, tuple(steps))
