"""Evaluate a model on a labelled folder: per-image and mean AP at IoU 0.5/0.75/0.9.

Images and labels are matched exactly as for training (``_seg.npy`` or
``<stem><mask_filter>`` files). Each labelled image is then either segmented through the
engine's ``segment`` with the model's stored channels, as a user would run it, or -- with
``predictions_dir`` -- scored from the predictions a ``predict`` run already wrote (found
through its ``predictions_index.csv``), so a cluster run is scored without segmenting
again. Every image goes through the one batch runner with :func:`evaluate_pair` as the work
function (progress, cancel and an optional executor as for predict and measure).
"""

from __future__ import annotations

import csv
import io
import logging
import threading
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from guv_app.services.batch import ItemFailed, ItemSkipped, Plane, run_batch
from guv_app.services.datasets.discovery import (
    DEFAULT_MASK_FILTER,
    LabelledPair,
    Skipped,
    find_labelled_images,
)
from guv_app.services.datasets.labels import item_fault, read_labels, read_plane
from guv_app.services.progress import CancelCheck, Progress
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


@dataclass
class EvaluateTask:
    """One labelled image to score: segment it with ``model`` (``params`` an engine
    ``SegmentParams``), or read its ``prediction`` file when one is given."""

    pair: LabelledPair
    model: str
    params: Any
    prediction: str | None = None


@dataclass
class PairScore:
    """Arrays :func:`instance_metrics` needs for one image (true and predicted)."""

    name: str
    true_masks: np.ndarray
    pred_masks: np.ndarray
    true_class_map: np.ndarray
    pred_classes: np.ndarray


def evaluate_pair(task: EvaluateTask) -> PairScore:
    """Read one labelled image, segment it (or load its prediction) and return the arrays
    to score; the work function of every evaluate run. ItemSkipped when the pair cannot be
    used (unreadable, shapes differ), with the reason."""
    from guv_app.services.datasets.classmap import build_class_map, merge_class_names
    from guv_app.services.engine.loading import load_model

    pair = task.pair
    try:
        plane = read_plane(pair.image, t=pair.t, z=pair.z, series=pair.series)
        raw = read_labels(pair)
    except Exception as exc:  # noqa: BLE001 - one file's fault skips that file only
        raise ItemSkipped(item_fault(exc)) from None
    if raw.masks.shape != plane.shape[-2:]:
        raise ItemSkipped("shape mismatch between image and labels")
    if task.prediction is not None:
        pred_masks, pred_classes, class_names = _read_prediction(task.prediction)
    else:
        loaded = load_model(task.model, task.params.device, dtype=task.params.dtype)
        from guv_app.services.engine.inference import segment

        try:
            result = segment(plane, loaded, task.params)
        except ValueError as exc:
            raise ItemSkipped(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - e.g. out of memory on one huge image
            from guv_app.services.engine.errors import SegmentationCancelled

            if isinstance(exc, SegmentationCancelled):
                raise
            raise ItemSkipped(item_fault(exc)) from None
        pred_masks, pred_classes = result.masks, result.classes
        class_names = list(loaded.meta.class_names)
    if pred_masks.shape != raw.masks.shape:
        raise ItemFailed("prediction and labels differ in shape")
    _, (remap,) = merge_class_names([raw.class_names], base=class_names)
    remap = np.where(remap < len(class_names), remap, 0)
    name = pair.image.name
    if pair.series or pair.t or pair.z:  # a labelled plane of a stack or a later series
        name += f" s{pair.series} t{pair.t} z{pair.z}"
    return PairScore(name, raw.masks, pred_masks,
                     build_class_map(raw.masks, raw.classes, remap), pred_classes)


def _read_prediction(path: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    from cellpose_io import CellposeIOError, load_seg

    try:
        seg = load_seg(path)
    except CellposeIOError as exc:
        raise ItemFailed(str(exc)) from None
    return seg.masks, np.asarray(seg.classes), list(seg.class_names or ["background"])


def evaluate_folder(
    model: str | None,
    folder: str | Path,
    *,
    img_filter: str = "",
    mask_filter: str = DEFAULT_MASK_FILTER,
    mask_dir: str | Path | None = None,
    subfolders: bool = False,
    params=None,
    progress: Progress | None = None,
    cancel: threading.Event | CancelCheck | None = None,
    predictions_dir: str | Path | None = None,
    executor: Executor | None = None,
) -> EvaluationReport:
    """Score ``model`` on every labelled image of ``folder`` (segmenting each), or, with
    ``predictions_dir``, score the predictions a ``predict`` run indexed there (``model``
    may then be None: the class names come from each prediction file).

    Raises ``EngineError`` for a model that cannot be loaded, FileNotFoundError/ValueError
    for a folder without labelled images (from the discovery).
    """
    from guv_app.services.batch import predictions_by_plane
    from guv_app.services.engine.inference import SegmentParams
    from guv_app.services.engine.loading import load_model

    params = params or SegmentParams()
    class_names: list[str] = []
    if predictions_dir is None:
        if not model:
            raise ValueError("give a model to segment with, or a predictions folder")
        loaded = load_model(model, params.device, dtype=params.dtype)  # fail early
        class_names = list(loaded.meta.class_names)
    report = find_labelled_images(folder, img_filter=img_filter, mask_filter=mask_filter,
                                  mask_dir=mask_dir, subfolders=subfolders)
    skipped = list(report.skipped)
    indexed = predictions_by_plane(predictions_dir) if predictions_dir is not None else {}
    tasks = []
    for pair in report.pairs:
        prediction = None
        if predictions_dir is not None:
            found = indexed.get(Plane(str(pair.image), pair.series, pair.t, pair.z).key)
            if found is None:
                skipped.append(Skipped(pair.image, f"no prediction in {predictions_dir}"))
                continue
            prediction = str(found)
        tasks.append(EvaluateTask(pair, model or "", params, prediction))
    outcome = run_batch(tasks, evaluate_pair, name=lambda t: t.pair.image.name,
                        executor=executor, progress=progress, cancel=cancel)
    scores: list[PairScore] = []
    for item in outcome.outcomes:
        if item.status == "done":
            scores.append(item.result)
        elif item.status in ("skipped", "failed"):
            skipped.append(Skipped(item.task.pair.image, item.reason))
    if predictions_dir is not None and tasks:
        from cellpose_io import load_seg

        class_names = list(load_seg(tasks[0].prediction).class_names or ["background"])
    metrics = instance_metrics([s.name for s in scores], [s.true_masks for s in scores],
                               [s.pred_masks for s in scores],
                               [s.true_class_map for s in scores],
                               [s.pred_classes for s in scores], class_names)
    return EvaluationReport(str(model or predictions_dir), str(folder), metrics, skipped)
