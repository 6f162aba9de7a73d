"""Size limits checked from what a file declares, before any pixel is decoded.

A 59 KB TIFF can declare 60000 x 60000 pixels; decoding it first and refusing it afterwards
costs 3.6 GB. Every reader builds an :class:`~cellpose_io.image.Image` from the declared
shape before reading pixels, and label images are checked the same way, so this one limit
guards them all. Like Pillow's ``Image.MAX_IMAGE_PIXELS`` the limit is a module setting,
changeable at run time (:func:`set_max_image_pixels`) or with the environment variable
``MULTICELLPOSE_MAX_IMAGE_PIXELS`` (0 or "none" turns it off).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cellpose_io.errors import CellposeIOError, ImageReadError

log = logging.getLogger(__name__)

ENV_MAX_IMAGE_PIXELS = "MULTICELLPOSE_MAX_IMAGE_PIXELS"
#: Default: 2**30 pixels per plane (32768 x 32768), 2 GiB at 16 bits -- far above any
#: microscope camera or stitched slide we train on, far below what exhausts a workstation.
DEFAULT_MAX_IMAGE_PIXELS = 2**30


def _from_env() -> int | None:
    text = os.environ.get(ENV_MAX_IMAGE_PIXELS, "").strip().lower()
    if not text:
        return DEFAULT_MAX_IMAGE_PIXELS
    if text in ("0", "none", "off"):
        return None
    try:
        return int(float(text))
    except ValueError:
        log.warning("%s=%r is not a number; using %d", ENV_MAX_IMAGE_PIXELS, text,
                    DEFAULT_MAX_IMAGE_PIXELS)
        return DEFAULT_MAX_IMAGE_PIXELS


#: Largest Y x X of one plane any reader accepts; None = no limit.
MAX_IMAGE_PIXELS: int | None = _from_env()


def set_max_image_pixels(limit: int | None) -> int | None:
    """Change the plane-size limit (None: no limit); returns the previous value."""
    global MAX_IMAGE_PIXELS
    previous, MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS, (None if limit is None else int(limit))
    return previous


def check_plane_size(
    path: str | os.PathLike, height: int, width: int,
    error: type[CellposeIOError] = ImageReadError,
) -> None:
    """Raise ``error(path, ...)`` when a declared ``height`` x ``width`` plane exceeds the
    limit (or is negative). Call it with sizes from a file's header, before decoding."""
    height, width = int(height), int(width)
    if height < 0 or width < 0:
        raise error(path, f"declares a negative size {height}x{width}")
    limit = MAX_IMAGE_PIXELS
    if limit is not None and height * width > limit:
        raise error(
            path,
            f"declares {width}x{height} pixels ({height * width:,} per plane), above the "
            f"limit of {limit:,} (set {ENV_MAX_IMAGE_PIXELS} to change it); not decoded",
        )


_PIL_LOCK = threading.Lock()


def open_pillow(path: str | os.PathLike, error: type[CellposeIOError] = ImageReadError) -> Any:
    """``PIL.Image.open(path)`` under this module's limit instead of Pillow's own.

    Pillow refuses images above 2 x its ``MAX_IMAGE_PIXELS`` (179 M) with its own message
    while our limit may differ; the header is read with Pillow's check off, then ours is
    applied -- before any pixel is decoded. The caller closes the returned image.
    """
    from PIL import Image as PILImage

    with _PIL_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
        previous, PILImage.MAX_IMAGE_PIXELS = PILImage.MAX_IMAGE_PIXELS, None
        try:
            img = PILImage.open(Path(path))
        finally:
            PILImage.MAX_IMAGE_PIXELS = previous
    try:
        check_plane_size(path, img.height, img.width, error)
    except CellposeIOError:
        img.close()
        raise
    return img


@contextlib.contextmanager
def pillow_image(path: str | os.PathLike,
                 error: type[CellposeIOError] = ImageReadError) -> Iterator[Any]:
    """Context-managed :func:`open_pillow`."""
    img = open_pillow(path, error)
    try:
        yield img
    finally:
        img.close()
