"""MLP labels its parameters and nodes like a textbook: W1[0][1], b1[0], z1[0], a1[0], x[0]."""

from __future__ import annotations

import pytest

from autograd import topological_order, trace_backward
from nn import MLP, Layer, Neuron


def test_parameters_are_labelled_layer_unit_input():
    model = MLP(3, [2, 1], seed=0)
    labels = [p.label for p in model.parameters()]
    assert labels == [
        "W1[0][0]", "W1[0][1]", "W1[0][2]", "b1[0]",
        "W1[1][0]", "W1[1][1]", "W1[1][2]", "b1[1]",
        "W2[0][0]", "W2[0][1]", "b2[0]",
    ]  # fmt: skip


def test_dotted_names_stay_for_files_and_drawings():
    model = MLP(3, [2, 1], seed=0)
    names = [name for name, _ in model.named_parameters()]
    assert names[:4] == [
        "layers.0.neurons.0.w.0",
        "layers.0.neurons.0.w.1",
        "layers.0.neurons.0.w.2",
        "layers.0.neurons.0.b",
    ]
    assert set(model.state_dict()) == set(names)


def test_label_matches_the_weight_it_names():
    # W1[j][i] is the weight of unit j on input i: the unit-input layout reads it back.
    model = MLP.from_weights(
        [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[7.0, 8.0]]],
        [[0.1, 0.2], [0.3]],
        layout="unit-input",
    )
    by_label = {p.label: p.data for p in model.parameters()}
    assert by_label["W1[1][2]"] == 6.0
    assert by_label["W1[0][1]"] == 2.0
    assert by_label["W2[0][1]"] == 8.0
    assert by_label["b1[1]"] == 0.2


@pytest.mark.parametrize("fused", [False, True])
def test_every_named_node_of_a_forward_pass(fused):
    model = MLP(2, [2, 1], "tanh", "sigmoid", seed=3, fused=fused)
    (out,) = model([0.5, -1.0])
    labels = {v.label for v in topological_order(out)}
    expected = {"x[0]", "x[1]", "z1[0]", "z1[1]", "a1[0]", "a1[1]", "z2[0]", "a2[0]"}
    expected |= {p.label for p in model.parameters()}
    assert expected <= labels
    assert out.label == "a2[0]"


def test_a_trace_reads_in_the_lesson_vocabulary():
    model = MLP(2, [1], "tanh", "tanh", seed=1)
    (out,) = model([1.0, 2.0])
    trace = trace_backward(out)
    names = {p.node.label for step in trace for p in step.parents}
    assert {"W1[0][0]", "W1[0][1]", "b1[0]", "z1[0]"} <= names
    assert not any(label.startswith("layers.") for label in names)


def test_softmax_outputs_are_named_per_unit():
    model = MLP(2, [3], output_activation="softmax", seed=0)
    assert [v.label for v in model([0.1, 0.2])] == ["a1[0]", "a1[1]", "a1[2]"]


def test_lone_layers_and_neurons_have_names_without_a_layer_number():
    layer = Layer(2, 2, seed=0)
    assert [p.label for p in layer.parameters()] == [
        "W[0][0]", "W[0][1]", "b[0]", "W[1][0]", "W[1][1]", "b[1]",
    ]  # fmt: skip
    assert [v.label for v in layer([1.0, 2.0])] == ["a[0]", "a[1]"]
    neuron = Neuron(2, seed=0)
    assert [p.label for p in neuron.parameters()] == ["w[0]", "w[1]", "b"]
    assert neuron([1.0, 2.0]).label == "a"


def test_label_parameters_restores_the_names():
    model = MLP(2, [2, 1], seed=0)
    for p in model.parameters():
        p.label = "scribbled"
    model.label_parameters()
    assert model.parameters()[0].label == "W1[0][0]"
    assert model.parameters()[-1].label == "b2[0]"
