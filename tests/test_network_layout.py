"""The network layout record: what the network view of any network is drawn from."""

import math

import pytest

from autograd import Value
from nn import MLP
from nn.network import LayerView, NetworkLayout, UnitView, layout_of_mlp


def test_parameters_lists_a_shared_bias_once_in_layer_order():
    x = [Value(0.05, "i1"), Value(0.10, "i2")]
    w = [Value(v, f"w{k}") for k, v in enumerate([0.15, 0.20, 0.25, 0.30], start=1)]
    b1 = Value(0.35, "b1")  # one bias shared by both hidden units, as the 2-2-2 textbook does
    units = (
        UnitView("out_h1", a=Value(0.0), weights=(w[0], w[1]), bias=b1),
        UnitView("out_h2", a=Value(0.0), weights=(w[2], w[3]), bias=b1),
    )
    layout = NetworkLayout(
        layers=(
            LayerView("input", tuple(UnitView(v.label, a=v) for v in x)),
            LayerView("hidden", units, "sigmoid"),
        )
    )
    assert [p.label for p in layout.parameters()] == ["w1", "w2", "b1", "w3", "w4"]


def test_layout_of_mlp_reads_weights_from_the_modules_and_nodes_from_the_forward_pass():
    model = MLP(2, [2, 1], activation="sigmoid", output_activation="linear", seed=0)
    for p in model.parameters():
        p.label = "renamed"  # labels are for people: the layout must not depend on them
    (out,) = model([0.5, -0.3])
    layout = layout_of_mlp(model, root=out)
    assert [layer.name for layer in layout.layers] == ["input", "hidden 1", "output"]
    hidden = layout.layers[1].units[1]
    neuron = model.layers[0].neurons[1]
    assert hidden.weights == tuple(neuron.w) and hidden.bias is neuron.b
    # the weighted input by hand: w0 * 0.5 + w1 * -0.3 + b, and the sigmoid of it
    z = neuron.w[0].data * 0.5 + neuron.w[1].data * -0.3 + neuron.b.data
    assert hidden.z.data == pytest.approx(z) and hidden.a.data == pytest.approx(
        1.0 / (1.0 + math.exp(-z)))
    assert layout.layers[0].units[0].a.data == 0.5
    assert layout.layers[2].units[0].a is out and layout.layers[2].units[0].z is out  # linear
    assert layout.loss is None
    loss = (out - 1.0) ** 2
    assert layout_of_mlp(model, root=loss).loss is loss
    no_pass = layout_of_mlp(model)
    assert no_pass.layers[1].units[0].z is None and no_pass.layers[0].units[0].a is None


def test_layout_of_a_batch_loss_leaves_out_the_ambiguous_nodes():
    model = MLP(2, [2, 1], seed=0)
    batch = model([0.5, -0.3])[0] + model([0.1, 0.2])[0]
    layout = layout_of_mlp(model, root=batch)
    assert all(u.z is None and u.a is None for layer in layout.layers for u in layer.units)
    assert layout.layers[1].units[0].bias is model.layers[0].neurons[0].b
    other = MLP(2, [2, 1], seed=1)
    with pytest.raises(ValueError, match="root was not computed by this model"):
        layout_of_mlp(other, root=model([0.5, -0.3])[0])
    with pytest.raises(TypeError, match="needs an nn.MLP"):
        layout_of_mlp(object())
