"""Is the object with this id still the object that was linked?

A link names masks by id. Edits that draw get fresh ids, but bulk edits -- labels replaced
by a model's prediction, an import -- number their objects 1..N again, so an id may come to
name another object. The Trainer compares each linked object's bounding box before and
after such an edit: the object is the same while its new box still covers at least
:data:`SAME_OBJECT` of the old one (a merge into it or a move by a few pixels keep it).
"""

from __future__ import annotations

import numpy as np

SAME_OBJECT = 0.5
Box = tuple[int, int, int, int]  # r0, r1, c0, c1 (px, end exclusive)


def object_boxes(masks: np.ndarray) -> dict[int, Box]:
    """Exact bounding box of every object of an (H, W) label image, in one pass
    (``scipy.ndimage.find_objects``)."""
    from scipy import ndimage

    return {i: (b[0].start, b[0].stop, b[1].start, b[1].stop)
            for i, b in enumerate(ndimage.find_objects(np.asarray(masks)), start=1)
            if b is not None}


def box_coverage(old: Box, new: Box) -> float:
    """Fraction of box ``old`` inside box ``new`` (0 for an empty ``old``)."""
    h = min(old[1], new[1]) - max(old[0], new[0])
    w = min(old[3], new[3]) - max(old[2], new[2])
    area = (old[1] - old[0]) * (old[3] - old[2])
    return max(h, 0) * max(w, 0) / area if area > 0 else 0.0
