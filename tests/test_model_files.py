"""Model files are untrusted: bounded before allocating, one line naming file and field, no harm."""

from __future__ import annotations

import json
import pickle
import tracemalloc

import pytest

from nn import MLP, Layer
from nn.files import FileFormatError
from nn.module import MAX_PARAMETERS


def _saved(tmp_path, model=None, name="m.json"):
    model = model or MLP(2, [3, 1], seed=1)
    path = tmp_path / name
    model.save(path)
    return path, json.loads(path.read_text())


def _one_line_error(call) -> str:
    with pytest.raises(FileFormatError) as error:
        call()
    message = str(error.value)
    assert "\n" not in message
    return message


def test_a_tiny_file_describing_a_billion_units_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.json"
    document = {
        "format": "stepgrad-model",
        "version": 1,
        "class": "MLP",
        "config": {"nin": 2, "sizes": [1000000000], "activation": "tanh",
                   "output_activation": "linear"},
        "state": {},
    }  # fmt: skip
    path.write_text(json.dumps(document))
    assert path.stat().st_size < 300
    tracemalloc.start()
    try:
        message = _one_line_error(lambda: MLP.from_file(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert message == f"{path}: config.sizes[0]: must be at most {MAX_PARAMETERS}, got 1000000000"
    assert peak < 1_000_000  # bytes: nothing the size of the model was built
    model = MLP(2, [3, 1], seed=1)
    before = model.state_dict()
    assert _one_line_error(lambda: model.load(path)) == message
    assert model.state_dict() == before


def test_the_total_number_of_parameters_is_bounded_before_building(tmp_path):
    path, document = _saved(tmp_path)
    document["config"]["sizes"] = [5000, 5000]  # each size is fine, the total is not
    path.write_text(json.dumps(document))
    tracemalloc.start()
    try:
        message = _one_line_error(lambda: MLP.from_file(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert message == (
        f"{path}: config.sizes: describes an MLP with 25,020,000 parameters; "
        f"at most {MAX_PARAMETERS:,} can be loaded"
    )
    assert peak < 1_000_000


def test_the_state_must_have_as_many_values_as_the_configuration_before_building(tmp_path):
    path, document = _saved(tmp_path)
    document["config"]["sizes"] = [300, 1]  # 1201 parameters; the state has 13
    path.write_text(json.dumps(document))
    message = _one_line_error(lambda: MLP.from_file(path))
    assert message == (
        f"{path}: state: has 13 values, but the configuration 2 -> [300, 1] has 1201 parameters"
    )


@pytest.mark.parametrize(
    ("edit", "where", "problem"),
    [
        (lambda d: d["state"].update({"layers.1.neurons.0.b": int("9" * 401)}),
         'state["layers.1.neurons.0.b"]', "is inf (or too large); it must be finite"),
        (lambda d: d["config"].update({"nin": int("9" * 401)}),
         "config.nin", "is inf (or too large); it must be finite"),
        (lambda d: d["config"].update({"sizes": [3, 0]}),
         "config.sizes[1]", "must be at least 1, got 0"),
        (lambda d: d["config"].update({"sizes": [3, 1.5]}),
         "config.sizes[1]", "must be a whole number, got 1.5"),
        (lambda d: d["config"].update({"nin": "2"}),
         "config.nin", "must be a number, got string '2'"),
        (lambda d: d["config"].update({"activation": "swish"}),
         "config.activation", "unknown activation 'swish'"),
        (lambda d: d["config"].pop("output_activation"),
         "config.output_activation", "missing"),
        (lambda d: d["config"].update({"fused": "yes"}),
         "config.fused", "must be true or false, got string 'yes'"),
        (lambda d: d.update({"version": 2}), "version", "is 2; this stepgrad reads version 1"),
        (lambda d: d.update({"class": "Layer"}), "class", "holds a 'Layer', not an MLP"),
        (lambda d: d.update({"state": [1, 2]}), "state", "must be a table, got list"),
        (lambda d: d["state"].update({"layers.0.neurons.0.w.0": True}),
         'state["layers.0.neurons.0.w.0"]', "must be a number, got boolean True"),
        (lambda d: d["state"].update({"layers.0.neurons.0.w.0": None}),
         'state["layers.0.neurons.0.w.0"]', "must be a number, got NoneType None"),
    ],
)  # fmt: skip
def test_every_bad_field_is_named_with_its_path(tmp_path, edit, where, problem):
    path, document = _saved(tmp_path)
    edit(document)
    path.write_text(json.dumps(document))
    message = _one_line_error(lambda: MLP.from_file(path))
    assert message.startswith(f"{path}: {where}: {problem}")


@pytest.mark.parametrize(
    "content",
    [
        pickle.dumps({"format": "stepgrad-model"}),
        json.dumps({"format": "stepgrad-model"}).encode("utf-16"),
        bytes(range(256)) * 4,
    ],
    ids=["pickle", "utf-16", "binary"],
)
def test_pickle_utf16_and_binary_files_are_one_line_naming_the_file(tmp_path, content):
    path = tmp_path / "model.json"
    path.write_bytes(content)
    model = MLP(2, [3, 1], seed=1)
    before = model.state_dict()
    for call in (lambda: MLP.from_file(path), lambda: model.load(path)):
        assert _one_line_error(call).startswith(f"{path}: not a text file (UTF-8)")
    assert model.state_dict() == before


def test_deeply_nested_brackets_are_one_line(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"format": "stepgrad-model", "state": ' + "[" * 100_000 + "]" * 100_000 + "}")
    message = _one_line_error(lambda: MLP.from_file(path))
    assert message == f"{path}: nested deeper than 64 levels"


def test_a_file_larger_than_the_limit_is_not_read(tmp_path):
    from nn.module import read_model_file

    path, _ = _saved(tmp_path)
    message = _one_line_error(lambda: read_model_file(path, max_bytes=100))
    assert message.startswith(f"{path}: is ") and "over the limit of 100 bytes" in message


def test_load_leaves_the_model_unchanged_on_any_bad_value(tmp_path):
    path, document = _saved(tmp_path, MLP(2, [3, 1], seed=7))
    names = list(document["state"])
    for name in names:
        document["state"][name] = 5.0  # would change every parameter
    document["state"][names[-1]] = "nan"  # ... but the last value is bad
    path.write_text(json.dumps(document))
    model = MLP(2, [3, 1], seed=1)
    before = model.state_dict()
    message = _one_line_error(lambda: model.load(path))
    assert message == f"{path}: state[\"{names[-1]}\"]: must be a number, got string 'nan'"
    assert model.state_dict() == before


def test_missing_and_extra_names_are_reported_with_shapes(tmp_path):
    path, document = _saved(tmp_path)
    document["state"]["layers.0.neurons.3.w.0"] = document["state"].pop("layers.0.neurons.0.b")
    path.write_text(json.dumps(document))
    message = _one_line_error(lambda: MLP.from_file(path))
    assert message.startswith(f"{path}: state: the state does not fit this MLP; missing 1 ")


def test_from_file_keeps_fused(tmp_path):
    fused_model = MLP(2, [3, 1], seed=2, fused=True)
    path, document = _saved(tmp_path, fused_model)
    assert document["config"]["fused"] is True
    x = [0.3, -0.8]
    rebuilt = MLP.from_file(path)
    assert rebuilt.fused is True
    assert rebuilt.state_dict() == fused_model.state_dict()
    assert [v.data for v in rebuilt(x)] == [v.data for v in fused_model(x)]
    assert MLP.from_file(path, fused=False).fused is False
    # files saved before "fused" was written build unfused models, or as asked
    del document["config"]["fused"]
    path.write_text(json.dumps(document))
    assert MLP.from_file(path).fused is False
    assert MLP.from_file(path, fused=True).fused is True


def test_loading_keeps_the_models_own_fused_setting(tmp_path):
    path, _ = _saved(tmp_path, MLP(2, [3, 1], seed=2, fused=True))
    model = MLP(2, [3, 1], seed=1, fused=False)
    model.load(path)
    assert model.fused is False


def test_a_layer_saves_and_loads_without_a_configuration(tmp_path):
    layer = Layer(2, 3, seed=4)
    path = tmp_path / "layer.json"
    layer.save(path)
    other = Layer(2, 3, seed=5)
    other.load(path)
    assert other.state_dict() == layer.state_dict()
    message = _one_line_error(lambda: MLP(2, [3]).load(path))
    assert message == f"{path}: class: holds a 'Layer', not a MLP; the model was left unchanged"


def test_save_into_a_missing_folder_names_the_folder(tmp_path):
    target = tmp_path / "no" / "such" / "model.json"
    with pytest.raises(FileNotFoundError) as error:
        MLP(2, [1]).save(target)
    assert str(error.value) == (
        f"cannot save {target}: the folder {tmp_path / 'no' / 'such'} does not exist"
    )
    assert ".tmp" not in str(error.value)
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        MLP(2, [1]).save(tmp_path)
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


def test_a_missing_file_is_one_line():
    message = _one_line_error(lambda: MLP.from_file("/nonexistent/model.json"))
    assert message == "/nonexistent/model.json: no such file"
