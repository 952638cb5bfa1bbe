"""A recorded graph as straight-line Python: forward and backward, one line per node, runnable.

Reverse-mode differentiation turns a forward computation into a second program. This module
writes both out for a graph recorded once: one local variable per node, named from the graph's
labels, the chain rule as statements, each op's code pasted from its own rule in
``autograd/ops.py`` (``forward_src`` and ``local_src``; there is no second copy of any rule here).
::

    f = compile_graph(lambda x, w, b: (x * w + b).tanh(), 2.0, -3.0, 6.8814)
    print(f.source)                 # readable Python for the forward and the backward pass
    out, grads = f(1.0, 0.5, -0.2)  # new numbers in, output and d(out)/d(input) out: no Values

The compiled function gives the numbers ``backward()`` gives, operation for operation in the
same order (so to the last bit), keeps IEEE semantics (overflow is inf), and, when anything on
the way is not finite or an op is undefined (log of a negative, division by zero), hands the
call to the engine itself, which warns (:class:`NonFiniteWarning`) or raises its own error.

Sums of products that feed only into other sums are written as one expression
(``z1_0 = W1_0_0 * x_0 + W1_0_1 * x_1 + b1_0``): the same additions in the same order, without
a variable per partial sum. Everything else is one line per node.
"""

from __future__ import annotations

import ast
import functools
import inspect
import keyword
import math
import numbers
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from autograd.graph import topological_order_of
from autograd.ops import ADD, FLOAT_FUNCTIONS, MUL, SUB, Op
from autograd.value import Value, _parents  # the operands of a node, in order

__all__ = ["CompiledGraph", "DataDependentError", "Line", "Program", "compile_graph",
           "compile_value", "identifier", "write_program"]  # fmt: skip

MAX_NODES = 2_000_000  # a graph larger than this would make a program Python cannot compile
MAX_FOLD = 48  # terms written into one expression at most (Python parses them recursively)

# Nodes written into the expression of the sum that consumes them, never a line of their own.
_FOLDABLE = (ADD, SUB, MUL)
_SUMS = (ADD, SUB)

# Names a program uses for its own purposes; no node may be called so.
_RESERVED = {*FLOAT_FUNCTIONS, "math", "nan", "isfinite", "seed", "grads", "check", "_fail"}


# ---------------------------------------------------------------------------------------------
# Names: labels as Python identifiers
# ---------------------------------------------------------------------------------------------

_SYMBOL = re.compile(r"^[^\W\d]\w*(\[\d+\])*$")
_SPELLED = {"ŷ": "y_hat", "∂": "d", "η": "eta", "′": "_prime"}


def identifier(label: str) -> str:
    """A Python identifier for a symbol: ``W1[0][1]`` -> ``W1_0_1``, ``ŷ`` -> ``y_hat``,
    ``δ2`` -> ``delta2``; '' when the label is not a symbol (``x*w``, ``log ŷ``, ``1/2``)."""
    if not label or not _SYMBOL.match(label):
        return ""
    text = label.replace("][", "_").replace("[", "_").replace("]", "")
    out = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
        elif ch in _SPELLED:
            out.append(_SPELLED[ch])
        elif unicodedata.name(ch, "").startswith("GREEK"):
            out.append(unicodedata.name(ch).split()[-1].lower())
        else:  # an accented letter: its base letter (é -> e)
            base = unicodedata.normalize("NFKD", ch)[:1]
            out.append(base if base.isascii() and base.isalnum() else "_")
    name = "".join(out)
    if keyword.iskeyword(name) or name in _RESERVED:
        name += "_"
    return name if name.isidentifier() else ""


class _Names:
    """Hands out unique identifiers: the label's own where it is a symbol, else v1, v2, ..."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self.taken = set(_RESERVED) | set(taken)
        self.count = 0

    def claim(self, wanted: str) -> str:
        name, k = wanted, 2
        while name in self.taken:
            name, k = f"{wanted}_{k}", k + 1
        self.taken.add(name)
        return name

    def fresh(self) -> str:
        while True:
            self.count += 1
            if f"v{self.count}" not in self.taken:
                return self.claim(f"v{self.count}")


# ---------------------------------------------------------------------------------------------
# The program: lines built from each op's rules
# ---------------------------------------------------------------------------------------------


@dataclass  # (no slots=True: PyPy 3.9 is supported)
class Line:
    """One statement: ``target = expr`` (or ``+=``), with the rule it applies as a comment."""

    target: str
    expr: str
    comment: str = ""
    augmented: bool = False  # ``target += expr``: one more path's share of a gradient
    # The gradient variable this share is a multiple of, when the multiplier is a value or a
    # constant (finite whenever the forward pass was): the share is 0 when that gradient is.
    guard: str = ""

    def text(self, comment: bool = True) -> str:
        code = f"{self.target} {'+=' if self.augmented else '='} {self.expr}"
        return f"{code}  # {self.comment}" if comment and self.comment else code


@dataclass
class Program:
    """The straight-line program of one graph, as data (see :func:`write_program`).

    ``inputs`` are the leaves the program takes, ``names``/``grads`` map nodes to the variables
    holding their value and their gradient, ``forward``/``backward`` are the lines in order,
    ``checked`` the variables whose sum tells whether anything was not finite.
    """

    root: Value
    inputs: list[Value]
    wrt: list[Value]
    names: dict[Value, str]
    grads: dict[Value, str]
    forward: list[Line]
    backward: list[Line]
    checked: list[str]
    seed: str
    order: list[Value] = field(repr=False)
    local_names: dict[Value, str] = field(default_factory=dict)

    @property
    def input_names(self) -> list[str]:
        return [self.names[v] for v in self.inputs]

    @property
    def grad_names(self) -> list[str]:
        return [self.grads[v] for v in self.wrt]


def _literal(x: float) -> ast.expr:
    """A constant as code: ``0.5``, ``-(2.0)`` as ``-2.0``, ``inf``, ``nan``."""
    if math.isnan(x):
        return ast.Name("nan", ast.Load())
    if math.isinf(x):
        e: ast.expr = ast.Name("inf", ast.Load())
    else:
        e = ast.Constant(abs(x))
    return ast.UnaryOp(ast.USub(), e) if math.copysign(1.0, x) < 0.0 else e


@functools.lru_cache(maxsize=4096)
def _parsed(src: str) -> ast.expr:
    return ast.parse(src, mode="eval").body


def _rule(op: Op, src: str, env: Mapping[str, ast.expr]) -> ast.expr:
    """One of the op's own rule expressions, operands replaced by their code, params inlined."""

    def rebuilt(node: object) -> object:
        # The common kinds first, built directly (operators are shared: they hold no data).
        kind = type(node)
        if kind is ast.BinOp:
            return ast.BinOp(rebuilt(node.left), node.op, rebuilt(node.right))
        if kind is ast.UnaryOp:
            return ast.UnaryOp(node.op, rebuilt(node.operand))
        if kind is ast.Constant:
            return node
        if isinstance(node, ast.Name):
            if node.id in env:
                return env[node.id]
            if node.id in op.params:
                return _literal(op.params[node.id])
            return node
        if isinstance(node, ast.AST):
            return type(node)(**{f: rebuilt(getattr(node, f)) for f in node._fields})
        if isinstance(node, list):
            return [rebuilt(item) for item in node]
        return node

    tree = _parsed(src)
    if isinstance(tree, ast.Name) and tree.id in env:  # most rules: an operand (d(a*b)/da = b)
        return env[tree.id]
    if isinstance(tree, ast.Constant):  # or a constant: shared, never changed by anyone
        return tree
    return rebuilt(tree)  # type: ignore[return-value]


# How tightly each kind of expression binds, for the brackets _code writes.
_BINARY = {ast.Add: ("+", 10), ast.Sub: ("-", 10), ast.Mult: ("*", 11), ast.Div: ("/", 11),
           ast.Pow: ("**", 13)}  # fmt: skip
_COMPARE = {ast.Gt: ">", ast.Lt: "<", ast.GtE: ">=", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!="}


def _code(e: ast.expr, outer: int = 0) -> str:
    """An expression as text, with the brackets its tree needs and no others.

    ``ast.unparse`` does the same for any Python, at ten times the cost: a program for a large
    network writes tens of thousands of expressions. Rules use only the kinds below.
    """
    if isinstance(e, ast.Name):
        return e.id
    if isinstance(e, ast.Constant):
        return repr(e.value)
    if isinstance(e, ast.BinOp):
        symbol, mine = _BINARY[type(e.op)]
        if isinstance(e.op, ast.Pow):  # right-associative, and -x ** 2 is -(x ** 2)
            text = f"{_code(e.left, mine + 1)} ** {_code(e.right, 12)}"
        else:  # left-associative: a - (b - c) keeps its brackets
            text = f"{_code(e.left, mine)} {symbol} {_code(e.right, mine + 1)}"
    elif isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
        mine, text = 12, f"-{_code(e.operand, 12)}"
    elif isinstance(e, ast.Call) and isinstance(e.func, ast.Name) and not e.keywords:
        return f"{e.func.id}({', '.join(_code(a) for a in e.args)})"
    elif isinstance(e, ast.Compare) and len(e.ops) == 1:
        mine = 6
        text = f"{_code(e.left, 7)} {_COMPARE[type(e.ops[0])]} {_code(e.comparators[0], 7)}"
    elif isinstance(e, ast.IfExp):
        mine = 1
        text = f"{_code(e.body, 2)} if {_code(e.test, 2)} else {_code(e.orelse, 1)}"
    else:  # not a kind any rule uses today
        return f"({ast.unparse(e)})"
    return f"({text})" if mine < outer else text


def _times(local: ast.expr, g: ast.expr) -> ast.expr:
    """local * g, without the multiplication by 1 (1.0 * g is g to the last bit)."""
    if isinstance(local, ast.Constant) and local.value == 1.0:
        return g
    if (
        isinstance(local, ast.UnaryOp)
        and isinstance(local.op, ast.USub)
        and isinstance(local.operand, ast.Constant)
        and local.operand.value == 1.0
    ):
        return ast.UnaryOp(ast.USub(), g)  # -1.0 * g is -g to the last bit too
    return ast.BinOp(local, ast.Mult(), g)


def _masked(local: ast.expr, g: ast.expr) -> ast.expr:
    """local * g for an op that masks: where local is 0 the share is exactly 0 (see ops.Op).

    relu's ``0.0 if z <= 0.0 else 1.0`` gives ``0.0 if z <= 0.0 else g``.
    """
    if isinstance(local, ast.IfExp):
        return ast.IfExp(local.test, _masked(local.body, g), _masked(local.orelse, g))
    if isinstance(local, ast.Constant) and local.value == 0.0:
        return ast.Constant(0.0)
    if isinstance(local, ast.Constant):
        return _times(local, g)
    zero = ast.Compare(local, [ast.Eq()], [ast.Constant(0.0)])
    return ast.IfExp(zero, ast.Constant(0.0), _times(local, g))


def _plain(local: ast.expr) -> bool:
    """Whether a local derivative is a variable or a constant (``b``, ``1.0``, ``-1.0``)."""
    if isinstance(local, ast.UnaryOp) and isinstance(local.op, ast.USub):
        local = local.operand
    return isinstance(local, (ast.Name, ast.Constant))


def build_program(
    root: Value,
    inputs: Sequence[Value],
    *,
    names: Sequence[str] | None = None,
    accumulate: bool = False,
    seed: str = "1.0",
    local_names: Mapping[Value, str] | None = None,
    keep: Iterable[Value] = (),
    wrt: Iterable[Value] | None = None,
    extras: Sequence[Value] = (),
) -> Program:
    """The program for ``root``'s graph as a function of ``inputs`` (leaves of that graph).

    ``names`` gives the inputs' variable names (default: from their labels). ``accumulate``:
    each input's gradient is added to a variable already holding one (for summing over the
    samples of a batch, in the order ``backward()`` would add them). ``seed`` is the code of
    d(root)/d(root). ``local_names`` names the local derivative of chosen nodes (``sigma_z2``)
    so that it is a variable of its own. ``keep`` lists nodes that get a line of their own even
    where they could be written into a sum. ``wrt`` (default: all inputs) are the inputs whose
    gradients the program computes. ``extras`` are more nodes whose values the program
    computes (each gets a variable), in the graph or not (a model's output that the loss
    bypasses). Leaves that are not inputs are constants.
    """
    try:
        return _build(root, inputs, names, accumulate, seed, local_names, keep, wrt, extras)
    except RecursionError:
        raise ValueError(_TOO_DEEP) from None


_TOO_DEEP = (
    "the graph has an expression too deeply nested for Python to compile "
    "(an op with more than about a thousand operands)"
)


def _build(
    root: Value,
    inputs: Sequence[Value],
    names: Sequence[str] | None,
    accumulate: bool,
    seed: str,
    local_names: Mapping[Value, str] | None,
    keep: Iterable[Value],
    wrt: Iterable[Value] | None,
    extras: Sequence[Value],
) -> Program:
    order = topological_order_of([root, *extras])
    if len(order) > MAX_NODES:
        raise ValueError(f"the graph has {len(order)} nodes; at most {MAX_NODES} can be compiled")
    inputs = list(inputs)
    position = {v: i for i, v in enumerate(inputs)}
    if len(position) != len(inputs):
        raise ValueError("an input is listed twice")
    if names is not None and len(names) != len(inputs):
        raise ValueError(f"{len(names)} names for {len(inputs)} inputs")
    for i, v in enumerate(inputs):
        if not v.is_leaf:
            raise ValueError(f"input {i} ({v.label or v.op!r}) is not a leaf of the graph")
    local_names = dict(local_names or {})
    keep = set(keep) | set(local_names) | set(extras)
    wanted_grads = set(inputs) if wrt is None else set(wrt)

    # 1. Which nodes are written into the sum that uses them: + - * nodes used once, by a + or -,
    #    whose label is not a symbol (an unlabelled node, or a partial sum labelled "x*w + ...").
    uses: dict[Value, int] = {}
    consumer: dict[Value, Value] = {}
    for node in order:
        for p in _parents(node):
            uses[p] = uses.get(p, 0) + 1
            consumer[p] = node
    #    A long sum is cut every MAX_FOLD terms: Python parses an expression recursively.
    folded: set[Value] = set()
    depth: dict[Value, int] = {}
    for n in order:
        if (
            n._op in _FOLDABLE
            and n is not root
            and n not in keep
            and uses.get(n) == 1
            and consumer[n]._op in _SUMS
            and not identifier(n.label)
        ):
            depth[n] = 1 + max((depth.get(p, 0) for p in _parents(n)), default=0)
            if depth[n] < MAX_FOLD:
                folded.add(n)
            else:
                depth[n] = 0

    # 2. Names: inputs first (their labels or the given names), then every node with a line.
    labels = list(names) if names is not None else [v.label for v in inputs]
    pool = _Names()
    var: dict[Value, str] = {}
    for v, label in zip(inputs, labels):
        var[v] = pool.claim(identifier(label) or "c")  # a number: a constant
    for n in order:
        if n._op is not None and n not in folded:
            wanted = identifier(n.label)
            var[n] = pool.claim(wanted) if wanted else pool.fresh()
    for n, wanted in local_names.items():
        local_names[n] = pool.claim(identifier(wanted) or "slope")
    grad_var = {n: pool.claim(f"d_{name}") for n, name in var.items()}

    code: dict[Value, ast.expr] = {}  # each node's value as code: a variable or an expression

    def value_code(v: Value) -> ast.expr:
        if v in code:
            return code[v]
        return _literal(v.data)  # a constant leaf

    # 3. Forward: one line per node that has a variable, in topological order.
    forward: list[Line] = []
    envs: dict[Value, dict[str, ast.expr]] = {}  # each node's operands as code, for step 4 too
    for v in inputs:
        code[v] = ast.Name(var[v], ast.Load())
    for n in order:
        op = n._op
        if op is None:
            continue
        env = envs[n] = {name: value_code(p) for name, p in zip(op.operands, _parents(n))}
        expr = _rule(op, op.forward_src, env)
        if n in folded:
            code[n] = expr
        else:
            forward.append(Line(var[n], _code(expr)))
            code[n] = ast.Name(var[n], ast.Load())

    # 4. Backward: the nodes in reverse topological order, as backward() visits them; each passes
    #    local * its gradient to each operand in operand order, the order backward() adds them.
    backward: list[Line] = []
    grad_code: dict[Value, ast.expr] = {}
    guard_of: dict[Value, str] = {}  # a folded node's share: the gradient it is a multiple of
    started: set[Value] = set()
    if root in var:
        seeded = root in position and accumulate  # an input's gradient adds up over calls
        backward.append(Line(grad_var[root], seed, "d(out)/d(out) = 1", augmented=seeded))
        started.add(root)
        grad_code[root] = ast.Name(grad_var[root], ast.Load())
    for n in reversed(order):
        op = n._op
        if op is None or n not in grad_code:
            continue
        g = grad_code[n]
        parents = _parents(n)
        env = envs[n]
        env["out"] = value_code(n)
        slope_var = local_names.get(n)
        guard = guard_of.get(n, "") if n in folded else grad_var[n]
        for i, p in enumerate(parents):
            if (p not in var and p not in folded) or (p in position and p not in wanted_grads):
                continue  # a constant, or an input whose gradient is not wanted
            local = _rule(op, op.local_src[i], env)
            if slope_var is not None and len(parents) == 1:
                backward.append(Line(slope_var, _code(local), op.rules[i]))
                local = ast.Name(slope_var, ast.Load())
            share = _masked(local, g) if op.masks else _times(local, g)
            # A value or a constant times the gradient: 0 (up to its sign) when it is 0.
            share_guard = guard if _plain(local) and slope_var is None else ""
            if p in folded:  # its gradient is this share, written where it is used
                grad_code[p] = share
                guard_of[p] = share_guard
                continue
            comment = op.rules[i] if slope_var is None else ""
            first = p not in started and not (accumulate and p in position)
            backward.append(Line(grad_var[p], _code(share), comment, augmented=not first,
                                 guard=share_guard))  # fmt: skip
            started.add(p)
            grad_code[p] = ast.Name(grad_var[p], ast.Load())
    for v in inputs:  # inputs the output does not depend on
        if v not in started and not accumulate and v in wanted_grads:
            backward.append(Line(grad_var[v], "0.0", "the output does not depend on it"))
    checked = [var[n] for n in order if n._op is not None and n not in folded]
    # ... and every gradient on the way: one that is infinite can be stopped by a relu that is
    # off (it masks: see ops.Op), but backward() still warns about it, and so must the caller.
    checked += [grad_var[n] for n in order if n in started and n not in position]
    return Program(
        root=root,
        inputs=inputs,
        wrt=[v for v in inputs if v in wanted_grads],
        names=var,
        grads=grad_var,
        forward=forward,
        backward=backward,
        checked=checked,
        seed=seed,
        order=order,
        local_names=local_names,
    )


# ---------------------------------------------------------------------------------------------
# From a program to a function
# ---------------------------------------------------------------------------------------------


def write_program(
    program: Program,
    signature: str = "plain",
    extras: Sequence[Value] = (),
    shared: int = 0,
    comments: bool = True,
    skip_zeros: bool = False,
) -> str:
    """The source of a function running ``program``.

    ``plain``: ``def f(<inputs>)`` returning ``(out, (d_input, ...), check)``, where ``check``
    is a sum of every node's value: NaN or inf exactly when one of them was.

    ``batch``: ``def f(shared, rows, seed, grads)`` runs the program once per row, in the
    order given: the first ``shared`` inputs (the parameters) come in the tuple ``shared``, the
    others in each row; the gradients (``accumulate=True``) start from the tuple ``grads`` and
    stay in local variables from one row to the next. Returns ``(outs, extras, grads, check)``:
    the output of each row, the values of the ``extras`` nodes for each row (nodes with a
    variable: see ``keep``), the summed gradients and the check over all rows.
    ``comments=False`` leaves out the rules in words (less text for Python to read).

    ``skip_zeros=True`` writes the shares a gradient passes on under ``if d_z:``: where a relu
    is off or a hinge is met, the gradient is 0 and so is each share (a value times 0), so
    they are skipped. Every number is the same, but for the sign of a zero (0.0 for -0.0),
    provided everything was finite: a program run this way must be checked (``check``).
    """
    ins = program.input_names
    douts = program.grad_names
    out = program.names.get(program.root) or _code(_literal(program.root.data))
    # The check in pieces: Python compiles a long sum recursively.
    pieces = [program.checked[i : i + MAX_FOLD] for i in range(0, len(program.checked), MAX_FOLD)]
    body = ["# forward", *[line.text(comments) for line in program.forward]]
    if skip_zeros:
        body += ["# backward", *_skipping_zeros(program.backward, comments)]
    else:
        body += ["# backward", *[line.text(comments) for line in program.backward]]
    grads = f"({', '.join(douts)}{',' if douts else ''})"
    if signature == "plain":
        lines = [f"def f({', '.join(ins)}):", *[f"    {text}" for text in body]]
        if len(pieces) > 1:
            lines.append("    check = 0.0")
            lines += [f"    check += {' + '.join(piece)}" for piece in pieces]
        check = "check" if len(pieces) > 1 else " + ".join(program.checked) or "0.0"
        lines.append(f"    return {out}, {grads}, {check}")
        return "\n".join(lines) + "\n"
    lines = ["def f(shared, rows, seed, grads):"]
    if shared:
        lines.append(f"    {', '.join(ins[:shared])}, = shared")
    if douts:
        lines.append(f"    {', '.join(douts)}, = grads")
    lines += ["    outs = []", "    extras = []", "    check = 0.0"]
    row = ", ".join(ins[shared:])
    lines.append(f"    for {row + ',' if row else '_'} in rows:")
    lines += [f"        {text}" for text in body]
    lines.append(f"        outs.append({out})")
    lines.append(f"        extras.append(({''.join(program.names[v] + ', ' for v in extras)}))")
    lines += [f"        check += {' + '.join(piece)}" for piece in pieces]
    lines.append(f"    return outs, extras, {grads}, check")
    return "\n".join(lines) + "\n"


# Lines under one ``if`` at least; per epoch of the fine-grained 2-16-16-1 demo, 1 and 2 are
# alike and 4 is 5 % slower.
MIN_SKIPPED = 2


def _skipping_zeros(lines: list[Line], comments: bool) -> list[str]:
    """The backward lines, each run of shares of one gradient under ``if <that gradient>:``.

    A share first assigning its variable is written as ``+=`` after a ``= 0.0`` ahead of the
    ``if``, so that the variable exists when the run is skipped (0.0 + x is x, but for -0.0).
    """
    out: list[str] = []
    i = 0
    while i < len(lines):
        guard = lines[i].guard
        j = i + 1
        while guard and j < len(lines) and lines[j].guard == guard:
            j += 1
        if not guard or j - i < MIN_SKIPPED:
            out += [line.text(comments) for line in lines[i:j]]
        else:
            run = lines[i:j]
            out += [f"{line.target} = 0.0" for line in run if not line.augmented]
            out.append(f"if {guard}:")
            out += [f"    {line.target} += {line.expr}" for line in run]
        i = j
    return out


def make_function(source: str) -> Callable[..., tuple]:
    """The function ``f`` that ``source`` (from :func:`write_program`) defines.

    Raises ValueError when Python cannot compile it: an expression nested too deeply (a sum
    of a thousand terms in one node, say).
    """
    namespace: dict[str, object] = {**FLOAT_FUNCTIONS, "nan": math.nan, "__builtins__": {}}
    try:
        code = compile(source, "<compiled graph>", "exec")
    except (RecursionError, MemoryError, SyntaxError):
        raise ValueError(_TOO_DEEP) from None
    exec(code, namespace)  # noqa: S102 - the text is written above from the ops' own rules
    return namespace["f"]  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# The engine, for the calls the compiled code hands back
# ---------------------------------------------------------------------------------------------


def replay(program: Program, numbers: Sequence[float]) -> tuple[Value, list[Value]]:
    """The recorded graph rebuilt with new input numbers, node by node through the engine.

    Each op's domain check runs on Values labelled as in the recording, so an undefined
    operation raises the engine's own error; returns the new root and the new input leaves.
    """
    from autograd.value import apply_op  # the engine's own ops and checks

    new: dict[Value, Value] = {}
    leaves = []
    for v, x in zip(program.inputs, numbers):
        leaf = Value(float(x), v.label)
        new[v] = leaf
        leaves.append(leaf)
    for n in program.order:
        if n in new:
            continue
        if n._op is None:
            new[n] = Value(n.data, n.label)
            continue
        node = apply_op(n, [new[p] for p in _parents(n)])
        node.label = n.label
        new[n] = node
    return new[program.root], leaves


# ---------------------------------------------------------------------------------------------
# compile_graph
# ---------------------------------------------------------------------------------------------


class CompiledGraph:
    """A graph compiled to Python: ``out, grads = f(*numbers)``; ``f.source`` is the program.

    ``grads`` holds d(out)/d(input) for each input, in order. A call whose numbers make any
    value or gradient non-finite, or an op undefined, is run by the engine instead: the same
    numbers, plus the engine's :class:`NonFiniteWarning` or its error for the bad input.
    """

    def __init__(self, program: Program) -> None:
        self.program = program
        self.source = write_program(program)
        self.input_names = tuple(program.input_names)
        self._f = make_function(self.source)
        self.__doc__ = f"The compiled graph of {self.input_names}: returns (out, grads)."

    def __call__(self, *numbers: float) -> tuple[float, tuple[float, ...]]:
        if len(numbers) != len(self.input_names):
            raise TypeError(
                f"the compiled function takes {len(self.input_names)} numbers "
                f"({', '.join(self.input_names)}), got {len(numbers)}"
            )
        xs = [_number(x, name) for x, name in zip(numbers, self.input_names)]
        try:
            out, grads, check = self._f(*xs)
        except (ArithmeticError, ValueError):
            pass  # an op undefined here: the engine says which, in its own words (below)
        else:
            if math.isfinite(check + sum(grads) + sum(xs)):
                return out, grads
        return self._by_engine(xs)

    def _by_engine(self, xs: list[float]) -> tuple[float, tuple[float, ...]]:
        root, leaves = replay(self.program, xs)
        root.backward()  # warns about a non-finite number, naming the node, as always
        return root.data, tuple(leaf.grad for leaf in leaves)

    def __repr__(self) -> str:
        return f"<compiled graph of ({', '.join(self.input_names)})>"


def _number(x: object, name: str) -> float:
    if type(x) is float:
        return x
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"input {name} must be a real number, got {type(x).__name__} {x!r}")
    return float(x)


def compile_value(
    output: Value, inputs: Sequence[Value], names: Sequence[str] | None = None
) -> CompiledGraph:
    """Compile a graph already recorded: ``output`` as a function of the leaves ``inputs``.

    The graph is taken as it is: whatever Python decided while building it (an ``if`` on a
    number) is frozen into it. Use :func:`compile_graph` for a function, which refuses that.
    """
    if not isinstance(output, Value):
        raise TypeError(f"compile_value needs a Value output, got {type(output).__name__}")
    return CompiledGraph(build_program(output, inputs, names=names))


class DataDependentError(TypeError):
    """The traced function looked at a number, so its graph could depend on the data."""


def _refuse(what: str) -> Callable[..., object]:
    def refuse(self: _Tracer, *args: object) -> object:
        raise DataDependentError(
            f"compile_graph: the function {what} of a traced value ({self.name}), so its graph "
            "could change with the numbers; use ops instead of Python branches (relu, abs, "
            "max as relu(a - b) + b) or run it on Values without compiling"
        )

    return refuse


class _Tracer:
    """A Value under tracing: every op works (on the Value inside); reading its number fails.

    The same idea as JAX's tracers: a function whose graph depends on the data
    (``x*x if x.data > 0 else 3*x``) is refused while tracing, never silently frozen.
    """

    __slots__ = ("value", "name")
    __hash__ = object.__hash__

    def __init__(self, value: Value, name: str) -> None:
        self.value = value
        self.name = name

    @property
    def label(self) -> str:
        return self.value.label

    @label.setter
    def label(self, text: str) -> None:
        self.value.label = text

    def traced_call(self, fn: Callable[..., Value], *args: object) -> _Tracer:
        """``fn(*args)`` on the Values the tracers in ``args`` (or in lists in them) stand for.

        For functions of Values that are not methods: ``weighted_sum`` calls this.
        """

        def plain(a: object) -> object:
            if type(a) is _Tracer:
                return a.value
            if isinstance(a, (list, tuple)):
                return type(a)(plain(x) for x in a)
            return a

        return _Tracer(fn(*[plain(a) for a in args]), f"a value computed from {self.name}")

    data = property(_refuse("reads .data"))
    grad = property(_refuse("reads .grad"))
    __float__ = _refuse("turns into a float")
    __int__ = __index__ = _refuse("turns into an int")
    __bool__ = _refuse("tests the truth")
    __lt__ = __le__ = __gt__ = __ge__ = _refuse("compares the number")
    __eq__ = __ne__ = _refuse("compares the number")  # type: ignore[assignment]
    __round__ = _refuse("rounds the number")
    __format__ = _refuse("formats the number")


def _traced(method: str) -> Callable[..., _Tracer]:
    def op(self: _Tracer, *args: object) -> _Tracer:
        plain = [a.value if type(a) is _Tracer else a for a in args]
        result = getattr(self.value, method)(*plain)
        return _Tracer(result, f"a value computed from {self.name}")

    op.__name__ = method
    return op


# Every operation of a Value, on tracers: each is the Value's own method.
for _method in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
                "__truediv__", "__rtruediv__", "__neg__", "__pow__", "__rpow__", "__abs__",
                "exp", "log", "tanh", "sigmoid", "relu", "leaky_relu", "sqrt",
                "softplus"):  # fmt: skip
    setattr(_Tracer, _method, _traced(_method))


def compile_graph(fn: Callable[..., object], *example_inputs: float) -> CompiledGraph:
    """Trace ``fn`` once on Values and compile its graph to straight-line Python.

    ``fn`` takes one number per argument and returns one value built with Value operations;
    ``example_inputs`` are numbers to trace it at (any numbers where its ops are defined).
    Returns a :class:`CompiledGraph` ``f``: ``out, grads = f(*numbers)`` gives ``fn``'s output
    and its gradient with respect to every input for new numbers, the numbers ``backward()``
    gives; ``f.source`` is the program, one line per node, named from the graph's labels (the
    inputs are labelled with ``fn``'s parameter names; label nodes inside ``fn`` to name them).

    A function whose graph depends on the numbers (``x*x if x.data > 0 else 3*x``, ``if x >
    0``, ``float(x)``) raises :class:`DataDependentError` while tracing: a compiled graph would
    silently keep the branch taken at the example point.
    """
    if not callable(fn):
        raise TypeError(f"compile_graph needs a function, got {type(fn).__name__}")
    names = _parameter_names(fn, len(example_inputs))
    leaves = [Value(_number(x, n), n) for x, n in zip(example_inputs, names)]
    result = fn(*[_Tracer(v, f"input {v.label}") for v in leaves])
    if type(result) is not _Tracer:
        raise TypeError(
            "compile_graph: the function must return one value computed from its inputs, got "
            f"{type(result).__name__}"
        )
    return CompiledGraph(build_program(result.value, leaves))


def _parameter_names(fn: Callable[..., object], n: int) -> list[str]:
    """The function's own parameter names (x, w, b), or x0, x1, ... for ``*args``."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    names: list[str] = []
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and len(names) < n:
            names.append(p.name)
    names += [f"x{i}" for i in range(len(names), n)]
    return names
