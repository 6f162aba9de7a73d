"""Read one labelled pair into arrays: image plane, instance masks, per-object classes.

Read-only on the user's files. Problems become :class:`LabelProblem` with a one-line reason
so the dataset builder can report the file as skipped and carry on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cellpose_io.label_sources import LabelSource, file_sha256, read_label_source
from guv_app.services.datasets.discovery import LabelledPair

__all__ = ["LabelProblem", "RawLabels", "file_sha256", "read_labels", "read_plane"]


class LabelProblem(Exception):
    """A labelled pair that cannot be used; ``str()`` is the reason shown to the user."""


@dataclass
class RawLabels:
    """Labels of one image as stored: masks, classes by object id, the file's class list."""

    masks: np.ndarray
    classes: np.ndarray | None
    class_names: list[str]
    class_colors: list[tuple[int, int, int]]


def read_plane(path: Path, t: int = 0, z: int = 0, series: int = 0) -> np.ndarray:
    """(C, Y, X) plane of an image file (series ``series``) through cellpose_io."""
    from cellpose_io import CellposeIOError, read_image

    try:
        return np.asarray(read_image(path, series=series).plane(t=t, z=z))
    except CellposeIOError as exc:
        raise LabelProblem(f"unreadable image ({exc.reason})") from exc
    except (OSError, ValueError, IndexError) as exc:
        raise LabelProblem(f"unreadable image ({exc})") from exc


def read_labels(pair: LabelledPair) -> RawLabels:
    """Masks and classes of a pair, from ``_seg.npy`` or a mask image."""
    from cellpose_io import CellposeIOError

    try:
        seg = read_label_source(LabelSource(pair.labels, pair.kind, pair.series))
    except CellposeIOError as exc:
        what = "labels" if pair.kind == "seg" else "mask"
        raise LabelProblem(f"unreadable {what} {pair.labels.name} ({exc.reason})") from exc
    masks = np.asarray(seg.masks)
    if pair.kind != "seg":
        return RawLabels(masks.astype(np.uint32), None, ["background"], [])
    classes = None if seg.classes is None else np.asarray(seg.classes, dtype=np.int64)
    names = list(seg.class_names or ["background"])
    colors = [tuple(int(v) for v in c) for c in (seg.class_colors or [])]
    return RawLabels(masks, classes, names, colors)
