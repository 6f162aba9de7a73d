"""The pixel, object, selection and whole-image edits of the label document, each one
undo step (class edits: :mod:`guv_app.services.annotation.class_edits`).

Plain functions over the document's public API: they read ``masks``, ``class_table``,
``class_lookup``, ``area``/``class_of``/``bbox_of`` and change the document only through its
three undoable primitives (``write_block``, ``set_object_classes``, ``set_class_table``)
plus ``new_object_id``, so areas, bounding boxes, history and events stay right whatever the
edit. :class:`~guv_app.services.annotation.document.LabelDocument` offers each function as a
method (``doc.add_polygon(...)``); this module never imports the document (no cycle).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Protocol

import cv2
import numpy as np

from guv_app.services.annotation import raster
from guv_app.services.annotation.class_table import ClassTable
from guv_app.services.annotation.events import EventEmitter, LabelEvent
from guv_app.services.annotation.raster import scipy_ndimage as _ndimage

Slices = tuple[slice, slice]
_BULK = 16  # more objects than this: one pass over their joint bounding box


class EditableDocument(Protocol):
    """The part of ``LabelDocument`` that edits use (its public API)."""

    events: EventEmitter
    selected: set[int]
    current_class: int

    @property
    def masks(self) -> np.ndarray: ...
    @property
    def shape(self) -> tuple[int, int]: ...
    @property
    def class_table(self) -> ClassTable: ...
    @property
    def class_lookup(self) -> np.ndarray: ...
    def area(self, obj: int) -> int: ...
    def class_of(self, obj: int) -> int: ...
    def bbox_of(self, obj: int) -> Slices | None: ...
    def group(self, name: str) -> contextlib.AbstractContextManager[None]: ...
    def new_object_id(self) -> int: ...
    def write_block(self, sl: Slices, new_block: np.ndarray) -> None: ...
    def set_object_classes(self, ids: np.ndarray, values: np.ndarray) -> None: ...
    def set_class_table(self, table: ClassTable) -> None: ...
    def remap_objects(self, ids: np.ndarray, to: np.ndarray | int = 0) -> None: ...


def _ids(ids: Iterable[int] | int) -> list[int]:
    if isinstance(ids, (int, np.integer)):
        return [int(ids)]
    return sorted({int(i) for i in ids if int(i) > 0})


# ------------------------------------------------------------ new pixels
def add_polygon(
    doc: EditableDocument,
    points_xy: np.ndarray,
    class_id: int | None = None,
    *,
    overwrite: bool = False,
) -> int:
    """Fill a traced contour as a new object; returns its id (0 if nothing was added).

    Pixels of existing objects are kept unless ``overwrite`` is true.
    """
    hit = raster.polygon_mask(points_xy, doc.shape)
    if hit is None:
        return 0
    sl, inside = hit
    block = doc.masks[sl]
    if not overwrite:
        inside = inside & (block == 0)
    if not inside.any():
        return 0
    new_id = doc.new_object_id()
    out = block.copy()
    out[inside] = new_id
    with doc.group("add object"):
        # class first: the pixels are then drawn once, already in the class colour
        cls = doc.current_class if class_id is None else class_id
        if cls:
            doc.set_object_classes(np.array([new_id]), np.array([cls]))
        doc.write_block(sl, out)
    return new_id


def paint(
    doc: EditableDocument,
    points_xy: np.ndarray,
    radius: float,
    label: int | None = None,
    *,
    overwrite: bool = False,
    class_id: int | None = None,
) -> int:
    """Brush ``label`` (a new object when None) along points; returns the label used.

    Call repeatedly inside :meth:`group` for one undoable stroke.
    """
    hit = raster.stroke_mask(points_xy, radius, doc.shape)
    if hit is None:
        return label or 0
    sl, inside = hit
    block = doc.masks[sl]
    if not overwrite:
        inside = inside & ((block == 0) | (block == (label or 0)))
    if not inside.any():
        return label or 0
    with doc.group("paint"):
        if label is None or label == 0:
            label = doc.new_object_id()
        cls = doc.current_class if class_id is None else class_id
        if doc.area(label) == 0 and cls and doc.class_of(label) == 0:
            doc.set_object_classes(np.array([label]), np.array([cls]))
        out = block.copy()
        out[inside] = label
        doc.write_block(sl, out)
    return label


def erase(
    doc: EditableDocument, points_xy: np.ndarray, radius: float, label: int | None = None
) -> int:
    """Erase pixels along a brush stroke (only ``label``'s when given); returns count."""
    hit = raster.stroke_mask(points_xy, radius, doc.shape)
    if hit is None:
        return 0
    sl, inside = hit
    block = doc.masks[sl]
    inside = inside & (block != 0) if label is None else inside & (block == label)
    n = int(inside.sum())
    if n:
        out = block.copy()
        out[inside] = 0
        with doc.group("erase"):
            doc.write_block(sl, out)
    return n


def fill_holes(doc: EditableDocument, obj: int, *, overwrite: bool = False) -> int:
    """Fill the holes of one object; returns the number of pixels added."""
    sl = doc.bbox_of(obj)
    if sl is None:
        return 0
    block = doc.masks[sl]
    own = block == obj
    filled = _ndimage().binary_fill_holes(own)
    add = filled & ~own
    if not overwrite:
        add &= block == 0
    n = int(add.sum())
    if n:
        out = block.copy()
        out[add] = obj
        with doc.group("fill holes"):
            doc.write_block(sl, out)
    return n


# ----------------------------------------------------------- object edits
def delete(doc: EditableDocument, ids: Iterable[int] | int) -> list[int]:
    """Delete objects; returns the ids that existed."""
    done = []
    ids = _ids(ids)
    if len(ids) > _BULK:
        done = [i for i in ids if doc.area(i) > 0]
        with doc.group("delete"):
            doc.remap_objects(np.asarray(done, np.int64), 0)
        return done
    with doc.group("delete"):
        for obj in ids:
            sl = doc.bbox_of(obj)
            if sl is None:
                continue
            block = doc.masks[sl]
            out = np.where(block == obj, np.uint32(0), block)
            doc.write_block(sl, out)
            done.append(obj)
    return done


def objects_in_polygon(
    doc: EditableDocument, points_xy: np.ndarray, fraction: float = 0.5
) -> list[int]:
    """Objects with at least ``fraction`` of their pixels inside the polygon."""
    hit = raster.polygon_mask(points_xy, doc.shape)
    if hit is None:
        return []
    sl, inside = hit
    vals = doc.masks[sl][inside]
    counts = np.bincount(vals, minlength=1)
    cand = np.flatnonzero(counts)
    cand = cand[cand > 0]
    return [int(i) for i in cand if counts[i] >= fraction * doc.area(int(i))]


def lasso_delete(doc: EditableDocument, points_xy: np.ndarray) -> list[int]:
    """Delete every object mostly inside the lasso, as one undo step."""
    return delete(doc, objects_in_polygon(doc, points_xy))


def merge(doc: EditableDocument, ids: Iterable[int]) -> int:
    """Give all pixels of ``ids`` the smallest id (keeps its class); returns it."""
    ids = [i for i in _ids(ids) if doc.area(i) > 0]
    if len(ids) < 2:
        return ids[0] if ids else 0
    target = ids[0]
    if len(ids) > _BULK:
        with doc.group("merge"):
            doc.remap_objects(np.asarray(ids[1:], np.int64), target)
        set_selection(doc, [target])
        return target
    with doc.group("merge"):
        for obj in ids[1:]:
            sl = doc.bbox_of(obj)
            block = doc.masks[sl]
            doc.write_block(sl, np.where(block == obj, np.uint32(target), block))
    set_selection(doc, [target])
    return target


def split(doc: EditableDocument, line_xy: np.ndarray, obj: int | None = None) -> list[int]:
    """Cut an object along a drawn line; returns the ids of the new pieces.

    The object is the one the line crosses most when ``obj`` is None. Pieces are the
    4-connected parts left after removing the line; the line's pixels go to the
    nearest piece, the largest piece keeps the id and the class.
    """
    hit = raster.line_mask(line_xy, doc.shape)
    if hit is None:
        return []
    lsl, line = hit
    if obj is None:
        vals = doc.masks[lsl][line]
        counts = np.bincount(vals, minlength=1)
        counts[0] = 0
        if not counts.any():
            return []
        obj = int(np.argmax(counts))
    sl = doc.bbox_of(obj)
    if sl is None:
        return []
    block = doc.masks[sl]
    own = block == obj
    inter = raster.union_slices(sl, lsl)
    # line pixels expressed in the object's bbox frame
    full = np.zeros((inter[0].stop - inter[0].start, inter[1].stop - inter[1].start), bool)
    full[lsl[0].start - inter[0].start : lsl[0].stop - inter[0].start,
         lsl[1].start - inter[1].start : lsl[1].stop - inter[1].start] = line
    cut = full[sl[0].start - inter[0].start : sl[0].stop - inter[0].start,
               sl[1].start - inter[1].start : sl[1].stop - inter[1].start] & own
    rest = (own & ~cut).astype(np.uint8)
    n, comp = cv2.connectedComponents(rest, connectivity=4)
    if n <= 2:
        return []
    sizes = np.bincount(comp.ravel(), minlength=n)
    sizes[0] = 0
    keep = int(np.argmax(sizes))
    if cut.any():
        _, (ri, ci) = _ndimage().distance_transform_edt(comp == 0, return_indices=True)
        comp = np.where(cut, comp[ri, ci], comp)
    out = block.copy()
    new_ids = []
    cls = doc.class_of(obj)
    with doc.group("split"):
        for k in range(1, n):
            if k == keep:
                continue
            nid = doc.new_object_id()
            out[(comp == k) & own] = nid
            new_ids.append(nid)
        if cls:
            doc.set_object_classes(np.array(new_ids), np.full(len(new_ids), cls))
        doc.write_block(sl, out)
    return new_ids


# --------------------------------------------------------------- selection
def set_selection(doc: EditableDocument, ids: Iterable[int]) -> None:
    new = {i for i in _ids(ids) if doc.area(i) > 0}
    if new != doc.selected:
        doc.selected = new
        doc.events.emit(LabelEvent("selection"))


# ---------------------------------------------------------- whole images
def replace_labels(
    doc: EditableDocument,
    masks: np.ndarray,
    classes: np.ndarray | None = None,
    class_table: ClassTable | None = None,
    name: str = "replace labels",
) -> None:
    """Replace every label (e.g. accept a model prediction) as one undo step."""
    masks = np.asarray(masks)
    if masks.shape != doc.shape:
        raise ValueError(f"labels of shape {masks.shape} do not fit image {doc.shape}")
    masks = masks.astype(np.uint32, copy=False)
    with doc.group(name):
        if class_table is not None:
            doc.set_class_table(class_table)
        full = (slice(0, doc.shape[0]), slice(0, doc.shape[1]))
        doc.write_block(full, masks)  # also makes room for every id in ``masks``
        cur = doc.class_lookup
        n = len(cur)
        new = np.zeros(n, np.int32)
        if classes is not None:
            cl = np.asarray(classes, np.int64).ravel()[:n]
            new[: len(cl)] = np.where((cl >= 0) & (cl < len(doc.class_table)), cl, 0)
        new[0] = 0
        ids = np.flatnonzero(new != cur)
        if ids.size:
            doc.set_object_classes(ids, new[ids])
    set_selection(doc, [])


def accept_prediction(
    doc: EditableDocument,
    masks: np.ndarray,
    classes: np.ndarray | None = None,
    class_names: list[str] | None = None,
    class_colors: list | None = None,
) -> None:
    """Take a model's masks/classes into the labels as one undoable step."""
    table = ClassTable.from_lists(class_names, class_colors) if class_names else None
    replace_labels(doc, masks, classes, table, name="accept prediction")

