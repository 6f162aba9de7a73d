"""The per-object tables a label document keeps in step with its label image.

Every write to the instance masks must update the area of each id it touches, the cached
bounding boxes and the next free id, and a bulk delete/merge must move areas and boxes
from one id to another (and back on undo). That bookkeeping lives here, apart from the
pixels, the undo steps and the events of
:class:`~guv_app.services.annotation.document.LabelDocument`, so the arithmetic that keeps
``area``/``bbox_of``/``new_object_id`` right is in one place. Plain numpy, no events: the
document calls it from its primitives and emits what changed.
"""

from __future__ import annotations

import numpy as np

from guv_app.services.annotation.raster import scipy_ndimage

Slices = tuple[slice, slice]


class ObjectTables:
    """``areas[id]`` (int64, px; ``areas[0]`` is the background), ``classes[id]`` (int32,
    0 = unassigned), a cache of bounding boxes ``boxes[id] = [r0, r1, c0, c1]`` (None until
    first asked for, then kept on every write; a box may be slightly larger than its
    object) and ``next_id``, the first id never handed out. Both arrays grow together
    (doubling) to hold every id written.
    """

    def __init__(self, masks: np.ndarray, classes: np.ndarray | None, n_classes: int) -> None:
        """Count ``masks`` (H, W) uint32; ``classes[id]`` outside 0..n_classes-1 become 0."""
        n = int(masks.max()) + 1 if masks.size else 1
        self.areas = np.bincount(masks.ravel(), minlength=n).astype(np.int64)
        self.classes = np.zeros(len(self.areas), np.int32)
        if classes is not None:
            cl = np.asarray(classes, dtype=np.int64).ravel()[: len(self.classes)]
            cl = np.where((cl >= 0) & (cl < n_classes), cl, 0)
            self.classes[: len(cl)] = cl
        self.classes[0] = 0
        self.next_id = n
        self.boxes: dict[int, list[int]] | None = None

    def ensure_capacity(self, n: int) -> None:
        """Make room for ids 0..n-1."""
        if n > len(self.areas):
            grow = max(n, 2 * len(self.areas))
            self.areas = np.concatenate([self.areas, np.zeros(grow - len(self.areas), np.int64)])
            self.classes = np.concatenate(
                [self.classes, np.zeros(grow - len(self.classes), np.int32)]
            )

    def new_id(self) -> int:
        """A fresh object id (never reused)."""
        new = self.next_id
        self.next_id += 1
        self.ensure_capacity(new + 1)
        return new

    def box(self, obj: int, masks: np.ndarray) -> Slices | None:
        """The cached bounding box of ``obj`` (an existing object), scanning ``masks`` once
        to build the cache."""
        if self.boxes is None:
            self.boxes = {}
            for i, sl in enumerate(scipy_ndimage().find_objects(masks), start=1):
                if sl is not None:
                    self.boxes[i] = [sl[0].start, sl[0].stop, sl[1].start, sl[1].stop]
        b = self.boxes.get(obj)
        if b is None:  # pragma: no cover - the cache is maintained on every write
            return None
        return slice(b[0], b[1]), slice(b[2], b[3])

    def count_write(self, sl: Slices, old_vals: np.ndarray, new_vals: np.ndarray) -> np.ndarray:
        """Account for the changed pixels of block ``sl`` going from ``old_vals`` to
        ``new_vals`` (1-D uint32, same length); ids in ``new_vals`` above every id so far
        are reserved. Returns the ids whose area changed (0 included)."""
        if new_vals.size:
            top = int(new_vals.max()) + 1
            self.ensure_capacity(top)
            self.next_id = max(self.next_id, top)
        n = len(self.areas)
        lost = np.bincount(old_vals, minlength=n)
        gained = np.bincount(new_vals, minlength=n)
        self.areas += gained - lost
        if self.boxes is not None:
            r0, r1, c0, c1 = sl[0].start, sl[0].stop, sl[1].start, sl[1].stop
            for i in np.flatnonzero(gained).tolist():
                b = self.boxes.get(i)
                if b is None or self.areas[i] == gained[i]:
                    self.boxes[i] = [r0, r1, c0, c1]
                else:
                    b[0], b[1], b[2], b[3] = min(b[0], r0), max(b[1], r1), min(b[2], c0), max(b[3], c1)
        return np.flatnonzero(lost + gained)

    def existing(self, ids: np.ndarray) -> np.ndarray:
        """The ids (int64) of ``ids`` that are objects now."""
        ids = ids[(ids > 0) & (ids < len(self.areas))]
        return ids[self.areas[ids] > 0]

    def saved_boxes(self, ids: np.ndarray) -> tuple[dict[int, list[int]] | None, Slices | None]:
        """Copies of the cached boxes of ``ids`` (to restore on undo) and their joint box,
        None where the cache is not built (scanning would cost more than it saves) or
        lacks one of them."""
        if self.boxes is None:
            return None, None
        saved = {int(i): list(self.boxes[int(i)]) for i in ids if int(i) in self.boxes}
        if len(saved) != len(ids):
            return saved, None
        b = np.asarray(list(saved.values()))
        return saved, (slice(int(b[:, 0].min()), int(b[:, 1].max())),
                       slice(int(b[:, 2].min()), int(b[:, 3].max())))

    def count_remap(self, ids: np.ndarray, to: np.ndarray, n_pixels: int) -> None:
        """Objects ``ids`` became ``to`` (0 = deleted): move their areas and boxes."""
        np.add.at(self.areas, to, self.areas[ids])
        self.areas[ids] = 0
        self.areas[0] = int(n_pixels - self.areas[1:].sum())
        if self.boxes is not None:
            for i, t in zip(ids.tolist(), to.tolist(), strict=True):
                b = self.boxes.pop(i, None)
                if t and b is not None:
                    tb = self.boxes.setdefault(t, list(b))
                    tb[0], tb[1] = min(tb[0], b[0]), max(tb[1], b[1])
                    tb[2], tb[3] = min(tb[2], b[2]), max(tb[3], b[3])

    def uncount_remap(self, ids: np.ndarray, to: np.ndarray, areas: np.ndarray,
                      boxes: dict[int, list[int]] | None, n_pixels: int) -> None:
        """Undo :meth:`count_remap`: ``ids`` get back their ``areas`` and saved ``boxes``."""
        np.subtract.at(self.areas, to, areas)
        self.areas[ids] = areas
        self.areas[0] = int(n_pixels - self.areas[1:].sum())
        if self.boxes is not None and boxes:
            for i, b in boxes.items():
                self.boxes[i] = list(b)
