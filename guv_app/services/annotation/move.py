"""Move objects by a few pixels (the arrow keys of the Trainer), refused where it would
overlap another object or leave the image -- as in MultiCellPose 0.9.

A function over the label document's public API like :mod:`~guv_app.services.annotation.
edits`: one ``write_block`` over the joint box of the objects before and after the move,
inside one undo step, so ids and classes stay and Ctrl+Z puts every pixel back. Nothing
changes when the move is refused; the returned :class:`MoveOutcome` says why, in words a
status bar can show.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from guv_app.services.annotation.edits import EditableDocument


@dataclass(frozen=True)
class MoveOutcome:
    """``moved``: whether the pixels moved; ``reason``: why not (empty when moved);
    ``blocking``: ids of the objects that stood in the way (overlap refusals)."""

    moved: bool
    reason: str = ""
    blocking: tuple[int, ...] = ()


def move_objects(doc: EditableDocument, ids: Iterable[int], dy: int, dx: int,
                 *, name: str = "move objects") -> MoveOutcome:
    """Shift every pixel of objects ``ids`` by ``dy`` rows and ``dx`` columns (px).

    The objects move together (a selection keeps its shape); the move is refused, changing
    nothing, when a moved pixel would fall outside the image or onto a pixel of an object
    that does not move. One undo step named ``name``.
    """
    ids = sorted({int(i) for i in ids if int(i) > 0 and doc.area(int(i)) > 0})
    if not ids:
        return MoveOutcome(False, "Select objects to move first")
    dy, dx = int(dy), int(dx)
    if dy == 0 and dx == 0:
        return MoveOutcome(False, "No move")
    boxes = [doc.bbox_of(i) for i in ids]
    r0 = min(b[0].start for b in boxes)
    r1 = max(b[0].stop for b in boxes)
    c0 = min(b[1].start for b in boxes)
    c1 = max(b[1].stop for b in boxes)
    moving_lut = np.zeros(len(doc.class_lookup), bool)
    moving_lut[ids] = True
    spread = sum((b[0].stop - b[0].start) * (b[1].stop - b[1].start) for b in boxes)
    if len(ids) <= _PER_OBJECT_MAX and (r1 - r0) * (c1 - c0) > 4 * spread:
        # objects far apart: one small block each instead of a block over all of them, so
        # the undo step holds their boxes, not the image (200 objects spread over 2048x2048:
        # ~1.4 MB instead of 32 MB per key press)
        return _move_each(doc, ids, boxes, moving_lut, dy, dx, name)
    h, w = doc.shape
    src = doc.masks[r0:r1, c0:c1]
    own = moving_lut.take(src, mode="clip")  # bbox_of may be loose: the exact pixels
    rows, cols = np.flatnonzero(own.any(axis=1)), np.flatnonzero(own.any(axis=0))
    r0, r1 = r0 + int(rows[0]), r0 + int(rows[-1]) + 1
    c0, c1 = c0 + int(cols[0]), c0 + int(cols[-1]) + 1
    if r0 + dy < 0 or c0 + dx < 0 or r1 + dy > h or c1 + dx > w:
        return _leaves(ids)
    # one block covering the objects before and after the move
    sl = (slice(min(r0, r0 + dy), max(r1, r1 + dy)), slice(min(c0, c0 + dx), max(c1, c1 + dx)))
    block = doc.masks[sl]
    own = moving_lut.take(block, mode="clip")
    out = np.where(own, np.uint32(0), block)
    bh, bw = block.shape
    # destination of each source pixel, in block coordinates
    src_r = slice(max(0, -dy), bh - max(0, dy))
    src_c = slice(max(0, -dx), bw - max(0, dx))
    dst_r = slice(max(0, dy), bh - max(0, -dy))
    dst_c = slice(max(0, dx), bw - max(0, -dx))
    mov = own[src_r, src_c]
    land = out[dst_r, dst_c]
    hit = land[mov]
    hit = hit[hit > 0]
    if hit.size:
        return _overlaps(hit)
    land[mov] = block[src_r, src_c][mov]
    with doc.group(name):
        doc.write_block(sl, out)
    return MoveOutcome(True)


_PER_OBJECT_MAX = 256  # more objects: one joint block (per-object Python overhead dominates)


def _leaves(ids: list[int]) -> MoveOutcome:
    what = "object" if len(ids) == 1 else f"{len(ids)} objects"
    return MoveOutcome(False, f"Move refused: the {what} would leave the image")


def _overlaps(hit: np.ndarray) -> MoveOutcome:
    blocking = tuple(int(i) for i in np.unique(hit))
    names = ", ".join(map(str, blocking[:5])) + (" …" if len(blocking) > 5 else "")
    return MoveOutcome(False, f"Move refused: it would overlap object(s) {names}", blocking)


def _shift(sl: tuple[slice, slice], dy: int, dx: int) -> tuple[slice, slice]:
    return slice(sl[0].start + dy, sl[0].stop + dy), slice(sl[1].start + dx, sl[1].stop + dx)


def _move_each(doc: EditableDocument, ids: list[int], boxes: list, moving_lut: np.ndarray,
               dy: int, dx: int, name: str) -> MoveOutcome:
    """The move with one block per object: all checked first, then every object cleared,
    then every object drawn at its new place (its destination may be where another moving
    object was), all in one undo step."""
    h, w = doc.shape
    masks = doc.masks
    pieces = []
    hits = []
    for obj, box in zip(ids, boxes, strict=True):
        own = masks[box] == obj
        rows, cols = np.flatnonzero(own.any(axis=1)), np.flatnonzero(own.any(axis=0))
        sl = (slice(box[0].start + int(rows[0]), box[0].start + int(rows[-1]) + 1),
              slice(box[1].start + int(cols[0]), box[1].start + int(cols[-1]) + 1))
        own = own[int(rows[0]): int(rows[-1]) + 1, int(cols[0]): int(cols[-1]) + 1]
        dst = _shift(sl, dy, dx)
        if dst[0].start < 0 or dst[1].start < 0 or dst[0].stop > h or dst[1].stop > w:
            return _leaves(ids)
        land = masks[dst][own]
        hits.append(land[(land > 0) & ~moving_lut.take(land, mode="clip")])
        pieces.append((obj, sl, dst, own))
    hit = np.concatenate(hits)
    if hit.size:
        return _overlaps(hit)
    with doc.group(name):
        for _obj, sl, _dst, own in pieces:
            doc.write_block(sl, np.where(own, np.uint32(0), doc.masks[sl]))
        for obj, _sl, dst, own in pieces:
            block = doc.masks[dst].copy()
            block[own] = obj
            doc.write_block(dst, block)
    return MoveOutcome(True)
