"""Finding and downloading the pretrained Cellpose-SAM (``cpsam``) weights.

Looks where Cellpose itself keeps them (``CELLPOSE_LOCAL_MODELS_PATH`` or
``~/.cellpose/models``), in our own ``paths.weights_dir()`` and at a path the user gives.
Downloads go through ``urllib`` with a default SSL context (certificate checks ON; cellpose's
own helper switches them off process-wide, so it is not used), a socket timeout, a progress
callback, an optional cancel flag and an atomic rename, so an interrupted download never
leaves a truncated weights file behind. Every failure is one :class:`WeightsUnavailableError`
saying where to put the file and that the ``tiny`` backbone works without it.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
import urllib.error
import urllib.request
from pathlib import Path

from cellpose_io.atomic import atomic_write
from guv_app import paths
from guv_app.services.engine.errors import WeightsUnavailableError
from guv_app.services.progress import Progress

log = logging.getLogger(__name__)

CPSAM_NAME = "cpsam"
CPSAM_URL = "https://huggingface.co/mouseland/cellpose-sam/resolve/main/cpsam"
WEIGHTS_ENV = "MULTICELLPOSE_CPSAM_WEIGHTS"  # explicit file path
OFFLINE_ENV = "MULTICELLPOSE_OFFLINE"  # "1": never try to download
DEFAULT_TIMEOUT = 20.0
_CHUNK = 1 << 20


def cellpose_model_dir() -> Path:
    """Where upstream Cellpose caches its models (same rule as ``cellpose.models.MODEL_DIR``)."""
    env = os.environ.get("CELLPOSE_LOCAL_MODELS_PATH")
    return Path(env) if env else Path.home() / ".cellpose" / "models"


def candidate_paths(user_path: str | os.PathLike | None = None) -> list[Path]:
    """Every place searched for ``cpsam``, in order."""
    found: list[Path] = []
    if user_path:
        found.append(Path(user_path).expanduser())
    if os.environ.get(WEIGHTS_ENV):
        found.append(Path(os.environ[WEIGHTS_ENV]).expanduser())
    found.append(paths.weights_dir() / CPSAM_NAME)
    found.append(cellpose_model_dir() / CPSAM_NAME)
    return found


def find_cpsam_weights(user_path: str | os.PathLike | None = None) -> Path | None:
    """First existing, non-empty ``cpsam`` file among :func:`candidate_paths`, else None.

    A ``user_path`` the user typed must exist: a missing or empty file raises
    :class:`WeightsUnavailableError` instead of silently searching elsewhere (or
    downloading) -- the user asked for that file.
    """
    if user_path:
        given = Path(user_path).expanduser()
        if not given.is_file():
            raise WeightsUnavailableError(f"{given}: weights file not found")
        if given.stat().st_size == 0:
            raise WeightsUnavailableError(f"{given}: weights file is empty")
        return given
    for path in candidate_paths():
        if path.is_file() and path.stat().st_size > 0:
            return path
    return None


def _unavailable(reason: str) -> WeightsUnavailableError:
    where = paths.weights_dir() / CPSAM_NAME
    return WeightsUnavailableError(
        f"Cellpose-SAM weights 'cpsam' unavailable ({reason}). Download {CPSAM_URL} and save "
        f"it as {where} (or {cellpose_model_dir() / CPSAM_NAME}); the 'tiny' model works "
        "without it."
    )


def download(
    url: str,
    dest: Path,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """Download ``url`` to ``dest`` atomically with certificate checking on.

    ``progress(done_bytes, total_bytes, message)`` is called per chunk (total 0 when the
    server gives no length). ``timeout`` bounds every connect/read so a dead network never
    hangs the caller. Raises :class:`WeightsUnavailableError` on any failure.
    """
    context = ssl.create_default_context()
    request = urllib.request.Request(url, headers={"User-Agent": "multicellpose"})
    name = Path(dest).name

    def write(fh) -> None:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while True:
                if cancel is not None and cancel.is_set():
                    raise _unavailable("download cancelled")
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                fh.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total, f"downloading {name}")
            if total and done != total:
                raise _unavailable(f"download incomplete: {done} of {total} bytes")

    log.info("downloading %s to %s", url, dest)
    try:
        return atomic_write(dest, write)
    except WeightsUnavailableError:
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise _unavailable(f"download from {url} failed: {reason}") from exc


def ensure_cpsam_weights(
    user_path: str | os.PathLike | None = None,
    *,
    allow_download: bool = True,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    url: str = CPSAM_URL,
) -> Path:
    """Path of the ``cpsam`` weights, downloading them into ``paths.weights_dir()`` if needed."""
    found = find_cpsam_weights(user_path)
    if found is not None:
        return found
    if not allow_download or os.environ.get(OFFLINE_ENV, "") not in ("", "0"):
        raise _unavailable("not found on disk and downloads are off")
    return download(url, paths.weights_dir() / CPSAM_NAME, progress=progress, cancel=cancel,
                    timeout=timeout)
