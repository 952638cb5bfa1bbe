"""`stepgrad lab --site DIR`: the lab as a static site that runs stepgrad in the browser (Pyodide).

The site is a folder any static host can serve (GitHub Pages, a course site, ``python -m
http.server -d DIR``): the lab page, a small script that runs Pyodide in a Web Worker and answers
the page's requests by calling ``viz.lab.handle_json`` (the same function the ``stepgrad lab``
server calls: one API, two transports), the stepgrad wheel, the Pyodide runtime files and the
built-in lessons. Nothing is fetched from anywhere but the site's own origin.

Pyodide comes from the npm registry at build time: the pinned tarball is fetched once with
``npm pack`` into a cache, its sha512 checked against the pin, and only the runtime files the page
needs are copied out of it.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from autograd import __version__

PYODIDE_VERSION = "314.0.8"
# the registry's `dist.integrity` of pyodide@314.0.8 (sha512 of the tarball, base64)
PYODIDE_INTEGRITY = (
    "sha512-74Wq1kXOC+CCEzAfxuRAO701nAcCMLjf8NrwvWpu8S41dVMXwXmLQ05dYB+F4e46AdnGo0oq7YHSVUpHsoarLQ=="
)
# what the page loads from the tarball; the rest (console pages, type stubs, source maps) is not
# needed at run time
PYODIDE_FILES = (
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
)
# bounds on what is read out of the tarball (the largest file, the wasm, is 9.6 MB)
MAX_RUNTIME_FILE = 64 * 1024 * 1024

PACKAGES = ("autograd", "nn", "viz")
# the site's own files, shipped in the viz package next to this module
SITE_FILES = ("site.js", "site_worker.js", "site.css")
# the lab page's script and style (its HTML comes from viz.lab.page_html)
LAB_FILES = ("lab.js", "lab.css")

NPM_HINT = (
    "install Node.js with npm (Debian/Ubuntu: sudo apt-get install npm; macOS: brew install node; "
    "or https://nodejs.org) and run the command again"
)

# Only the site's own origin; 'wasm-unsafe-eval' lets the page's worker compile Pyodide's
# WebAssembly. Otherwise the policy `stepgrad lab`'s page has.
CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
    "connect-src 'self'; img-src 'self' data:; style-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'"
)


class SiteError(Exception):
    """Building the site failed for a reason the user can act on; the message is one line."""


# ---------------------------------------------------------------------------------------------
# Pyodide from the npm registry, cached
# ---------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """Where fetched npm tarballs are kept: $STEPGRAD_CACHE, else $XDG_CACHE_HOME/stepgrad, else
    ~/.cache/stepgrad."""
    if os.environ.get("STEPGRAD_CACHE"):
        return Path(os.environ["STEPGRAD_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "stepgrad"


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def pyodide_tarball(cache: Path | None = None) -> bytes:
    """The pinned Pyodide npm tarball, checked against its integrity hash (fetched once).

    Raises :class:`SiteError` (one line) when npm is missing or the fetch fails.
    """
    folder = (cache or cache_dir()) / "npm"
    path = folder / f"pyodide-{PYODIDE_VERSION}.tgz"
    if path.is_file():
        data = path.read_bytes()
        if _integrity(data) == PYODIDE_INTEGRITY:
            return data
        # a truncated or altered cache entry: fetch again rather than trust it
    npm = shutil.which("npm")
    if npm is None:
        raise SiteError(f"the site needs npm to fetch Pyodide {PYODIDE_VERSION} once: {NPM_HINT}")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        try:
            done = subprocess.run(
                [npm, "pack", f"pyodide@{PYODIDE_VERSION}", "--pack-destination", tmp, "--silent"],
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=600,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SiteError(f"npm could not fetch pyodide@{PYODIDE_VERSION}: {error}") from None
        fetched = Path(tmp) / f"pyodide-{PYODIDE_VERSION}.tgz"
        if done.returncode != 0 or not fetched.is_file():
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            why = lines[-1].strip() if lines else f"exit code {done.returncode}"
            raise SiteError(
                f"npm could not fetch pyodide@{PYODIDE_VERSION} (is the registry reachable?): {why}"
            )
        data = fetched.read_bytes()
        if _integrity(data) != PYODIDE_INTEGRITY:
            raise SiteError(
                f"pyodide@{PYODIDE_VERSION} from npm does not match its pinned integrity hash "
                f"(got {_integrity(data)[:30]}...): not using it"
            )
        os.replace(fetched, path)
    return data


def pyodide_runtime(tarball: bytes) -> dict[str, bytes]:
    """The runtime files the page needs, read out of the npm tarball by name."""
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for member in archive:
            name = member.name.removeprefix("package/")
            if name not in PYODIDE_FILES or not member.isfile():
                continue
            if member.size > MAX_RUNTIME_FILE:
                raise SiteError(f"pyodide tarball: {name} is {member.size} bytes, too large")
            extracted = archive.extractfile(member)
            assert extracted is not None  # a regular file
            files[name] = extracted.read()
    missing = [name for name in PYODIDE_FILES if name not in files]
    if missing:
        raise SiteError(f"pyodide@{PYODIDE_VERSION} tarball lacks {', '.join(missing)}")
    return files


# ---------------------------------------------------------------------------------------------
# The stepgrad wheel, from the installed package files
# ---------------------------------------------------------------------------------------------


def _package_files(package: str) -> list[tuple[str, Path]]:
    """(name in the wheel, file) for every file of an importable package, caches left out.

    Reads the package where Python imports it from, so it works for an editable install (the
    checkout) and for an installed wheel alike.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SiteError(f"package {package} is not importable: is stepgrad installed?")
    root = Path(list(spec.submodule_search_locations)[0])
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or any(
            part == "__pycache__" or part.startswith(".") for part in relative.parts
        ):
            continue
        if path.suffix in (".pyc", ".pyo"):
            continue
        found.append((f"{package}/{relative.as_posix()}", path))
    return found


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel() -> tuple[str, bytes]:
    """A pure-Python wheel of autograd, nn and viz (package data included): (file name, bytes).

    Written with zipfile, byte for byte the same for the same sources (fixed timestamps), so a
    rebuilt site only changes where the code did. Installed in the browser with Pyodide's
    ``unpackArchive``, which needs no package index. Its metadata lists no dependencies: the lab's
    path needs neither NumPy nor graphviz, and nothing in the browser could install them.
    """
    dist_info = f"stepgrad-{__version__}.dist-info"
    entries: list[tuple[str, bytes]] = []
    for package in PACKAGES:
        entries += [(name, path.read_bytes()) for name, path in _package_files(package)]
    metadata = (
        "Metadata-Version: 2.1\n"
        "Name: stepgrad\n"
        f"Version: {__version__}\n"
        "Summary: A scalar autograd engine that shows backpropagation step by step "
        "(browser build for the lab site)\n"
        "License: MIT\n"
    )
    wheel = (
        "Wheel-Version: 1.0\n"
        "Generator: stepgrad lab --site\n"
        "Root-Is-Purelib: true\n"
        "Tag: py3-none-any\n"
    )
    entries += [
        (f"{dist_info}/METADATA", metadata.encode()),
        (f"{dist_info}/WHEEL", wheel.encode()),
        (f"{dist_info}/top_level.txt", "".join(f"{p}\n" for p in PACKAGES).encode()),
    ]
    record = "".join(_record_line(name, data) + "\n" for name, data in entries)
    record += f"{dist_info}/RECORD,,\n"
    entries.append((f"{dist_info}/RECORD", record.encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return f"stepgrad-{__version__}-py3-none-any.whl", buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# The site
# ---------------------------------------------------------------------------------------------


def _viz_file(name: str) -> bytes:
    try:
        return resources.files("viz").joinpath(name).read_bytes()
    except FileNotFoundError:
        raise SiteError(f"viz/{name} is missing from the installed package") from None


def _page(manifest: dict) -> str:
    """The lab page (``viz.lab.page_html``: no embedded response, so it asks its transport) with
    the site's policy, and the site's additions (its style, the manifest, site.js) right after
    the policy: covered by it, and before the lab's script, so that the lab finds
    window.stepgradTransport defined."""
    from viz.lab import page_html

    additions = (
        '<link rel="stylesheet" href="site.css">\n'
        '<script type="application/json" id="stepgrad-site">'
        + json.dumps(manifest, sort_keys=True).replace("<", "\\u003c")
        + "</script>\n"
        '<script src="site.js"></script>\n'
    )
    page = page_html(csp=CSP)
    policy = page.find("Content-Security-Policy")
    if policy < 0:
        raise SiteError("viz/lab.html has no content security policy to add the site after")
    at = page.find(">", policy) + 1
    return page[:at] + "\n" + additions + page[at:]


def site_files(tarball: bytes | None = None) -> dict[str, bytes]:
    """Every file of the site by its path in the site folder (nothing written)."""
    runtime = pyodide_runtime(tarball if tarball is not None else pyodide_tarball())
    wheel_name, wheel = build_wheel()
    files: dict[str, bytes] = {f"pyodide/{name}": data for name, data in runtime.items()}
    files[wheel_name] = wheel
    lessons = resources.files("nn").joinpath("lessons")
    for lesson in sorted(lessons.iterdir(), key=lambda p: p.name):
        if lesson.name.endswith(".toml"):
            files[f"lessons/{lesson.name}"] = lesson.read_bytes()
    for name in SITE_FILES + LAB_FILES:
        files[name] = _viz_file(name)
    # what the worker fetches, with sizes for the progress bar (pyodide.mjs and pyodide.asm.mjs
    # are loaded as modules, which the worker cannot count)
    manifest = {
        "version": __version__,
        "pyodide": PYODIDE_VERSION,
        "wheel": wheel_name,
        "sizes": {
            name: len(files[name])
            for name in (
                "pyodide/pyodide.asm.wasm",
                "pyodide/python_stdlib.zip",
                "pyodide/pyodide-lock.json",
                wheel_name,
            )
        },
    }
    files["index.html"] = _page(manifest).encode("utf-8")
    # an empty .nojekyll keeps GitHub Pages from hiding files (none start with _ today; cheap)
    files[".nojekyll"] = b""
    return files


def _write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole: a temp file beside it, then os.replace."""
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return  # unchanged: keep the file's time, so hosts and browsers keep their caches
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600: a web server running as another user reads it
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_site(folder: str | os.PathLike[str], tarball: bytes | None = None) -> dict[str, int]:
    """Write the static site into ``folder`` (created if needed); returns {path: size}.

    Only the site's own files are written; other files already in the folder are left alone.
    Raises :class:`SiteError` with one line when it cannot (npm missing, a file not writable).
    """
    root = Path(folder)
    if root.exists() and not root.is_dir():
        raise SiteError(f"{root}: exists and is not a folder")
    files = site_files(tarball)
    try:
        for name, data in files.items():
            _write(root / name, data)
    except OSError as error:
        raise SiteError(f"{root}: cannot write the site: {error.strerror or error}") from None
    return {name: len(data) for name, data in files.items()}


def first_visit(sizes: dict[str, int]) -> int:
    """Bytes the first visit downloads (uncompressed): the page, its scripts and style, the
    Pyodide runtime and the wheel; the lesson files are only fetched on demand."""
    return sum(
        size
        for name, size in sizes.items()
        if not name.startswith("lessons/") and name != ".nojekyll"
    )


def run(folder: str, out=None) -> int:
    """Build the site into ``folder``, print a one-line summary; the exit code (2 on error)."""
    out = out or sys.stdout
    try:
        sizes = write_site(folder)
    except SiteError as error:
        print(f"stepgrad lab --site: {error}", file=sys.stderr)
        return 2
    total = sum(sizes.values())
    print(
        f"wrote the lab site to {folder} ({len(sizes)} files, {total / 1e6:.1f} MB; the first "
        f"visit downloads {first_visit(sizes) / 1e6:.1f} MB before compression). Serve it with "
        f"`python -m http.server -d {folder}` or any static host.",
        file=out,
    )
    return 0


def run_site_command(args) -> int:  # noqa: ANN001 - the argparse namespace of `stepgrad lab`
    """`stepgrad lab --site DIR`: the site holds every lesson and opens on 2-2-1."""
    if args.lesson or args.expr is not None:
        print(
            "stepgrad lab --site: the site opens on the 2-2-1 case study and holds every "
            "built-in lesson; give no LESSON or --expr (learners open their own lesson in the "
            "page)",
            file=sys.stderr,
        )
        return 2
    return run(args.site)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m viz.site DIR`: the same as `stepgrad lab --site DIR`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m viz.site DIR", file=sys.stderr)
        return 2
    return run(args[0])


if __name__ == "__main__":
    sys.exit(main())
