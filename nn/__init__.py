"""nn: neurons, layers, MLPs, losses, optimizers, toy data, lessons, and the NumPy version."""

from nn.activations import ACTIVATIONS, softmax
from nn.data import DATASETS, circles, load_dataset, moons, one_hot, signed_labels, spirals, xor
from nn.examples import EXAMPLE_NAMES, build_example
from nn.lesson import Lesson, build_lesson
from nn.losses import (
    LOSSES,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    get_loss,
    half_squared_error,
    hinge,
    l2_penalty,
    mse,
    softmax_cross_entropy,
    squared_error,
)
from nn.mlp import MLP, Layer, Neuron
from nn.module import Module
from nn.numpy_mlp import NumpyAdam, NumpyMLP, NumpySGD
from nn.optim import SGD, Adam, Optimizer
from nn.printed import check_printed
from nn.spec import LessonSpec, SpecError, parse_spec, read_spec_file
from nn.training import History, accuracy, fit, predict, predict_classes

__all__ = [
    "ACTIVATIONS",
    "DATASETS",
    "EXAMPLE_NAMES",
    "LOSSES",
    "MLP",
    "SGD",
    "Adam",
    "History",
    "Layer",
    "Lesson",
    "LessonSpec",
    "Module",
    "Neuron",
    "NumpyAdam",
    "NumpyMLP",
    "NumpySGD",
    "Optimizer",
    "SpecError",
    "accuracy",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "build_example",
    "build_lesson",
    "check_printed",
    "circles",
    "cross_entropy",
    "fit",
    "get_loss",
    "half_squared_error",
    "hinge",
    "l2_penalty",
    "load_dataset",
    "moons",
    "mse",
    "one_hot",
    "parse_spec",
    "predict",
    "predict_classes",
    "read_spec_file",
    "signed_labels",
    "softmax",
    "softmax_cross_entropy",
    "spirals",
    "squared_error",
    "xor",
]
