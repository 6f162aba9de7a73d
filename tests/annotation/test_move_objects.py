"""Moving objects: the pixels land exactly where a shift puts them, ids and classes stay,
refusals change nothing, one undo step -- for a compact selection (one joint block) and
for objects spread over the image (one block each)."""

from __future__ import annotations

import numpy as np
import pytest

from guv_app.services.annotation import ClassTable, LabelDocument
from guv_app.services.annotation.move import move_objects


def grid(n_side: int = 8, cell: int = 32, r: int = 9) -> np.ndarray:
    masks = np.zeros((n_side * cell, n_side * cell), np.uint32)
    yy, xx = np.mgrid[: masks.shape[0], : masks.shape[1]]
    k = 0
    for i in range(n_side):
        for j in range(n_side):
            k += 1
            cy, cx = i * cell + cell // 2, j * cell + cell // 2
            masks[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = k
    return masks


def expected(masks: np.ndarray, ids, dy: int, dx: int) -> np.ndarray:
    """The independent answer: moving pixels rolled (never near the border here)."""
    moving = np.isin(masks, list(ids))
    out = np.where(moving, 0, masks)
    rolled = np.roll(np.where(moving, masks, 0), (dy, dx), axis=(0, 1))
    return np.where(rolled > 0, rolled, out)


@pytest.mark.parametrize("ids", [
    [10, 11, 18, 19],  # neighbours: one joint block
    [10, 15, 37, 60],  # far apart: one block each
    list(range(1, 65)),  # all of them: some touch the border, see below
])
def test_move_matches_shift_and_undo_restores(ids):
    masks = grid()
    classes = np.arange(65) % 3
    doc = LabelDocument(masks, classes, ClassTable.from_lists(["background", "a", "b"]))
    before = doc.masks.copy()
    out = move_objects(doc, ids, 3, -4)
    assert out.moved, out.reason
    assert np.array_equal(doc.masks, expected(before, ids, 3, -4))
    assert np.array_equal(doc.classes, classes[: doc.max_id + 1])
    assert doc.undo() and np.array_equal(doc.masks, before)
    assert not doc.can_undo  # one step
    assert doc.redo() and np.array_equal(doc.masks, expected(before, ids, 3, -4))


@pytest.mark.parametrize("ids", [[10, 11], [10, 37]])
def test_refusals_change_nothing(ids):
    doc = LabelDocument(grid())
    before = doc.masks.copy()
    out = move_objects(doc, ids, 0, 14)  # 32 px cells, r 9: 14 px lands on the neighbour
    assert not out.moved and "overlap" in out.reason
    assert set(out.blocking) == {i + 1 for i in ids} - set(ids)  # a moving one never blocks
    assert np.array_equal(doc.masks, before) and not doc.can_undo
    edge = move_objects(doc, [1, *ids], -10, 0)  # object 1 is 7 px from the top
    assert not edge.moved and "leave the image" in edge.reason
    assert np.array_equal(doc.masks, before) and not doc.can_undo
    assert not move_objects(doc, [10, 11, 12], 0, 14).moved  # 13 still blocks


@pytest.mark.parametrize("far", [False, True])
def test_moving_objects_may_land_where_another_moving_one_was(far):
    masks = np.zeros((200, 200), np.uint32)
    masks[10:20, 10:20] = 1
    masks[10:20, 20:30] = 2  # touching 1 on its right
    masks[12:18, 31:40] = 4  # not moving: 2 may come no closer than 1 px
    ids = [1, 2]
    if far:  # a third object far away: one block per object
        masks[180:190, 180:190] = 3
        ids.append(3)
    doc = LabelDocument(masks)
    before = doc.masks.copy()
    assert not move_objects(doc, ids, 0, 2).moved  # 2 would touch 4's pixels
    assert move_objects(doc, ids, 0, 1).moved  # 1 lands on a column that was 2's
    assert np.array_equal(doc.masks, expected(before, ids, 0, 1))
    assert move_objects(doc, ids, 5, 0).moved  # down: 2's columns end left of 4's
    assert np.array_equal(doc.masks, expected(expected(before, ids, 0, 1), ids, 5, 0))
    doc.undo()
    doc.undo()
    assert np.array_equal(doc.masks, before)
