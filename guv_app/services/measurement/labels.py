"""Which images of a folder to measure and which label file belongs to each.

Predictions are saved beside an image as ``<stem>_pred_seg.npy`` and training labels as
``<stem>_seg.npy``; ``auto`` prefers the prediction (what the Analyzer produced, possibly
corrected) and falls back to the training labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LABEL_CHOICES = ("auto", "pred", "seg")
PRED_SUFFIX = "_pred_seg.npy"
SEG_SUFFIX = "_seg.npy"


@dataclass(frozen=True)
class ImageItem:
    """One image to measure and its label file (None when it has none of the wanted kind)."""

    image: Path
    labels: Path | None
    problem: str = ""  # why it cannot be measured although it may have labels


def label_path(image: Path, labels: str = "auto") -> Path | None:
    """The label file to use for ``image`` under the ``labels`` rule, if it exists."""
    from cellpose_io import seg_path_for

    if labels not in LABEL_CHOICES:
        raise ValueError(f"labels must be one of {LABEL_CHOICES}, got {labels!r}")
    suffixes = {"auto": (PRED_SUFFIX, SEG_SUFFIX), "pred": (PRED_SUFFIX,), "seg": (SEG_SUFFIX,)}
    for suffix in suffixes[labels]:
        candidate = Path(seg_path_for(image, suffix=suffix))
        if candidate.is_file():
            return candidate
    return None


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
