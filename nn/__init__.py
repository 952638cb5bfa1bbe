"""nn: neurons, layers, MLPs, losses, optimizers, toy data, and the NumPy version to check them."""

from nn.activations import ACTIVATIONS, softmax
from nn.data import DATASETS, circles, load_dataset, moons, one_hot, signed_labels, spirals, xor
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
from nn.training import History, accuracy, fit, predict, predict_classes

__all__ = [
    "ACTIVATIONS",
    "DATASETS",
    "LOSSES",
    "MLP",
    "SGD",
    "Adam",
    "History",
    "Layer",
    "Module",
    "Neuron",
    "NumpyAdam",
    "NumpyMLP",
    "NumpySGD",
    "Optimizer",
    "accuracy",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
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
    "predict",
    "predict_classes",
    "signed_labels",
    "softmax",
    "softmax_cross_entropy",
    "spirals",
    "squared_error",
    "xor",
]
