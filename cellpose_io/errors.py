"""The error types of the I/O layer: every failure names the file and the reason."""

from __future__ import annotations

import os


class CellposeIOError(Exception):
    """Base for all I/O failures; ``str()`` reads "<file>: <reason>"."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ImageReadError(CellposeIOError):
    """An image that cannot be read (truncated, empty, wrong extension, unsupported)."""


class LabelReadError(CellposeIOError):
    """A label file (``_seg.npy``, mask image, ROI, GeoJSON) that cannot be read."""
