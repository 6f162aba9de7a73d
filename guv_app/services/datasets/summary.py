"""What a folder offers for training, before any flows are computed (Ctrl+T, --dry-run).

Reads file names, label files and image headers (never pixels), so it is quick enough
to run when the training dialog opens or as ``multicellpose train --dry-run``. Pairing,
region handling and the ``min_objects`` rule are the ones :func:`build_training_set` uses,
so the counts shown are what training will see. Qt-free, plain data out.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cellpose_io.label_classes import object_ids
from guv_app.services.datasets import region_sources
from guv_app.services.datasets.builder import DatasetOptions, load_pair
from guv_app.services.datasets.discovery import Skipped, find_labelled_images
from guv_app.services.datasets.labels import LabelProblem

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
    n_region_objects: int = 0  # objects of the region class (crop areas, not cells)
    region_files: list[Path] = field(default_factory=list)  # <stem>_regions.* found
    n_file_regions: int = 0  # regions in those files (drawn in the Trainer, QuPath, Fiji)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (file name, what was fixed)

    @property
    def n_labelled(self) -> int:
        return len(self.labelled)

    @property
    def n_objects(self) -> int:
        return sum(self.objects_per_class.values())


def summarize_folder(
    folder: str | Path,
    options: DatasetOptions | None = None,
    *,
    min_objects: int | None = None,
) -> DatasetSummary:
    """Count labelled images and objects per class in ``folder`` (never raises for data).

    ``options`` gives the pairing rules (filters, mask folder, subfolders), the region
    class and ``min_objects`` (overridden by the keyword). Problems with the folder itself
    end up in ``error``; problems with single files in ``skipped``.
    """
    folder = Path(folder)
    options = options or DatasetOptions()
    minimum = options.min_objects if min_objects is None else min_objects
    summary = DatasetSummary(folder)
    try:
        report = find_labelled_images(
            folder, img_filter=options.img_filter, mask_filter=options.mask_filter,
            mask_dir=options.mask_dir, subfolders=options.subfolders)
    except (OSError, ValueError) as exc:
        summary.error = str(exc)
        return summary
    summary.n_images = len(report.pairs) + len(report.skipped)
    summary.skipped = [(s.path.name, s.reason) for s in report.skipped]
    counts: Counter[str] = Counter()
    for pair in report.pairs:
        # The same reading and checks training does (image header included), so the counts
        # are what training will use; any fault of one pair skips that pair only.
        item = load_pair(pair, options, pixels=False)
        if isinstance(item, Skipped):
            summary.skipped.append((pair.image.name, item.reason))
            continue
        raw = item.raw
        if raw.note:
            summary.notes.append((pair.labels.name, raw.note))
        n_regions = len(region_sources.take_region_objects(raw, options.region_class))
        per_image = _count(raw.masks, raw.classes, raw.class_names)
        n = sum(per_image.values())
        if n < minimum:
            summary.skipped.append((pair.image.name, f"too few objects ({n} < {minimum})"))
            continue
        counts.update(per_image)
        summary.labelled.append(pair.image)
        summary.n_region_objects += n_regions
        if options.region_source != "none":
            for path in region_sources.region_files_for(pair.image):
                summary.region_files.append(path)
                try:
                    summary.n_file_regions += len(
                        region_sources.read_region_boxes(path, raw.masks.shape))
                except LabelProblem as exc:
                    summary.notes.append((path.name, str(exc)))
    summary.objects_per_class = dict(counts)
    return summary


def _count(masks: np.ndarray, classes: np.ndarray | None, names: list[str]) -> Counter[str]:
    ids, _areas = object_ids(masks)  # sparse ids up to 2**32-1: nothing allocated per id
    out: Counter[str] = Counter()
    if classes is None or len(names) <= 1:
        out[UNASSIGNED] += len(ids)
        return out
    known = np.asarray(classes, np.int64).ravel()
    cl = np.zeros(len(ids), np.int64)
    inside = ids < len(known)
    cl[inside] = known[ids[inside]]
    for k, n in zip(*np.unique(cl, return_counts=True), strict=True):
        name = names[k] if 0 < k < len(names) else UNASSIGNED
        out[name] += int(n)
    return out


def per_class_rows(summary: DatasetSummary) -> list[tuple[str, int]]:
    """Class name and count, classes first in name order, unassigned last."""
    rows = sorted((n, c) for n, c in summary.objects_per_class.items() if n != UNASSIGNED)
    if summary.objects_per_class.get(UNASSIGNED):
        rows.append((UNASSIGNED, summary.objects_per_class[UNASSIGNED]))
    return rows


def summary_lines(summary: DatasetSummary) -> list[str]:
    """The summary as plain text lines (CLI ``--dry-run``, logs)."""
    if summary.error:
        return [f"{summary.folder}: {summary.error}"]
    lines = [f"{summary.folder}: {summary.n_labelled} of {summary.n_images} image(s) "
             f"labelled, {summary.n_objects} object(s)"]
    lines += [f"  {name}: {count}" for name, count in per_class_rows(summary)]
    if summary.n_region_objects or summary.region_files:
        lines.append(f"  training regions: {summary.n_file_regions} region(s) in "
                     f"{len(summary.region_files)} region file(s), "
                     f"{summary.n_region_objects} region object(s)")
    lines += [f"  warning {name}: {note}" for name, note in summary.notes]
    lines += [f"  skipped {name}: {reason}" for name, reason in summary.skipped]
    return lines
