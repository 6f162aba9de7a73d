"""Atomic file replacement: a crash mid-save must leave the previous file intact.

Never destroying work also means: a file the user made read-only is not replaced (a
rename ignores file permissions, so this is checked explicitly), temp files left by a save
that was killed are removed by the next save or open of that file, and a file that has to
make room but cannot be read is kept aside (:func:`set_aside`) rather than overwritten.

Temp files are hidden, in the target's folder, named ``.<name>.<pid>.<random>.tmp``: the
pid tells a live save of another process (left alone) from a killed one (removed).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

#: A temp file older than this is stale even if its pid is alive (pids are reused, and a
#: pid on a shared filesystem may belong to another machine).
STALE_TEMP_SECONDS = 3600.0
_IN_FLIGHT: set[str] = set()  # temp files this process is writing now
_IN_FLIGHT_LOCK = threading.Lock()


class ReadOnlyFileError(PermissionError):
    """The target exists and is read-only: the user protected it, so it is not replaced."""

    def __init__(self, path: Path) -> None:
        self.message = (f"{path}: the file is read-only; not replaced (make it writable to "
                        "save over it, or save elsewhere)")
        super().__init__(errno.EACCES, self.message, os.fspath(path))

    def __str__(self) -> str:
        return self.message


def is_read_only(path: str | os.PathLike) -> bool:
    """Whether an existing file has no write permission bit (for anyone) or this process
    may not write it; root's ``os.access`` ignores the bits, so both are checked."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)) or not os.access(
        path, os.W_OK)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    return True


def temp_files_for(path: str | os.PathLike) -> list[Path]:
    """Hidden temp files of saves of ``path`` (``.<name>.*.tmp``) in its folder."""
    path = Path(path)
    prefix = f".{path.name}."
    try:
        with os.scandir(path.parent) as entries:  # one C-speed listing per save
            return [path.parent / e.name for e in entries
                    if e.name.startswith(prefix) and e.name.endswith(".tmp")]
    except OSError:
        return []


def clean_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Remove temp files that killed saves of ``path`` left behind; returns those removed.

    A temp file is kept only while the process named in it is alive (and it is younger
    than :data:`STALE_TEMP_SECONDS`) or this process is writing it now.
    """
    removed = []
    prefix_len = len(Path(path).name) + 2
    for tmp in temp_files_for(path):
        with _IN_FLIGHT_LOCK:
            if str(tmp) in _IN_FLIGHT:
                continue
        pid_text = tmp.name[prefix_len:].split(".", 1)[0]
        try:
            age = time.time() - tmp.stat().st_mtime
        except OSError:
            continue
        if pid_text.isdigit() and int(pid_text) != os.getpid() \
                and _pid_alive(int(pid_text)) and age < STALE_TEMP_SECONDS:
            continue
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed.append(tmp)
            log.info("removed %s left by an interrupted save", tmp)
    return removed


def _free_name(path: Path, tag: str) -> Path:
    target = path.with_name(f"{path.name}.{tag}")
    n = 0
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.{tag}.{n}")
    return target


def set_aside(path: str | os.PathLike, tag: str = "unreadable") -> Path:
    """Rename ``path`` to ``<name>.<tag>`` (``<name>.<tag>.1``... if taken) and return the
    new path: a file that has to make room (cannot be read, or is being replaced) may still
    hold work."""
    path = Path(path)
    target = _free_name(path, tag)
    os.replace(path, target)
    log.warning("%s kept as %s", path, target.name)
    return target


def copy_aside(path: str | os.PathLike, tag: str = "bak") -> Path:
    """Copy ``path`` to ``<name>.<tag>`` (``.<tag>.1``... if taken) before it is replaced;
    the file itself stays. Returns the copy's path."""
    import shutil

    path = Path(path)
    target = _free_name(path, tag)
    shutil.copy2(path, target)
    log.info("kept a copy of %s as %s", path.name, target.name)
    return target


def default_mode(directory: bool = False) -> int:
    """Permissions a plain ``open()`` (0o666) or ``mkdir`` (0o777) would give under the umask;
    temp files and folders are created 0o600/0o700, which colleagues cannot read."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(fh)`` on a temp file in the target's folder, then replace the target.

    The temp file lives in the same folder so ``os.replace`` is an atomic rename on the same
    filesystem. ``mkstemp`` creates files as 0o600; we restore normal permissions (or keep the
    existing file's) so saved labels stay readable by colleagues. Raises
    :class:`ReadOnlyFileError` (a ``PermissionError``) when the target is read-only; temp
    files of earlier killed saves of the same target are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and is_read_only(path):
        raise ReadOnlyFileError(path)
    clean_stale_temps(path)
    mode = path.stat().st_mode & 0o777 if path.exists() else default_mode()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp",
                                    dir=path.parent)
    tmp = Path(tmp_name)
    with _IN_FLIGHT_LOCK:
        _IN_FLIGHT.add(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    finally:
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.discard(tmp_name)
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    return atomic_write(path, lambda fh: fh.write(text.encode(encoding)))
