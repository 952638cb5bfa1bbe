"""Files are written whole and only the file named: symlinks, modes, hard links, read-only files,
the longest names, a full disk, a character UTF-8 cannot hold, and no `dot` program (issue 16).
"""

from __future__ import annotations

import errno
import json
import os
import stat

import pytest

import nn.safe_write as safe_write
from nn.mlp import MLP
from viz.cli import main
from viz.steps import step_page


def _model(seed: int) -> MLP:
    return MLP(2, [2, 1], seed=seed)


def _state(path) -> dict:
    return json.loads(open(path, encoding="utf-8").read())["state"]


def test_save_writes_through_a_symlink_to_its_target(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.json"
    _model(1).save(target)
    link = tmp_path / "model.json"
    link.symlink_to(target)
    new = _model(2)
    new.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert _state(target) == new.state_dict()
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["model.json"]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600, 0o664])
def test_save_keeps_the_files_mode(tmp_path, mode):
    path = tmp_path / "model.json"
    _model(1).save(path)
    os.chmod(path, mode)
    _model(2).save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode


def test_a_new_file_gets_the_usual_mode_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        _model(1).save(tmp_path / "model.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "model.json").st_mode) == 0o644


def test_save_keeps_hard_links(tmp_path):
    path = tmp_path / "model.json"
    _model(1).save(path)
    other = tmp_path / "backup-name.json"
    os.link(path, other)
    new = _model(2)
    new.save(path)
    assert os.stat(path).st_ino == os.stat(other).st_ino
    assert _state(other) == new.state_dict()
    # and a shorter content leaves no tail of the longer old one
    tiny = MLP(1, [1], seed=3)
    tiny.save(other)
    assert _state(path) == tiny.state_dict()


def test_save_refuses_a_read_only_model_with_one_line(tmp_path):
    path = tmp_path / "model.json"
    _model(1).save(path)
    before = path.read_bytes()
    os.chmod(path, 0o444)
    with pytest.raises(PermissionError) as error:
        _model(2).save(path)
    assert str(error.value) == (
        f"cannot save {path}: it is read-only (mode 444); make it writable (chmod u+w) or "
        "choose another name"
    )
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]


@pytest.mark.parametrize("length", [244, 250, 255])
def test_save_works_for_names_up_to_the_file_system_limit(tmp_path, length):
    name = "m" * (length - len(".json")) + ".json"
    assert len(name.encode()) == length
    model = _model(4)
    model.save(tmp_path / name)
    loaded = MLP(2, [2, 1], seed=9)
    loaded.load(tmp_path / name)
    assert loaded.state_dict() == model.state_dict()
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_a_full_disk_leaves_the_old_model(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    _model(1).save(path)
    before = path.read_bytes()

    def no_space(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safe_write.os, "write", no_space)
    with pytest.raises(OSError, match="No space left"):
        _model(2).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]


def test_a_full_disk_leaves_a_hard_linked_model_too(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    MLP(1, [1], seed=1).save(path)  # small: the new, larger model needs more space
    os.link(path, tmp_path / "other.json")
    before = path.read_bytes()

    def no_space(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safe_write.os, "posix_fallocate", no_space)
    with pytest.raises(OSError, match="No space left"):
        _model(2).save(path)
    assert path.read_bytes() == before


def test_a_page_that_cannot_be_encoded_leaves_the_existing_file(tmp_path):
    from nn.examples import build_example

    page_path = tmp_path / "existing.html"
    page_path.write_text("<p>the user's page</p>", encoding="utf-8")
    page = step_page(build_example("1-1-1").loss, title="net \ud800")
    with pytest.raises(ValueError) as error:
        page.write(page_path)
    message = str(error.value)
    assert message.startswith(f"cannot write {page_path}: ") and "U+D800" in message
    assert "\n" not in message
    assert page_path.read_text(encoding="utf-8") == "<p>the user's page</p>"


# ---------------------------------------------------------------------------------------------
# Without Graphviz, only the file named is written: never a .dot beside it
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "named", "beside"),
    [
        (["graph", "-o", "g.svg"], "g.svg", "g.dot"),
        (["graph", "--steps", "-o", "s.html"], "s.html", "s.dot"),
        (["graph", "--steps", "-o", "frames"], "frames", "frames/graph.dot"),
        (["example", "1-1-1", "--graph", "e.svg"], "e.svg", "e.dot"),
        (["example", "1-1-1", "--graph", "p.html"], "p.html", "p.dot"),
    ],
)
def test_without_graphviz_a_users_dot_file_beside_the_output_is_left_alone(
    tmp_path, capsys, monkeypatch, argv, named, beside
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    (tmp_path / beside).parent.mkdir(exist_ok=True)
    (tmp_path / beside).write_text("digraph mine { a -> b }", encoding="utf-8")
    if named.endswith(".html"):
        # The step page (the lab's offline page) lays itself out in Python: no Graphviz needed,
        # and still nothing but the page is written.
        assert main(argv) == 0
        assert (tmp_path / named).read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    else:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "install graphviz" in err.lower() and err.count("\n") == 1
        if named != "frames":
            assert not (tmp_path / named).exists()
    assert (tmp_path / beside).read_text(encoding="utf-8") == "digraph mine { a -> b }"
