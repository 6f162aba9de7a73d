"""Labels from a file into a document: merged with what is there, or replacing it.

One undo step either way; classes are matched by name (see ``class_table.merge_classes``).
A function over the document's public API, like :mod:`guv_app.services.annotation.edits`.
"""

from __future__ import annotations

import numpy as np

from guv_app.services.annotation.edits import EditableDocument, replace_labels


def import_labels(
    doc: EditableDocument,
    masks: np.ndarray,
    classes: np.ndarray | None = None,
    class_names: list[str] | None = None,
    class_colors: list | None = None,
    *,
    mode: str = "merge",
) -> int:
    """Take labels from a file into this image as ONE undo step; returns objects added.

    ``mode="replace"``: the imported labels replace every object. ``mode="merge"``: the
    imported objects get new ids after the existing ones and fill only background pixels,
    so nothing already labelled changes. Classes are matched by name (classes the document
    lacks are added).
    """
    from guv_app.services.annotation.class_table import merge_classes

    if mode not in ("merge", "replace"):
        raise ValueError(f"import mode must be 'merge' or 'replace', got {mode!r}")
    masks = np.asarray(masks)
    if masks.shape != doc.shape:
        raise ValueError(f"labels of shape {masks.shape} do not fit image {doc.shape}")
    t = doc.class_table
    names, colors, mapped = merge_classes(
        t.names, t.colors, list(class_names or ["background"]), list(class_colors or []),
        classes)
    table = None
    if names != t.names:
        table = t.copy()
        table.names, table.colors = names, colors
        table.visible = t.visible + [True] * (len(names) - len(t.names))
    masks, mapped = _compact(masks, mapped)
    if mode == "replace":
        replace_labels(doc, masks, mapped, table, name="import labels (replace)")
        return int(np.count_nonzero(np.bincount(doc.masks.ravel())[1:]))
    imp = masks
    place = (imp > 0) & (doc.masks == 0)
    if not place.any():
        return 0
    rows, cols = np.flatnonzero(place.any(axis=1)), np.flatnonzero(place.any(axis=0))
    sl = (slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1))
    offset = doc.new_object_id() - 1  # ids after every id handed out so far
    block = doc.masks[sl].copy()
    sub = place[sl]
    block[sub] = imp[sl][sub] + np.uint32(offset)
    new_ids = np.unique(block[sub])
    with doc.group("import labels (merge)"):
        if table is not None:
            doc.set_class_table(table)
        if mapped is not None:
            src = new_ids.astype(np.int64) - offset
            cls = np.where(src < len(mapped), mapped[np.minimum(src, len(mapped) - 1)], 0)
            if np.any(cls):
                doc.set_object_classes(new_ids, cls)
        doc.write_block(sl, block)
    return int(len(new_ids))



def _compact(masks: np.ndarray, classes: np.ndarray | None
             ) -> tuple[np.ndarray, np.ndarray | None]:
    """Ids renumbered 1..N in id order (uint32), classes with them.

    A file's ids may be sparse or huge (ImageJ/QuPath exports, 2**31): the document's
    per-id tables then stay the size of the object count, and merged ids cannot overflow.
    """
    m = np.asarray(masks)
    top = int(m.max()) if m.size else 0
    small = top < 1 << 24
    present = np.flatnonzero(np.bincount(m.ravel())) if small else np.unique(m)
    present = present[present > 0]
    n = len(present)
    if n == top:  # already 1..N
        return m.astype(np.uint32, copy=False), classes
    if small:
        lut = np.zeros(top + 1, np.uint32)
        lut[present] = np.arange(1, n + 1, dtype=np.uint32)
        out = lut[m]
    else:
        out = np.where(m > 0, np.searchsorted(present, m) + 1, 0).astype(np.uint32)
    if classes is not None:
        cl = np.asarray(classes, np.int64)
        new = np.zeros(n + 1, np.int64)
        known = present < len(cl)
        new[1:][known] = cl[present[known]]
        classes = new
    return out, classes
