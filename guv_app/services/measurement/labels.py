"""Which images of a folder to measure and which label file belongs to each.

The file is chosen by the app's one rule, :func:`cellpose_io.label_sources.choose_labels`:
``auto`` prefers the prediction (``<stem>_pred_seg.npy``, what the Analyzer produced,
possibly corrected) and falls back to the training labels (``_seg.npy`` or a Cellpose-style
``<stem>_masks.tif``); ``pred`` and ``seg`` use only that kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cellpose_io.label_sources import PRED_SUFFIX, SEG_SUFFIX

__all__ = ["LABEL_CHOICES", "PRED_SUFFIX", "SEG_SUFFIX", "ImageItem", "find_items",
           "label_path"]

LABEL_CHOICES = ("auto", "pred", "seg")
_USE = {"auto": "auto", "pred": "prediction", "seg": "training"}


@dataclass(frozen=True)
class ImageItem:
    """One image to measure and its label file (None when it has none of the wanted kind)."""

    image: Path
    labels: Path | None
    problem: str = ""  # why it cannot be measured although it may have labels


def label_path(image: Path, labels: str = "auto") -> Path | None:
    """The label file to use for ``image`` under the ``labels`` rule, if it exists."""
    from cellpose_io.label_sources import choose_labels

    if labels not in LABEL_CHOICES:
        raise ValueError(f"labels must be one of {LABEL_CHOICES}, got {labels!r}")
    return choose_labels(image, use=_USE[labels]).path


def find_items(folder: str | Path, labels: str = "auto") -> list[ImageItem]:
    """Every image file directly in ``folder`` (sorted by name) with its label file.

    Label files themselves (``*_seg.npy``, ``*_masks.tif``) and hidden files are not images.
    """
    from cellpose_io import list_image_files

    paths = list_image_files(folder)
    clashes = shared_label_names(paths)
    return [ImageItem(path, label_path(path, labels), clashes.get(path, "")) for path in paths]


def shared_label_names(paths: list[Path]) -> dict[Path, str]:
    """Images among ``paths`` that differ only in extension (``cells.tif``, ``cells.png``)
    and so would share one label and prediction file, each with a one-line reason."""
    import os
    from collections import defaultdict

    groups: dict[tuple[Path, str], list[Path]] = defaultdict(list)
    for path in paths:
        groups[(path.parent, os.path.splitext(path.name)[0])].append(path)
    out = {}
    for (_folder, stem), group in groups.items():
        if len(group) > 1:
            names = ", ".join(p.name for p in group)
            for path in group:
                out[path] = (f"{names} would share the label files {stem}{SEG_SUFFIX} / "
                             f"{stem}{PRED_SUFFIX}; rename one so each image has its own")
    return out
