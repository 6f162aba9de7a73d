"""What a folder offers for training, before any flows are computed: the dialog's summary.

Reads file names and label files only (``_seg.npy`` or mask images, through the datasets
service), so it is quick enough to run when the dialog opens. The real training set is
built later on the worker thread by ``run_training``.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from guv_app.services.datasets.discovery import find_labelled_images
from guv_app.services.datasets.labels import LabelProblem, read_labels

log = logging.getLogger(__name__)

UNASSIGNED = "unassigned"


@dataclass
class DatasetSummary:
    """Labelled images of a folder, objects per class name, skipped files and why."""

    folder: Path
    n_images: int = 0
    labelled: list[Path] = field(default_factory=list)
    objects_per_class: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)
    error: str = ""

    @property
    def n_labelled(self) -> int:
        return len(self.labelled)

    @property
    def n_objects(self) -> int:
        return sum(self.objects_per_class.values())


def summarize_folder(folder: str | Path, *, min_objects: int = 1) -> DatasetSummary:
    """Count labelled images and objects per class in ``folder`` (never raises for data)."""
    folder = Path(folder)
    summary = DatasetSummary(folder)
    try:
        report = find_labelled_images(folder)
    except (OSError, ValueError) as exc:
        summary.error = str(exc)
        return summary
    summary.n_images = len(report.pairs) + len(report.skipped)
    summary.skipped = [(s.path.name, s.reason) for s in report.skipped]
    counts: Counter[str] = Counter()
    for pair in report.pairs:
        try:
            raw = read_labels(pair)
        except LabelProblem as exc:
            summary.skipped.append((pair.image.name, str(exc)))
            continue
        per_image = _count(raw.masks, raw.classes, raw.class_names)
        n = sum(per_image.values())
        if n < min_objects:
            summary.skipped.append((pair.image.name, f"too few objects ({n} < {min_objects})"))
            continue
        counts.update(per_image)
        summary.labelled.append(pair.image)
    summary.objects_per_class = dict(counts)
    return summary


def _count(masks: np.ndarray, classes: np.ndarray | None, names: list[str]) -> Counter[str]:
    areas = np.bincount(np.asarray(masks).ravel().astype(np.int64))
    ids = np.flatnonzero(areas[1:]) + 1
    out: Counter[str] = Counter()
    if classes is None or len(names) <= 1:
        out[UNASSIGNED] += len(ids)
        return out
    cl = np.zeros(len(areas), np.int64)
    known = np.asarray(classes, np.int64)[: len(areas)]
    cl[: len(known)] = known
    for k, n in zip(*np.unique(cl[ids], return_counts=True), strict=True):
        name = names[k] if 0 < k < len(names) else UNASSIGNED
        out[name] += int(n)
    return out


def per_class_rows(summary: DatasetSummary) -> list[tuple[str, int]]:
    """Class name and count, classes first in name order, unassigned last."""
    rows = sorted((n, c) for n, c in summary.objects_per_class.items() if n != UNASSIGNED)
    if summary.objects_per_class.get(UNASSIGNED):
        rows.append((UNASSIGNED, summary.objects_per_class[UNASSIGNED]))
    return rows
