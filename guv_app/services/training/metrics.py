"""Validation metrics: foreground pixel metrics during training, instance AP at the end.

Instance AP uses upstream ``cellpose.metrics.average_precision`` (AP = TP / (TP + FP + FN) at
IoU 0.5 / 0.75 / 0.9). Per-class accuracy counts, for objects matched at IoU >= 0.5, how often
the predicted class equals the labelled one (objects without a labelled class are left out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from cellpose_io.label_classes import classes_from_map
from guv_app.services.training.events import PixelMetrics

AP_THRESHOLDS = (0.5, 0.75, 0.9)


def pixel_metrics(pred_fg: np.ndarray, true_fg: np.ndarray,
                  pred_cls: np.ndarray | None = None,
                  true_cls: np.ndarray | None = None) -> PixelMetrics:
    """Foreground accuracy/precision/recall/F1/IoU from boolean maps (any shape)."""
    pred_fg = np.asarray(pred_fg, bool)
    true_fg = np.asarray(true_fg, bool)
    tp = float(np.sum(pred_fg & true_fg))
    fp = float(np.sum(pred_fg & ~true_fg))
    fn = float(np.sum(~pred_fg & true_fg))
    tn = float(np.sum(~pred_fg & ~true_fg))
    total = tp + fp + fn + tn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
    iou = tp / (tp + fp + fn) if tp + fp + fn else 1.0
    cls_acc = None
    if pred_cls is not None and true_cls is not None:
        labelled = np.asarray(true_cls) > 0
        if labelled.any():
            cls_acc = float(np.mean(np.asarray(pred_cls)[labelled] == np.asarray(true_cls)[labelled]))
    return PixelMetrics((tp + tn) / total if total else 1.0, precision, recall, f1, iou, cls_acc)


@dataclass
class ImageScore:
    image: str
    n_true: int
    n_pred: int
    ap: list[float]  # at AP_THRESHOLDS
    class_matched: int = 0
    class_correct: int = 0


@dataclass
class InstanceMetrics:
    thresholds: list[float]
    mean_ap: list[float]
    per_image: list[ImageScore] = field(default_factory=list)
    class_accuracy: float | None = None
    per_class_accuracy: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _matches(true: np.ndarray, pred: np.ndarray, thr: float = 0.5) -> list[tuple[int, int]]:
    """(true id, pred id) pairs with IoU >= thr, each object matched at most once.

    Upstream's public ``cellpose.metrics.mask_ious`` matches objects (one-to-one, as many
    IoU >= 0.5 pairs as possible); ``thr`` must be >= 0.5 for that matching to hold.
    """
    from cellpose.metrics import mask_ious

    if not true.max() or not pred.max():
        return []
    iou, pred_ids = mask_ious(true, pred)
    hit = np.flatnonzero((iou >= thr) & (pred_ids > 0))
    return [(int(t) + 1, int(pred_ids[t])) for t in hit]


def instance_metrics(
    names: Sequence[str],
    true_masks: Sequence[np.ndarray],
    pred_masks: Sequence[np.ndarray],
    true_class_maps: Sequence[np.ndarray] | None = None,
    pred_classes: Sequence[np.ndarray] | None = None,
    class_names: Sequence[str] | None = None,
) -> InstanceMetrics:
    """AP per image and overall, plus class accuracy of matched objects when given classes."""
    from cellpose.metrics import average_precision

    thr = list(AP_THRESHOLDS)
    if not true_masks:
        return InstanceMetrics(thr, [float("nan")] * len(thr))
    ap, _, _, _ = average_precision([np.asarray(m) for m in true_masks],
                                    [np.asarray(m) for m in pred_masks], threshold=thr)
    scores = []
    per_cls_hits: dict[int, list[int]] = {}
    for i, name in enumerate(names):
        tm, pm = np.asarray(true_masks[i]), np.asarray(pred_masks[i])
        score = ImageScore(str(name), int(len(np.unique(tm)) - 1), int(len(np.unique(pm)) - 1),
                           [float(v) for v in ap[i]])
        if true_class_maps is not None and pred_classes is not None:
            tcls = classes_from_map(tm, np.asarray(true_class_maps[i]))
            pcls = np.asarray(pred_classes[i])
            for t, p in _matches(tm, pm):
                if tcls[t] > 0:
                    ok = int(p < len(pcls) and pcls[p] == tcls[t])
                    score.class_matched += 1
                    score.class_correct += ok
                    per_cls_hits.setdefault(int(tcls[t]), []).append(ok)
        scores.append(score)
    matched = sum(s.class_matched for s in scores)
    result = InstanceMetrics(thr, [float(v) for v in np.nanmean(ap, axis=0)], scores)
    if matched:
        result.class_accuracy = sum(s.class_correct for s in scores) / matched
        for cid, hits in sorted(per_cls_hits.items()):
            label = class_names[cid] if class_names and cid < len(class_names) else str(cid)
            result.per_class_accuracy[label] = float(np.mean(hits))
    return result
