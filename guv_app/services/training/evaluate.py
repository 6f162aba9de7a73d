"""Evaluate a model on a labelled folder: per-image and mean AP at IoU 0.5/0.75/0.9.

Images and labels are matched exactly as for training (``_seg.npy`` or
``<stem><mask_filter>`` files), then each image is segmented through the engine's
``segment`` with the model's stored channels, as a user would run it.
"""

from __future__ import annotations

import csv
import io
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from guv_app.services.datasets.discovery import (
    DEFAULT_MASK_FILTER,
    Skipped,
    find_labelled_images,
)
from guv_app.services.datasets.labels import item_fault, read_labels, read_plane
from guv_app.services.progress import Progress
from guv_app.services.training.metrics import InstanceMetrics, instance_metrics

log = logging.getLogger(__name__)


@dataclass
class EvaluationReport:
    model: str
    folder: str
    metrics: InstanceMetrics
    skipped: list[Skipped] = field(default_factory=list)

    def csv_text(self) -> str:
        from cellpose_io.csv_cells import spreadsheet_safe

        buf = io.StringIO()
        thr = self.metrics.thresholds
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["image", "n_true", "n_pred", *[f"ap@{t:g}" for t in thr],
                         "class_matched", "class_correct"])
        for s in self.metrics.per_image:
            writer.writerow([spreadsheet_safe(s.image), s.n_true, s.n_pred, *[f"{v:.4f}" for v in s.ap],
                             s.class_matched, s.class_correct])
        writer.writerow(["mean", "", "", *[f"{v:.4f}" for v in self.metrics.mean_ap], "", ""])
        return buf.getvalue()


def evaluate_folder(
    model: str,
    folder: str | Path,
    *,
    img_filter: str = "",
    mask_filter: str = DEFAULT_MASK_FILTER,
    mask_dir: str | Path | None = None,
    subfolders: bool = False,
    params=None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> EvaluationReport:
    """Segment every labelled image of ``folder`` with ``model`` and score it."""
    import numpy as np

    from guv_app.services.datasets.classmap import build_class_map, merge_class_names
    from guv_app.services.engine.inference import SegmentParams, segment
    from guv_app.services.engine.loading import load_model

    params = params or SegmentParams()
    loaded = load_model(model, params.device)
    report = find_labelled_images(folder, img_filter=img_filter, mask_filter=mask_filter,
                                  mask_dir=mask_dir, subfolders=subfolders)
    skipped = list(report.skipped)
    names, true_masks, pred_masks, true_cls, pred_cls = [], [], [], [], []
    for i, pair in enumerate(report.pairs):
        if cancel is not None and cancel.is_set():
            break
        if progress:
            progress(i, len(report.pairs), pair.image.name)
        try:
            plane = read_plane(pair.image, t=pair.t, z=pair.z, series=pair.series)
            raw = read_labels(pair)
        except Exception as exc:  # noqa: BLE001 - one file's fault skips that file only
            skipped.append(Skipped(pair.image, item_fault(exc)))
            continue
        if raw.masks.shape != plane.shape[-2:]:
            skipped.append(Skipped(pair.image, "shape mismatch between image and labels"))
            continue
        try:
            result = segment(plane, loaded, params)
        except ValueError as exc:
            skipped.append(Skipped(pair.image, str(exc)))
            continue
        _, (remap,) = merge_class_names([raw.class_names], base=loaded.meta.class_names)
        remap = np.where(remap < len(loaded.meta.class_names), remap, 0)
        names.append(pair.image.name)
        true_masks.append(raw.masks)
        pred_masks.append(result.masks)
        true_cls.append(build_class_map(raw.masks, raw.classes, remap))
        pred_cls.append(result.classes)
    if progress:
        progress(len(report.pairs), len(report.pairs), "done")
    metrics = instance_metrics(names, true_masks, pred_masks, true_cls, pred_cls,
                               loaded.meta.class_names)
    return EvaluationReport(str(model), str(folder), metrics, skipped)
