"""stepgrad's scalar autograd engine: Values that record a graph, and backward() through it."""

from autograd.backward import NonFiniteWarning, grad
from autograd.compile import CompiledGraph, DataDependentError, compile_graph, compile_value
from autograd.grad_mode import enable_grad, is_grad_enabled, no_grad
from autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from autograd.graph import topological_order
from autograd.hessian import hessian
from autograd.ops import Op
from autograd.reference_backward import reference_backward
from autograd.trace import BackwardTrace, ParentStep, TraceStep, trace_backward
from autograd.value import Value, weighted_sum

__version__ = "0.1.0"

__all__ = [
    "BackwardTrace",
    "CompiledGraph",
    "DataDependentError",
    "compile_graph",
    "compile_value",
    "ParentStep",
    "TraceStep",
    "trace_backward",
    "GradcheckError",
    "NonFiniteWarning",
    "Op",
    "Value",
    "enable_grad",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "hessian",
    "is_grad_enabled",
    "no_grad",
    "reference_backward",
    "topological_order",
    "weighted_sum",
]
