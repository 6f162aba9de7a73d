"""Frozen merges of a prediction into hand-drawn labels, against a per-object reference
(``tests/merge_reference.py``: real DSB2018 labels, expected objects computed one by one)."""

from __future__ import annotations

import numpy as np
import pytest
from merge_reference import expected_added, labels_and_prediction

from guv_app.services.annotation import ClassTable, LabelDocument
from guv_app.services.annotation.merge import merge_into_document, merge_prediction


@pytest.mark.parametrize("mode", ["add", "fill"])
def test_added_objects_are_exactly_the_expected_ones(mode):
    hand, hand_classes, pred, pred_classes = labels_and_prediction()
    first = int(hand.max()) + 5
    r = merge_prediction(hand, pred, mode, label_classes=hand_classes,
                         pred_classes=pred_classes, first_id=first)
    labelled = hand > 0
    assert np.array_equal(r.masks[labelled], hand[labelled])  # every hand-drawn pixel kept
    assert np.array_equal(r.classes[: len(hand_classes)][np.unique(hand)],
                          hand_classes[np.unique(hand)])
    want = expected_added(hand, pred, mode)
    assert 0 < len(want) < len(np.unique(pred)) - 1  # the example has both kinds
    assert r.n_added == len(want) and sorted(r.source.tolist()) == sorted(want)
    new_px = r.masks != hand
    union = np.zeros(hand.shape, bool)
    for new_id, p in zip(r.added.tolist(), r.source.tolist(), strict=True):
        assert new_id >= first
        assert np.array_equal(r.masks == new_id, want[p])
        assert r.classes[new_id] == pred_classes[p]  # class from the prediction
        union |= want[p]
    assert np.array_equal(new_px, union)
    assert r.n_dropped == len(np.unique(pred)) - 1 - len(want)
    if mode == "fill":
        assert r.n_clipped > 0


def test_fill_drops_slivers_and_split_fragments():
    hand = np.zeros((40, 60), np.uint32)
    hand[5:35, 10:30] = 1  # a hand-drawn cell
    pred = np.zeros_like(hand)
    pred[4:36, 9:31] = 1  # the same cell drawn 1 px wider: only a sliver is free
    pred[15:25, 28:50] = 2  # a neighbour overlapping the cell's edge: clipped, kept
    pred[18:22, 0:40] = 3  # a bar across the cell: split in two, the larger side kept
    r = merge_prediction(hand, pred, "fill", first_id=2)
    assert np.array_equal(r.masks[hand > 0], hand[hand > 0])
    assert sorted(r.source.tolist()) == [2]  # the sliver (1) and the bar (3) dropped
    new = r.masks == r.added[0]
    assert np.array_equal(new, (pred == 2) & (hand == 0))
    r2 = merge_prediction(hand, pred, "fill", first_id=2, min_fraction=0.0, min_size=1)
    bar = r2.masks == r2.added[r2.source.tolist().index(3)]
    assert bar[18:22, 30:40].all() and not bar[:, :10].any()  # one piece: the larger


def test_document_merge_is_one_undo_step_and_replace_still_replaces():
    hand, hand_classes, pred, pred_classes = labels_and_prediction()
    table = ClassTable.from_lists(["background", "a", "b"])
    for mode in ("add", "fill"):
        doc = LabelDocument(hand, hand_classes, table)
        top = doc.max_id
        doc.delete([top])  # an id handed out before must not come back
        before, before_classes = doc.masks.copy(), doc.classes
        r = merge_into_document(doc, pred, pred_classes, mode=mode)
        assert r.n_added and int(r.added.min()) > top
        assert np.array_equal(doc.masks, r.masks)
        assert np.array_equal(doc.masks[before > 0], before[before > 0])
        assert all(doc.class_of(i) == c for i, c in
                   zip(r.added.tolist(), pred_classes[r.source].tolist(), strict=True))
        assert doc.undo()
        assert np.array_equal(doc.masks, before)
        assert np.array_equal(doc.classes, before_classes)
        assert doc.redo() and np.array_equal(doc.masks, r.masks)
    doc = LabelDocument(hand, hand_classes, table)
    before = doc.masks.copy()
    merge_into_document(doc, pred, pred_classes, mode="replace")
    assert np.array_equal(doc.masks, pred)
    doc.undo()
    assert np.array_equal(doc.masks, before)


def test_bad_mode_and_shape_are_refused():
    hand, _, pred, _ = labels_and_prediction()
    with pytest.raises(ValueError, match="merge mode"):
        merge_prediction(hand, pred, "union")
    with pytest.raises(ValueError, match="does not fit"):
        merge_prediction(hand, pred[:-1], "add")


def test_pieces_joined_only_through_another_object_stay_apart():
    hand = np.zeros((30, 40), np.uint32)
    hand[5:15, 15:20] = 1  # cuts predicted object 1 in a left and a right piece
    pred = np.zeros_like(hand)
    pred[5:15, 5:32] = 1  # left piece 10 x 10 px, right piece 10 x 12 px
    pred[15:20, 5:32] = 2  # touches both pieces of 1 from below
    r = merge_prediction(hand, pred, "fill", first_id=2, min_size=1, min_fraction=0.0)
    one = r.masks == r.added[r.source.tolist().index(1)]
    assert np.array_equal(one[5:15, 20:32], np.ones((10, 12), bool))  # the larger piece,
    assert one.sum() == 120  # and only it
    two = r.masks == r.added[r.source.tolist().index(2)]
    assert np.array_equal(two, pred == 2)  # untouched: whole


def test_nothing_to_add_changes_nothing():
    hand = np.zeros((20, 20), np.uint32)
    hand[2:18, 2:18] = 1
    pred = np.zeros_like(hand)
    pred[4:10, 4:10] = 1  # inside the hand-drawn object
    doc = LabelDocument(hand)
    for mode in ("add", "fill"):
        r = merge_into_document(doc, pred, np.array([0, 1]),
                                ClassTable.from_lists(["background", "new class"]), mode=mode)
        assert r.n_added == 0 and r.n_dropped == 1
        assert not doc.can_undo and len(doc.class_table) == 1 and np.array_equal(doc.masks, hand)


def test_huge_sparse_predicted_ids_are_merged_without_huge_tables():
    hand = np.zeros((30, 30), np.uint32)
    hand[0:10, 0:10] = 1
    pred = np.zeros_like(hand)
    pred[20:28, 20:28] = 2**31 + 7  # a QuPath-style id
    pred[5:15, 5:15] = 2**30  # overlaps the hand-drawn object
    for mode in ("add", "fill"):
        r = merge_prediction(hand, pred, mode, first_id=2)
        (new,) = np.unique(r.masks[pred == 2**31 + 7])
        assert np.array_equal(r.masks == new, pred == 2**31 + 7)
        assert len(r.classes) == int(r.masks.max()) + 1 <= 4  # tables the size of the objects
