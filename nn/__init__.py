"""nn: neurons, layers, MLPs, losses, optimizers, toy data, lessons, and the NumPy version."""

# Names are loaded on first use (PEP 562 module __getattr__), so `import nn` and the lesson path
# (nn.lesson, nn.examples, nn.spec, nn.expression) never import NumPy: the lab runs in the browser
# under Pyodide, which has no NumPy. The modules that do use NumPy (the NumPy twin, the data sets,
# the MLP's seeded weight init, the training loop over arrays) load it when one of their names is
# first asked for. `from nn import MLP` works as before.

from importlib import import_module

# public name -> the module that defines it
_SOURCES = {
    "ACTIVATIONS": "nn.activations",
    "softmax": "nn.activations",
    "DATASETS": "nn.data",
    "circles": "nn.data",
    "load_dataset": "nn.data",
    "moons": "nn.data",
    "one_hot": "nn.data",
    "signed_labels": "nn.data",
    "spirals": "nn.data",
    "xor": "nn.data",
    "EXAMPLE_NAMES": "nn.examples",
    "build_example": "nn.examples",
    "Lesson": "nn.lesson",
    "build_lesson": "nn.lesson",
    "LOSSES": "nn.losses",
    "binary_cross_entropy": "nn.losses",
    "binary_cross_entropy_with_logits": "nn.losses",
    "cross_entropy": "nn.losses",
    "get_loss": "nn.losses",
    "half_squared_error": "nn.losses",
    "hinge": "nn.losses",
    "l2_penalty": "nn.losses",
    "mse": "nn.losses",
    "softmax_cross_entropy": "nn.losses",
    "squared_error": "nn.losses",
    "MLP": "nn.mlp",
    "Layer": "nn.mlp",
    "Neuron": "nn.mlp",
    "Module": "nn.module",
    "NumpyAdam": "nn.numpy_mlp",
    "NumpyMLP": "nn.numpy_mlp",
    "NumpySGD": "nn.numpy_mlp",
    "SGD": "nn.optim",
    "Adam": "nn.optim",
    "Optimizer": "nn.optim",
    "check_printed": "nn.printed",
    "LessonSpec": "nn.spec",
    "SpecError": "nn.spec",
    "parse_spec": "nn.spec",
    "read_spec_file": "nn.spec",
    "History": "nn.training",
    "accuracy": "nn.training",
    "fit": "nn.training",
    "predict": "nn.training",
    "predict_classes": "nn.training",
}

__all__ = sorted(_SOURCES)


def __getattr__(name: str) -> object:
    """Load a public name from its module on first use, then keep it here."""
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'nn' has no attribute {name!r}")
    value = getattr(import_module(source), name)
    globals()[name] = value  # later lookups are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SOURCES))
