"""Validation metrics: foreground pixel metrics during training, instance AP at the end.

Instance AP uses upstream ``cellpose.metrics.average_precision`` (AP = TP / (TP + FP + FN) at
IoU 0.5 / 0.75 / 0.9). Per-class accuracy counts, for objects matched at IoU >= 0.5, how often
the predicted class equals the labelled one (objects without a labelled class are left out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

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


def _object_classes(masks: np.ndarray, class_map: np.ndarray) -> np.ndarray:
    """Majority class per object id from a pixel class map (-1 where unlabelled)."""
    n = int(masks.max()) + 1
    out = np.full(n, -1, dtype=np.int64)
    ids = masks.ravel().astype(np.int64)
    cls = class_map.ravel().astype(np.int64)
    sel = (ids > 0) & (cls > 0)
    if sel.any():
        n_cls = int(cls[sel].max()) + 1
        votes = np.zeros((n, n_cls), dtype=np.int64)
        np.add.at(votes, (ids[sel], cls[sel]), 1)
        has = votes.sum(1) > 0
        out[has] = votes[has].argmax(1)
    return out


def _matches(true: np.ndarray, pred: np.ndarray, thr: float = 0.5) -> list[tuple[int, int]]:
    """(true id, pred id) pairs with IoU >= thr (each object matched at most once)."""
    from cellpose.metrics import _intersection_over_union

    iou = _intersection_over_union(true, pred)[1:, 1:]
    pairs = []
    if iou.size:
        for t, p in zip(*np.nonzero(iou >= thr), strict=True):
            pairs.append((int(t) + 1, int(p) + 1))  # IoU > 0.5 pairs are unique
    return pairs


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
            tcls = _object_classes(tm, np.asarray(true_class_maps[i]))
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
