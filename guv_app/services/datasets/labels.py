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
    note: str = ""  # e.g. "binary mask: labelled 37 separate objects" (shown by the dry run)


def read_plane(path: Path, t: int = 0, z: int = 0, series: int = 0) -> np.ndarray:
    """(C, Y, X) plane of an image file (series ``series``) through cellpose_io."""
    from cellpose_io import CellposeIOError, read_image

    try:
        return np.asarray(read_image(path, series=series).plane(t=t, z=z))
    except CellposeIOError as exc:
        raise LabelProblem(f"unreadable image ({exc.reason})") from exc
    except (OSError, ValueError, IndexError) as exc:
        raise LabelProblem(f"unreadable image ({exc})") from exc


def read_plane_shape(path: Path, series: int = 0) -> tuple[int, int, int]:
    """(C, Y, X) of an image's planes from its header, without decoding pixels."""
    from cellpose_io import CellposeIOError, read_image

    try:
        image = read_image(path, series=series)
    except CellposeIOError as exc:
        raise LabelProblem(f"unreadable image ({exc.reason})") from exc
    try:
        return image.plane_shape
    finally:
        image.close()


def item_fault(exc: BaseException) -> str:
    """One line for why one training item was left out, for any exception it raised.

    A :class:`LabelProblem` is already worded for the user; anything else (a reader bug,
    ``RecursionError`` from a deeply nested file, ``MemoryError``) is named by its type so
    one bad file is reported and skipped instead of ending the whole run.
    """
    if isinstance(exc, LabelProblem):
        return str(exc)
    text = " ".join(str(exc).split())
    return f"unreadable ({type(exc).__name__}{': ' + text if text else ''})"


def read_labels(pair: LabelledPair, label_channel: int | None = None) -> RawLabels:
    """Masks and classes of a pair, from ``_seg.npy`` or a mask image.

    ``label_channel``: the label set of that channel (``channel_segmentations``) instead of
    the shared set; :class:`LabelProblem` when the file has none for it.

    A binary mask (one value over many blobs) or a class-id image (few values, each over
    many blobs) is turned into an instance mask by connected components, with ``note``
    saying so; a class-id image's values become classes ``class <value>``.
    """
    return as_instances(_read_labels(pair, label_channel), pair.labels.name)


def as_instances(raw: RawLabels, name: str) -> RawLabels:
    """Relabel a binary or class-id mask as objects (see :func:`read_labels`)."""
    from cellpose_io import check_label_image, label_components

    check = check_label_image(raw.masks)
    if check.ok:
        return raw
    masks, values = label_components(raw.masks)
    n = int(masks.max())
    if check.kind == "binary":
        return RawLabels(masks, None, ["background"], [], f"{check.describe(name)}; "
                         f"labelled as {n} objects")
    distinct = sorted({int(v) for v in values[1:]})
    names = ["background"] + [f"class {v}" for v in distinct]
    index = {v: i + 1 for i, v in enumerate(distinct)}
    classes = np.asarray([0] + [index[int(v)] for v in values[1:]], np.int64)
    return RawLabels(masks, classes, names, [], f"{check.describe(name)}; labelled as {n} "
                     f"objects in {len(distinct)} classes")


def _read_labels(pair: LabelledPair, label_channel: int | None = None) -> RawLabels:
    from cellpose_io import CellposeIOError

    try:
        seg = read_label_source(LabelSource(pair.labels, pair.kind, pair.series))
    except CellposeIOError as exc:
        what = "labels" if pair.kind == "seg" else "mask"
        raise LabelProblem(f"unreadable {what} {pair.labels.name} ({exc.reason})") from exc
    if label_channel is not None:
        if pair.kind != "seg" or label_channel not in seg.channel_sets:
            raise LabelProblem(f"no labels for channel {label_channel} in {pair.labels.name}")
        seg = seg.channel_sets[label_channel]
        return RawLabels(np.asarray(seg.masks), np.asarray(seg.classes, np.int64),
                         list(seg.class_names), [tuple(int(v) for v in c)
                                                 for c in seg.class_colors])
    masks = np.asarray(seg.masks)
    if pair.kind != "seg":
        return RawLabels(masks.astype(np.uint32), None, ["background"], [])
    classes = None if seg.classes is None else np.asarray(seg.classes, dtype=np.int64)
    names = list(seg.class_names or ["background"])
    colors = [tuple(int(v) for v in c) for c in (seg.class_colors or [])]
    return RawLabels(masks, classes, names, colors)
