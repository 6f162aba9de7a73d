"""Label sets per channel without a GUI (issue 14): each set keeps its objects, classes,
class table and undo; the live document always holds the active set."""

from __future__ import annotations

import numpy as np
import pytest

from cellpose_io.channel_labels import ChannelSet
from cellpose_io.seg import SegData
from guv_app.services.annotation import LabelDocument
from guv_app.services.annotation.channel_sets import SHARED, LabelSets

SQUARE = np.array([[2.0, 2.0], [12.0, 2.0], [12.0, 12.0], [2.0, 12.0]])
OTHER = np.array([[20.0, 20.0], [30.0, 20.0], [30.0, 30.0], [20.0, 30.0]])


def test_sets_keep_their_objects_classes_tables_and_undo():
    live = LabelDocument(shape=(40, 40))
    live.add_class("cell")
    sets = LabelSets(live)
    live.add_polygon(SQUARE)
    assert sets.switch(1) and live.n_objects == 0 and not live.can_undo
    assert live.class_table.names == ["background", "cell"]  # a new set starts with it
    live.add_class("nucleus")
    a = live.add_polygon(OTHER)
    b = live.add_polygon(SQUARE)
    drawn_as = live.class_of(a)
    live.assign_class([a], 1)
    sets.switch(SHARED)
    assert live.class_table.names == ["background", "cell"] and live.n_objects == 1
    assert live.undo() and live.n_objects == 0 and live.undo() and not live.can_undo
    sets.switch(1)
    assert live.n_objects == 2 and live.class_of(a) == 1 and drawn_as != 1
    assert live.undo() and live.class_of(a) == drawn_as and live.n_objects == 2  # own history
    assert live.undo() and live.label_at(5, 5) == 0 and live.label_at(25, 25) == a
    assert b not in live.object_ids()
    assert sets.keys() == [SHARED, 1] and sets.channels() == [1]


def test_snapshot_writes_the_shared_set_on_top_and_marks_every_set_saved():
    live = LabelDocument(shape=(40, 40))
    sets = LabelSets(live)
    live.add_polygon(SQUARE)
    sets.switch(0)
    live.add_polygon(OTHER)
    sets.switch(2)  # empty: not written
    snap = sets.snapshot()
    shared_masks = snap.shared[0]
    assert shared_masks[5, 5] and not shared_masks[25, 25]
    assert sorted(snap.save_kwargs["channel_sets"]) == [0]
    assert snap.save_kwargs["channel_sets"][0].masks[25, 25]
    assert snap.save_kwargs["active_channel"] == 2
    assert sets.dirty() and not live.dirty  # a parked set's edits count
    sets.mark_saved(snap)
    assert not sets.dirty()


def test_load_opens_the_files_channel_and_keeps_links():
    masks = np.zeros((40, 40), np.uint16)
    masks[2:12, 2:12] = 1
    seg = SegData(masks=np.zeros((40, 40), np.uint16), classes=np.zeros(1, np.int32),
                  class_names=["background"], class_colors=[(0, 0, 0)], filename="",
                  channel_sets={3: ChannelSet(masks, np.array([0, 1], np.int32),
                                              ["background", "vesicle"], [(0, 0, 0),
                                                                          (9, 9, 9)])},
                  active_channel=3, associations={"version": 1, "groups": []})
    live = LabelDocument(shape=(40, 40))
    sets = LabelSets(live)
    live.reset_from_seg(seg)
    sets.load(seg)
    assert sets.active == 3 and live.n_objects == 1 and live.class_of(1) == 1
    assert live.class_table.names == ["background", "vesicle"]
    assert sets.associations == {"version": 1, "groups": []}
    live.reset_from_seg(seg)  # the next plane: no channel sets, stays on the channel
    sets.load(None, keep_channel=3)
    assert sets.active == 3 and live.n_objects == 0


def test_no_switch_in_the_middle_of_a_stroke():
    live = LabelDocument(shape=(40, 40))
    sets = LabelSets(live)
    live.begin_group("brush")
    with pytest.raises(RuntimeError, match="during an edit"):
        sets.switch(0)
    live.end_group()
    assert sets.active is SHARED and sets.switch(0)
