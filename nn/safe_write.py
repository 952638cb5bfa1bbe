"""Writing a file only when its whole content exists, and only the file named.

:func:`write_file` is how stepgrad writes every file it makes (a saved model, a drawing, a step
page): the text is encoded before anything is opened, so a character UTF-8 cannot hold never
leaves a truncated file; it writes through a symbolic link to the file it points at; it keeps the
file's mode and its hard links; it refuses a read-only file with one line; and a full disk or a
Ctrl-C leaves the old content.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import signal
import stat
import threading
from pathlib import Path

# ".sg-" + 8 hex digits + ".tmp": 16 characters whatever the target's name, so a target whose
# own name is at the file system's limit (255 bytes) still gets a temporary file beside it.
_TEMP_PREFIX = ".sg-"
_TEMP_SUFFIX = ".tmp"


def encode_text(text: str, path: str | os.PathLike[str], verb: str = "write") -> bytes:
    """``text`` as UTF-8, or a ValueError naming the file and the character that cannot be."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        bad = text[error.start]
        before = text[max(0, error.start - 30) : error.start]
        raise ValueError(
            f"cannot {verb} {os.fspath(path)}: character {error.start} is U+{ord(bad):04X} "
            f"(a lone surrogate), which UTF-8 cannot encode; it follows {before!r}; "
            "nothing was written"
        ) from None


def write_file(path: str | os.PathLike[str], content: str | bytes, *, verb: str = "write") -> Path:
    """Write ``content`` (text is written as UTF-8) to ``path``; returns ``path`` as a Path.

    * The content is complete and encoded before the file is opened.
    * A symbolic link is followed: the file it points at gets the content, the link stays.
    * An existing file keeps its mode (and owner, where allowed). A file with other hard links
      is rewritten in place so that every name still shows the same file; any other file is
      replaced by a complete temporary file beside it (``os.replace``), so a crash never
      leaves it half written.
    * A read-only file (no write permission bit), a folder or a device is refused with one
      line (a ``PermissionError``/``IsADirectoryError``/``ValueError``), unchanged.

    ``verb`` starts the error messages: "cannot save model.json: ...".
    """
    data = encode_text(content, path, verb) if isinstance(content, str) else bytes(content)
    shown = os.fspath(path)
    target = Path(os.path.realpath(path))
    try:
        info: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        info = None
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(f"cannot {verb} {shown}: it is a folder")
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"cannot {verb} {shown}: it is not a regular file")
        if not info.st_mode & 0o222:
            # Checked on the mode bits, not with os.access: root may write anything, but a
            # file someone made read-only is not to be overwritten without a word.
            raise PermissionError(
                f"cannot {verb} {shown}: it is read-only (mode {stat.S_IMODE(info.st_mode):o}); "
                "make it writable (chmod u+w) or choose another name"
            )
    if not target.parent.is_dir():
        raise FileNotFoundError(f"cannot {verb} {shown}: the folder {target.parent} does not exist")
    if info is not None and info.st_nlink > 1:
        _rewrite_in_place(target, data)
    else:
        _replace(target, data, info)
    return Path(path)


def _replace(target: Path, data: bytes, info: os.stat_result | None) -> None:
    """Write a temporary file beside ``target``, then rename it over ``target``.

    The old file stays whole until the rename, which is atomic: a full disk, a crash or a
    Ctrl-C leaves either the old or the new content. The price: the result is a new file, so
    hard links would keep the old one (``write_file`` rewrites those in place instead).
    """
    tmp = target.parent / f"{_TEMP_PREFIX}{secrets.token_hex(4)}{_TEMP_SUFFIX}"
    # 0o666 minus the umask for a new file, as open() would make it; an old file's mode is
    # copied below (before the rename, so the file is never visible with the wrong mode).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if info is None else 0o600)
    try:
        try:
            _write_all(fd, data)
            if info is not None:
                os.fchmod(fd, stat.S_IMODE(info.st_mode))
                with contextlib.suppress(OSError):  # only root may give a file away
                    os.fchown(fd, info.st_uid, info.st_gid)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _rewrite_in_place(target: Path, data: bytes) -> None:
    """Overwrite a hard-linked file's content without making a new file (the links stay).

    What is traded: a power cut in the middle can leave a mix of old and new bytes, which the
    rename in :func:`_replace` never does. What is kept: the space is reserved first, so a full
    disk fails before a byte changes; and Ctrl-C is held back until the write is done.
    """
    fd = os.open(target, os.O_WRONLY)
    try:
        size = os.fstat(fd).st_size
        if len(data) > size:
            with contextlib.suppress(AttributeError):  # not on every platform
                try:
                    os.posix_fallocate(fd, 0, len(data))
                except OSError as error:
                    if error.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                        raise  # ENOSPC: nothing was changed
        with _sigint_held():
            os.lseek(fd, 0, os.SEEK_SET)
            _write_all(fd, data)
            os.ftruncate(fd, len(data))
            os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _sigint_held():
    """Block SIGINT for the block's duration; a Ctrl-C in it is delivered right after."""
    can_block = hasattr(signal, "pthread_sigmask") and threading.current_thread() is (
        threading.main_thread()
    )
    if not can_block:
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
