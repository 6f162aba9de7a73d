"""Objects made of separate pieces: split them into objects, or count the pieces.

An erase stroke can cut an object in two (the pieces become objects); merging objects that
do not touch gives one object of several pieces (the Trainer warns). Functions over the
document's public API, like :mod:`guv_app.services.annotation.edits`.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from guv_app.services.annotation.edits import EditableDocument, _ids


def separate_parts(doc: EditableDocument, ids: Iterable[int]) -> dict[int, list[int]]:
    """Give each separate (8-connected) part of these objects its own id.

    After an erase cuts an object in two, each piece becomes an object: the largest keeps
    the id (and class), the others get new ids with the same class. Returns ``{old id:
    [new ids]}`` for the objects that were split (one undo step, or part of the enclosing
    group).
    """
    out: dict[int, list[int]] = {}
    with doc.group("separate parts"):
        for obj in _ids(ids):
            sl = doc.bbox_of(obj)
            if sl is None:
                continue
            block = doc.masks[sl]
            own = (block == obj).astype(np.uint8)
            n, comp = cv2.connectedComponents(own, connectivity=8)
            if n <= 2:
                continue
            sizes = np.bincount(comp.ravel(), minlength=n)
            sizes[0] = 0
            keep = int(np.argmax(sizes))
            new_block = block.copy()
            new_ids = []
            for k in range(1, n):
                if k != keep:
                    nid = doc.new_object_id()
                    new_block[comp == k] = nid
                    new_ids.append(nid)
            cls = doc.class_of(obj)
            if cls:
                doc.set_object_classes(np.array(new_ids), np.full(len(new_ids), cls))
            doc.write_block(sl, new_block)
            out[obj] = new_ids
    return out


def n_parts(doc: EditableDocument, ids: Iterable[int]) -> int:
    """Separate (8-connected) parts the union of these objects has (merge check)."""
    ids = [i for i in _ids(ids) if doc.area(i) > 0]
    if not ids:
        return 0
    boxes = [doc.bbox_of(i) for i in ids]
    sl = (slice(min(b[0].start for b in boxes), max(b[0].stop for b in boxes)),
          slice(min(b[1].start for b in boxes), max(b[1].stop for b in boxes)))
    union = np.isin(doc.masks[sl], ids).astype(np.uint8)
    return int(cv2.connectedComponents(union, connectivity=8)[0]) - 1
