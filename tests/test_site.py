"""`stepgrad lab --site`: the pinned Pyodide tarball, the wheel, and the folder it writes."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from viz import site

REPO = Path(__file__).resolve().parent.parent
NEEDS_NPM = pytest.mark.skipif(shutil.which("npm") is None, reason="needs npm (CI has it)")


def _tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_integrity_is_the_npm_sha512_in_base64():
    # npm's `dist.integrity` format, computed here from hashlib directly
    data = b"stepgrad"
    expected = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    assert site._integrity(data) == expected
    assert site.PYODIDE_INTEGRITY.startswith("sha512-") and len(site.PYODIDE_INTEGRITY) == 95


def test_runtime_takes_only_the_files_the_page_loads():
    files = {name: name.encode() for name in site.PYODIDE_FILES}
    files["console.html"] = b"<html>"
    files["pyodide.js.map"] = b"{}"
    runtime = site.pyodide_runtime(_tarball(files))
    assert sorted(runtime) == sorted(site.PYODIDE_FILES)
    assert runtime["pyodide.asm.wasm"] == b"pyodide.asm.wasm"


def test_runtime_names_a_missing_file():
    files = {name: b"x" for name in site.PYODIDE_FILES if name != "python_stdlib.zip"}
    with pytest.raises(site.SiteError, match="lacks python_stdlib.zip"):
        site.pyodide_runtime(_tarball(files))


def test_a_tampered_cache_entry_is_not_used(tmp_path, monkeypatch):
    # a cached tarball whose hash is not the pin is fetched again; with no npm that is an error,
    # never a silent use of the bad file
    folder = tmp_path / "npm"
    folder.mkdir()
    (folder / f"pyodide-{site.PYODIDE_VERSION}.tgz").write_bytes(b"not pyodide")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(site.SiteError, match="needs npm"):
        site.pyodide_tarball(tmp_path)


def test_without_npm_the_command_says_so_in_one_line_and_exits_2(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path / "no-bin"), STEPGRAD_CACHE=str(tmp_path / "c"))
    done = subprocess.run(
        [sys.executable, "-m", "viz.site", str(tmp_path / "public")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "npm" in lines[0] and "apt-get install npm" in lines[0]
    assert not (tmp_path / "public").exists()


def test_wheel_holds_the_packages_and_a_valid_record():
    name, data = site.build_wheel()
    assert name == "stepgrad-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        names = wheel.namelist()
        for expected in (
            "autograd/__init__.py",
            "nn/lesson.py",
            "nn/lessons/2-2-1.toml",
            "viz/sheet.py",
            "viz/site_worker.js",
            "stepgrad-0.1.0.dist-info/METADATA",
            "stepgrad-0.1.0.dist-info/WHEEL",
        ):
            assert expected in names
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
        wheel_meta = wheel.read("stepgrad-0.1.0.dist-info/WHEEL").decode()
        assert "Root-Is-Purelib: true" in wheel_meta and "Tag: py3-none-any" in wheel_meta
        record = wheel.read("stepgrad-0.1.0.dist-info/RECORD").decode().splitlines()
        listed = {}
        for line in record:
            path, digest, size = line.rsplit(",", 2)
            listed[path] = (digest, size)
        assert set(listed) == set(names)
        for path in names:
            if path.endswith("RECORD"):
                assert listed[path] == ("", "")
                continue
            content = wheel.read(path)
            sha = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=")
            assert listed[path] == (f"sha256={sha.decode()}", str(len(content)))
    # the same sources give the same bytes (fixed timestamps)
    assert site.build_wheel()[1] == data


def test_wheel_files_match_the_sources():
    _, data = site.build_wheel()
    with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        assert wheel.read("nn/spec.py") == (REPO / "nn" / "spec.py").read_bytes()
        assert wheel.read("nn/lessons/2-2-1.toml") == (REPO / "nn/lessons/2-2-1.toml").read_bytes()


@NEEDS_NPM
def test_cached_tarball_matches_the_pin():
    data = site.pyodide_tarball()
    assert site._integrity(data) == site.PYODIDE_INTEGRITY


@pytest.fixture(scope="module")
def tarball():
    if shutil.which("npm") is None and not (
        site.cache_dir() / "npm" / f"pyodide-{site.PYODIDE_VERSION}.tgz"
    ).is_file():
        pytest.skip("needs npm to fetch Pyodide once (CI has it)")
    return site.pyodide_tarball()


def test_the_site_is_its_files_and_nothing_else(tmp_path, tarball):
    folder = tmp_path / "public"
    folder.mkdir()
    (folder / "CNAME").write_text("lab.example.org\n")  # a file of the host's: left alone
    sizes = site.write_site(folder, tarball)
    written = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert written == sorted([*sizes, "CNAME"])
    assert sorted(n for n in sizes if n.startswith("pyodide/")) == sorted(
        f"pyodide/{n}" for n in site.PYODIDE_FILES
    )
    assert {"lessons/2-2-1.toml", "lessons/1-1-1.toml", "lessons/softmax.toml"} <= set(sizes)
    for name in ("index.html", "lab.js", "lab.css", "site.js", "site_worker.js", "site.css"):
        assert name in sizes
    # every file readable by a web server running as another user
    assert all((folder / n).stat().st_mode & 0o444 == 0o444 for n in sizes)
    assert (folder / "CNAME").read_text() == "lab.example.org\n"


def test_the_page_allows_only_its_own_origin_and_loads_site_js_first(tmp_path, tarball):
    site.write_site(tmp_path, tarball)
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page).group(1)
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self' 'wasm-unsafe-eval'"
    assert directives["connect-src"] == "'self'"
    assert "unsafe-inline" not in policy and "http" not in policy
    # the policy comes before everything it governs; site.js before lab.js
    assert page.index("Content-Security-Policy") < page.index("<script")
    assert page.index('src="site.js"') < page.index('src="lab.js"')
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing from elsewhere
    manifest = json.loads(re.search(r'id="stepgrad-site">(.*?)</script>', page).group(1))
    for name, size in manifest["sizes"].items():
        assert (tmp_path / name).stat().st_size == size


def test_building_again_leaves_unchanged_files_untouched(tmp_path, tarball):
    site.write_site(tmp_path, tarball)
    wasm = tmp_path / "pyodide" / "pyodide.asm.wasm"
    before = wasm.stat().st_mtime_ns
    os.utime(wasm, ns=(before - 10**9, before - 10**9))
    site.write_site(tmp_path, tarball)
    assert wasm.stat().st_mtime_ns == before - 10**9  # same bytes: not rewritten


def test_the_cli_builds_the_site_and_refuses_a_lesson_argument(tmp_path, tarball):
    from viz.cli import main

    assert main(["lab", "--site", str(tmp_path / "public")]) == 0
    assert (tmp_path / "public" / "index.html").is_file()
    assert main(["lab", "1-1-1", "--site", str(tmp_path / "other")]) == 2
    assert not (tmp_path / "other").exists()


def test_a_file_in_the_way_is_one_line(tmp_path, tarball, capsys):
    blocker = tmp_path / "public"
    blocker.write_text("not a folder")
    assert site.run(str(blocker)) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not a folder" in err
