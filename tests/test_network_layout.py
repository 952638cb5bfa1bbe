"""The network layout record: what the network view of any network is drawn from."""

from autograd import Value
from nn.network import LayerView, NetworkLayout, UnitView


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
