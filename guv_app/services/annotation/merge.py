"""Merge a model's prediction into labels a person drew, which stay frozen.

Three modes, the choice a user gets when a model runs on an image that already has labels:

``replace``
    the prediction replaces every object (what "Accept prediction" always did).
``add``
    only predicted objects that touch no labelled pixel are added, whole; a predicted
    object overlapping a hand-drawn one (by one pixel or more) is dropped.
``fill``
    predicted objects are clipped to the unlabelled pixels. A clipped object keeps only
    its largest 4-connected piece, and only when that piece has at least ``min_size`` px
    (Cellpose's ``min_size``, 15 px² by default) and at least ``min_fraction`` (default
    one half) of the predicted object's area: a crescent left around a hand-drawn cell is
    the same cell drawn twice, not a new one, and fragments split off by the clip would
    be objects nobody drew or predicted. Objects the clip does not touch are added whole.

In ``add`` and ``fill`` every labelled pixel keeps its id and class; added objects get new
ids after ``first_id`` (in the order of their predicted ids) and the class the prediction
gave them (0, unassigned, when the prediction has no classes -- as for ``replace``).

:func:`merge_prediction` is pure numpy (vectorised: a few passes over the image whatever
the object count; the clip's pieces are found with one sparse connected-components call);
:func:`merge_into_document` applies it to a label document as ONE undo step through the
document's public primitives, like :mod:`guv_app.services.annotation.label_import`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from guv_app.services.annotation.class_table import ClassTable
from guv_app.services.annotation.edits import EditableDocument, replace_labels, set_selection

log = logging.getLogger(__name__)

MERGE_MODES = ("replace", "add", "fill")
MIN_SIZE = 15  # px²: Cellpose's default ``min_size`` (objects smaller are removed)
MIN_FRACTION = 0.5  # a clipped object must keep at least this share of its predicted area


@dataclass
class MergeResult:
    """Labels after a merge and what happened to the predicted objects.

    ``masks``: (H, W) uint32 label image after the merge. ``classes``: int32 class per id
    of ``masks`` (``classes[0] == 0``). ``added``: int64 ids (in ``masks``) of the objects
    taken from the prediction, ascending; ``source``: the predicted id of each (ids of
    2**24 and more are first renumbered 1..N in order, ``renumber_sparse_ids``). Counts are
    of predicted objects: ``n_predicted`` in all, ``n_added``, ``n_clipped`` (added but cut
    to the free pixels, ``fill``), ``n_dropped`` (not added: overlapping in ``add``, fully
    covered or left too small in ``fill``).
    """

    mode: str
    masks: np.ndarray
    classes: np.ndarray
    added: np.ndarray
    source: np.ndarray
    n_predicted: int
    n_clipped: int = 0
    n_dropped: int = 0

    @property
    def n_added(self) -> int:
        return int(len(self.added))

    def summary(self) -> str:
        """One line for a status bar or a CLI summary."""
        if self.mode == "replace":
            return f"labels replaced by {self.n_added} predicted object(s)"
        text = f"added {self.n_added} of {self.n_predicted} predicted object(s)"
        if self.n_clipped:
            text += f" ({self.n_clipped} clipped to unlabelled pixels)"
        if self.n_dropped:
            why = "overlap labelled objects" if self.mode == "add" else \
                "covered or left too small"
            text += f"; {self.n_dropped} dropped ({why})"
        return text + "; labelled objects unchanged"


def check_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`MERGE_MODES`; ValueError naming them otherwise."""
    if mode not in MERGE_MODES:
        raise ValueError(f"merge mode must be one of {', '.join(MERGE_MODES)}, got {mode!r}")
    return mode


def merge_prediction(
    labels: np.ndarray,
    prediction: np.ndarray,
    mode: str,
    *,
    label_classes: np.ndarray | None = None,
    pred_classes: np.ndarray | None = None,
    first_id: int | None = None,
    min_size: int = MIN_SIZE,
    min_fraction: float = MIN_FRACTION,
) -> MergeResult:
    """Merge ``prediction`` into ``labels`` (both (H, W) non-negative integer label images).

    ``label_classes`` / ``pred_classes``: class per id of each (index 0 ignored; None: all
    0). ``first_id``: the id of the first added object (default ``labels.max() + 1``; a
    document passes its next free id so ids are never reused). ``min_size`` (px) and
    ``min_fraction`` apply to objects clipped in ``fill`` mode (see the module docstring).
    Raises ValueError for an unknown mode or images of different shapes.
    """
    from cellpose_io.label_classes import renumber_sparse_ids

    check_mode(mode)
    labels, prediction = np.asarray(labels), np.asarray(prediction)
    if labels.shape != prediction.shape or labels.ndim != 2:
        raise ValueError(f"prediction of shape {prediction.shape} does not fit labels of "
                         f"shape {labels.shape}")
    # tables here are indexed by id: huge sparse ids (a file from elsewhere) become 1..N
    prediction, pred_classes, _ = renumber_sparse_ids(prediction, pred_classes)
    pred = prediction.astype(np.uint32, copy=False)
    n = int(pred.max()) + 1 if pred.size else 1
    pred_area = np.bincount(pred.ravel(), minlength=n)
    pred_area[0] = 0
    present = pred_area > 0
    n_predicted = int(np.count_nonzero(present))
    pcls = _class_table(pred_classes, n)
    if mode == "replace":
        ids = np.flatnonzero(present).astype(np.int64)
        return MergeResult(mode, pred.copy(), pcls, ids, ids.copy(), n_predicted)

    occupied = labels > 0
    covered = np.bincount(pred[occupied], minlength=n)  # predicted px on labelled px
    covered[0] = 0
    if mode == "add":
        keep_obj = present & (covered == 0)
        place = keep_obj[pred]
        n_clipped = 0
    else:
        free = (pred > 0) & ~occupied
        whole = present & (covered == 0)
        clipped = present & (covered > 0) & (covered < pred_area)
        place = free & whole[pred]
        kept_piece = _largest_pieces(pred, free & clipped[pred], pred_area,
                                     min_size, min_fraction)
        place |= kept_piece
        keep_obj = np.bincount(pred[place], minlength=n) > 0
        keep_obj[0] = False
        n_clipped = int(np.count_nonzero(keep_obj & clipped))
    source = np.flatnonzero(keep_obj).astype(np.int64)
    start = int(labels.max()) + 1 if first_id is None else int(first_id)
    if labels.size and start <= int(labels.max()):
        raise ValueError(f"first_id {start} is not above the labels' ids (max {labels.max()})")
    added = start + np.arange(len(source), dtype=np.int64)
    lut = np.zeros(n, np.uint32)
    lut[source] = added
    out = labels.astype(np.uint32, copy=True)
    out[place] = lut[pred[place]]
    top = int(added[-1]) if len(added) else int(out.max()) if out.size else 0
    classes = np.zeros(top + 1, np.int32)
    lcls = _class_table(label_classes, top + 1)
    m = min(len(lcls), start)
    classes[:m] = lcls[:m]
    classes[added] = pcls[source]
    classes[0] = 0
    return MergeResult(mode, out, classes, added, source, n_predicted, n_clipped,
                       n_predicted - len(source))


def _class_table(classes: np.ndarray | None, n: int) -> np.ndarray:
    out = np.zeros(n, np.int32)
    if classes is not None:
        cl = np.asarray(classes, np.int64).ravel()[:n]
        out[: len(cl)] = np.where(cl > 0, cl, 0)
    out[0] = 0
    return out


def _largest_pieces(pred: np.ndarray, cand: np.ndarray, pred_area: np.ndarray,
                    min_size: int, min_fraction: float) -> np.ndarray:
    """Pixels of ``cand`` in the largest 4-connected piece of each predicted object, where
    that piece is big enough; one sparse connected-components call for all objects."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    keep = np.zeros(pred.shape, bool)
    if not cand.any():
        return keep
    h, w = pred.shape
    flat = np.flatnonzero(cand)  # the graph's nodes: candidate pixels, in raster order
    src, dst = [], []
    # 4-neighbours with the same predicted id; node numbers by binary search in ``flat``
    # (no image-sized table of node numbers: 8 bytes per pixel on an 8k x 8k image)
    for a, b, step, width in (
            ((slice(None), slice(None, -1)), (slice(None), slice(1, None)), 1, w - 1),
            ((slice(None, -1), slice(None)), (slice(1, None), slice(None)), w, w)):
        link = cand[a] & cand[b] & (pred[a] == pred[b])
        idx = np.flatnonzero(link)
        p = (idx // width) * w + idx % width  # flat index in the image of the first pixel
        src.append(np.searchsorted(flat, p))
        dst.append(np.searchsorted(flat, p + step))
    src, dst = np.concatenate(src), np.concatenate(dst)
    graph = coo_matrix((np.ones(len(src), np.int8), (src, dst)),
                       shape=(len(flat), len(flat)))
    n_comp, comp = connected_components(graph, directed=False)
    size = np.bincount(comp, minlength=n_comp)
    owner = np.zeros(n_comp, np.int64)
    owner[comp] = pred.ravel()[flat]
    order = np.lexsort((size, owner))  # by object, then size: the last of each is largest
    last = np.r_[owner[order][1:] != owner[order][:-1], True]
    best = order[last]
    good = (size[best] >= min_size) & (size[best] >= min_fraction * pred_area[owner[best]])
    chosen = np.zeros(n_comp, bool)
    chosen[best[good]] = True
    keep.ravel()[flat] = chosen[comp]
    return keep


def merge_into_document(
    doc: EditableDocument,
    masks: np.ndarray,
    classes: np.ndarray | None = None,
    class_table: ClassTable | None = None,
    *,
    mode: str = "replace",
    name: str = "accept prediction",
    min_size: int = MIN_SIZE,
    min_fraction: float = MIN_FRACTION,
) -> MergeResult:
    """Take a prediction into a label document as ONE undo step; returns what was done.

    ``masks``: (H, W) predicted label image of the document's shape; ``classes``: class per
    predicted id, already in the document's class ids (or in ``class_table``'s, which then
    replaces the document's table in the same step). ``add``/``fill`` write only pixels
    that were unlabelled, so Ctrl+Z restores the labels exactly and no hand-drawn pixel
    changes. Raises ValueError for an unknown mode or a prediction of another shape.
    """
    check_mode(mode)
    masks = np.asarray(masks)
    if masks.shape != doc.shape:
        raise ValueError(f"prediction of shape {masks.shape} does not fit image {doc.shape}")
    if mode == "replace":
        replace_labels(doc, masks, classes, class_table, name=f"{name} (replace)")
        return merge_prediction(doc.masks, masks, "replace", pred_classes=classes)
    result = merge_prediction(doc.masks, masks, mode, label_classes=doc.class_lookup,
                              pred_classes=classes, first_id=doc.new_object_id(),
                              min_size=min_size, min_fraction=min_fraction)
    if not result.n_added:  # nothing to add: not even the prediction's classes
        return result
    changed = result.masks != doc.masks
    with doc.group(f"{name} ({mode})"):
        if class_table is not None:
            doc.set_class_table(class_table)
        n_classes = len(class_table if class_table is not None else doc.class_table)
        cls = result.classes[result.added]
        cls = np.where(cls < n_classes, cls, 0)  # a class the table lacks: unassigned
        result.classes[result.added] = cls
        if np.any(cls):
            doc.set_object_classes(result.added, cls)
        if changed.any():
            rows = np.flatnonzero(changed.any(axis=1))
            cols = np.flatnonzero(changed.any(axis=0))
            sl = (slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1))
            doc.write_block(sl, result.masks[sl])
    set_selection(doc, [])
    return result


@dataclass
class MergedLabels:
    """A merge of two label files' contents: what a ``_seg.npy`` of the result holds.

    ``class_names``/``class_colors``: the labels' classes, then the prediction's classes
    they lacked (matched by name); ``ismanual``: bool per id 1..max_id -- Cellpose's flag,
    kept for the labels' objects, False for the added ones.
    """

    result: MergeResult
    class_names: list[str]
    class_colors: list[tuple[int, int, int]]
    ismanual: np.ndarray


def merge_seg_data(labels, prediction, mode: str, *, min_size: int = MIN_SIZE,
                   min_fraction: float = MIN_FRACTION) -> MergedLabels:
    """Merge a prediction file's contents into a label file's (both ``cellpose_io.SegData``:
    ``masks``, ``classes``, ``class_names``, ``class_colors``, ``ismanual``).

    Classes are matched by name (:func:`~guv_app.services.annotation.class_table.
    merge_classes`); ids of the labels stay. Raises ValueError as :func:`merge_prediction`.
    """
    from cellpose_io.label_classes import renumber_sparse_ids
    from guv_app.services.annotation.class_table import merge_classes

    lmasks, lclasses, _ = renumber_sparse_ids(labels.masks, labels.classes)  # as save_seg
    names, colors, pcls = merge_classes(
        list(labels.class_names), list(labels.class_colors), list(prediction.class_names),
        list(prediction.class_colors), prediction.classes)
    if mode == "replace":
        names, colors = list(prediction.class_names), list(prediction.class_colors)
        pcls = prediction.classes
    result = merge_prediction(lmasks, prediction.masks, mode,
                              label_classes=lclasses, pred_classes=pcls,
                              min_size=min_size, min_fraction=min_fraction)
    top = int(result.masks.max()) if result.masks.size else 0
    ismanual = np.zeros(top, bool)
    if mode != "replace" and labels.ismanual is not None:
        kept = np.asarray(labels.ismanual, bool)[:top]
        ismanual[: len(kept)] = kept
    return MergedLabels(result, names, [tuple(int(v) for v in c[:3]) for c in colors],
                        ismanual)
