"""Links across channels: auto-match by IoU (optimal, sparse), hand links with undo, 0.9 layout."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from linked_channels import two_channel_labels

from guv_app.services.annotation import LabelDocument
from guv_app.services.linking.links import (
    LinkError,
    LinkSet,
    Member,
    from_associations,
    link,
    replace_channel_pair,
    to_associations,
    unlink,
)
from guv_app.services.linking.match import link_table, match_by_iou, overlaps


def brute_iou(a, b, i, j):
    x, y = a == i, b == j
    return (x & y).sum() / (x | y).sum()


def test_auto_match_finds_the_known_pairing_and_rejects_the_decoys():
    a, b, right = two_channel_labels()
    m = match_by_iou(a, b, 0.25)
    assert set(m.pairs) == right
    for (i, j), v in zip(m.pairs, m.iou.tolist(), strict=True):
        assert v == pytest.approx(brute_iou(a, b, i, j))
    assert brute_iou(a, b, 5, 7) > brute_iou(a, b, 5, 8)  # greedy would be wrong here
    assert 0 < brute_iou(a, b, 4, 4) < 0.25  # the below-threshold pair exists
    # the optimum by exhaustive search over all one-to-one assignments of the decoy block
    best = max(
        itertools.permutations([7, 8, 0]),
        key=lambda p: sum(brute_iou(a, b, i, j) for i, j in zip([5, 6, 0], p, strict=True)
                          if j and i and brute_iou(a, b, i, j) >= 0.25))
    assert (best[0], best[1]) == (8, 7)


def test_sparse_overlaps_equal_the_dense_iou_of_cellpose():
    from cellpose.metrics import _intersection_over_union

    a, b, _ = two_channel_labels()
    dense = _intersection_over_union(a.astype(np.int32), b.astype(np.int32))
    ov = overlaps(a, b)
    np.testing.assert_allclose(ov.iou, dense[ov.a, ov.b])
    nonzero = np.argwhere(dense[1:, 1:] > 0) + 1
    assert {tuple(p) for p in nonzero.tolist()} == set(zip(ov.a.tolist(), ov.b.tolist(),
                                                           strict=True))


def test_threshold_bounds_and_size_mismatch_are_refused():
    a, b, _ = two_channel_labels()
    with pytest.raises(ValueError, match="threshold"):
        match_by_iou(a, b, 0)
    with pytest.raises(ValueError, match="same size"):
        match_by_iou(a, b[:-1])
    assert set(match_by_iou(a, b, 0.6).pairs) == {(2, 2)}  # 100/144 only


def test_hand_link_is_one_undo_step_and_relinking_moves_a_partner():
    doc = LabelDocument(shape=(4, 4))
    links = LinkSet()
    oid = link(links, Member(0, 1), Member(1, 5), record=doc)
    assert links.groups == {oid: {0: 1, 1: 5}}
    # the same mask of channel 1 linked to another object of channel 0: it moves
    oid2 = link(links, Member(0, 2), Member(1, 5), record=doc)
    assert oid2 == oid and links.groups == {oid: {0: 2, 1: 5}}  # its group keeps its id
    assert links.partner(Member(0, 1), 1) == 0
    assert doc.undo()  # one Ctrl+Z undoes that whole re-link
    assert links.groups == {oid: {0: 1, 1: 5}}
    assert doc.undo() and len(links) == 0
    assert doc.redo() and links.groups == {oid: {0: 1, 1: 5}}
    with pytest.raises(LinkError, match="two different channels"):
        link(links, Member(0, 1), Member(0, 2))
    assert unlink(links, Member(1, 5), record=doc) and len(links) == 0
    doc.undo()
    assert links.groups == {oid: {0: 1, 1: 5}}


def test_a_third_channel_joins_the_group_and_replaces_a_partner():
    links = LinkSet()
    oid = link(links, Member(0, 1), Member(1, 5))
    assert link(links, Member(2, 9), Member(0, 1)) == oid
    assert links.groups[oid] == {0: 1, 1: 5, 2: 9}
    link(links, Member(0, 1), Member(1, 6))  # channel 1 partner replaced
    assert links.groups[oid] == {0: 1, 1: 6, 2: 9}
    assert links.group_of(Member(1, 5)) == 0


def test_auto_match_replaces_the_pair_links_in_one_step_and_keeps_others():
    a, b, right = two_channel_labels()
    doc = LabelDocument(a.astype(np.uint32))
    links = LinkSet()
    link(links, Member(0, 3), Member(1, 9), record=doc)  # a wrong hand link
    keep = link(links, Member(0, 3), Member(2, 4), record=doc)  # to a third channel
    replace_channel_pair(links, 0, 1, match_by_iou(a, b).pairs, record=doc)
    pairs = {(g[0], g[1]) for g in links.groups.values() if 0 in g and 1 in g}
    assert pairs == right
    assert links.groups[keep] == {0: 3, 2: 4}
    doc.undo()
    assert links.groups[keep] == {0: 3, 1: 9, 2: 4}


def test_deleted_objects_hide_their_links_until_undone():
    a, b, right = two_channel_labels()
    doc = LabelDocument(a.astype(np.uint32))
    links = LinkSet()
    replace_channel_pair(links, 0, 1, sorted(right), record=doc)
    doc.delete([5])
    visible = links.pruned({0: doc.object_ids(), 1: np.unique(b)[1:]})
    assert {(g[0], g[1]) for g in visible.groups.values()} == right - {(5, 8)}
    doc.undo()
    visible = links.pruned({0: doc.object_ids(), 1: np.unique(b)[1:]})
    assert {(g[0], g[1]) for g in visible.groups.values()} == right


def test_associations_round_trip_in_the_09_layout():
    raw = {"version": 1, "next_object_id": 12, "groups": [
        {"object_id": 3, "members": [{"channel": 0, "mask_id": 4}, {"channel": 1, "mask_id": 2}]},
        {"object_id": 7, "members": [{"channel": 1, "mask_id": 5}, {"channel": 0, "mask_id": 1},
                                     {"channel": 2, "mask_id": 8}]},
    ]}
    links = from_associations(raw)
    assert links.groups == {3: {0: 4, 1: 2}, 7: {0: 1, 1: 5, 2: 8}}
    assert links.next_object_id == 12
    out = to_associations(links)
    assert out["next_object_id"] == 12
    assert out["groups"][1]["members"] == [{"channel": 0, "mask_id": 1},
                                           {"channel": 1, "mask_id": 5},
                                           {"channel": 2, "mask_id": 8}]
    assert from_associations(out) == links
    # a group of one (an object_id given before linking) is kept, and a link joins it
    single = from_associations({"version": 1, "next_object_id": 5, "groups": [
        {"object_id": 4, "members": [{"channel": 1, "mask_id": 3}]}]})
    assert single.groups == {4: {1: 3}}
    assert to_associations(single)["groups"] == [
        {"object_id": 4, "members": [{"channel": 1, "mask_id": 3}]}]
    assert single.pruned({1: [3]}).groups == {4: {1: 3}}
    assert link(single, Member(0, 9), Member(1, 3)) == 4
    assert single.groups == {4: {0: 9, 1: 3}}
    lut = links.object_id_lut(0)
    assert lut.tolist() == [0, 7, 0, 0, 3]
    assert link(links, Member(0, 2), Member(1, 1)) == 12  # never reuses an id
    with pytest.raises(LinkError, match="malformed"):
        from_associations({"groups": [{"members": []}]})


def test_link_table_has_iou_and_centroids():
    a, b, right = two_channel_labels()
    links = LinkSet()
    replace_channel_pair(links, 0, 1, sorted(right))
    t = link_table(links, {0: a, 1: b})
    row = int(np.flatnonzero(t["mask_0"] == 6)[0])
    assert t["mask_1"][row] == 7
    assert t["iou"][row] == pytest.approx(brute_iou(a, b, 6, 7))
    ys, xs = np.nonzero(b == 7)
    assert (t["centroid_y_1"][row], t["centroid_x_1"][row]) == pytest.approx((ys.mean(), xs.mean()))
