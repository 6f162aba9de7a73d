"""One majority-class rule and one default palette, whatever the path.

Majority class per object: only user-class pixels vote (background/unassigned do not), ties
go to the smaller class id, no vote gives class 0 -- for class maps read from files, for a
model's per-pixel prediction and for the training metrics.
"""

from __future__ import annotations

import numpy as np
import pytest

import cellpose_io
from cellpose_io.label_classes import CLASS_PALETTE, classes_from_map, normalise_class_table
from guv_app.services.annotation import ClassTable, LabelDocument
from guv_app.services.engine.meta import ModelMeta
from guv_app.services.training.metrics import instance_metrics

OKABE_ITO_ORANGE = (230, 159, 0)  # Okabe & Ito (2008), first colour after black


def _two_objects():
    masks = np.zeros((10, 20), np.uint16)
    masks[1:9, 1:9] = 1  # 64 px
    masks[1:9, 11:19] = 2  # 64 px
    cmap = np.zeros((10, 20), np.int64)
    cmap[1:9, 1:4] = 2  # object 1: 24 px class 2, 40 px background -> class 2
    cmap[1:9, 11:15] = 1  # object 2: 32 px class 1, 32 px class 3 -> tie -> class 1
    cmap[1:9, 15:19] = 3
    return masks, cmap


def test_majority_rule_background_does_not_vote_and_ties_go_low():
    masks, cmap = _two_objects()
    assert classes_from_map(masks, cmap).tolist() == [0, 2, 1]
    assert classes_from_map(masks, np.zeros_like(cmap)).tolist() == [0, 0, 0]
    sparse = masks.astype(np.uint32) * 70_000_000  # ids far apart: the sparse path
    out = classes_from_map(sparse, cmap)
    assert out[70_000_000] == 2 and out[140_000_000] == 1 and out.sum() == 3
    with pytest.raises(ValueError, match="does not fit"):
        classes_from_map(masks, cmap[:5])


def test_file_path_uses_the_rule(tmp_path):
    """A MultiCellPose 0.9 file storing a per-pixel class map reads with the same rule."""
    masks, cmap = _two_objects()
    np.save(tmp_path / "img_seg.npy", {"masks": masks, "classes_map": cmap.astype(np.uint8),
                                       "class_names": ["a", "b", "c"]}, allow_pickle=True)
    seg = cellpose_io.load_seg(tmp_path / "img_seg.npy")
    assert seg.classes.tolist()[:3] == [0, 2, 1]


def test_metrics_path_uses_the_rule():
    """Class accuracy compares predicted classes with each labelled object's majority class:
    object 1 counts as class 2 (its background pixels do not vote), object 2 as class 1."""
    masks, cmap = _two_objects()
    m = instance_metrics(["x"], [masks], [masks], [cmap],
                         [np.array([0, 2, 1], np.int32)], ["background", "a", "b", "c"])
    assert m.class_accuracy == 1.0 and m.per_class_accuracy == {"a": 1.0, "b": 1.0}
    wrong = instance_metrics(["x"], [masks], [masks], [cmap],
                             [np.array([0, 0, 3], np.int32)], ["background", "a", "b", "c"])
    assert wrong.class_accuracy == 0.0


def test_class_1_has_one_default_colour_on_every_path():
    doc = LabelDocument(shape=(4, 4))
    doc.add_class("first")
    paths = {
        "palette": CLASS_PALETTE[0],
        "file without colours": normalise_class_table(["a"], None)[1][1],
        "io default": cellpose_io.label_classes.default_class_color(1),
        "trainer table from file": ClassTable.from_lists(["background", "a"], None).colors[1],
        "trainer new class": doc.class_table.colors[1],
        "model description": ModelMeta(name="m", backbone="tiny", n_classes=3).class_colors[1],
    }
    assert set(paths.values()) == {OKABE_ITO_ORANGE}, paths
    many = ModelMeta(name="m", backbone="tiny", n_classes=14).class_colors
    table = ClassTable.from_lists(["background", *[f"c{i}" for i in range(14)]], None)
    assert many == table.colors == normalise_class_table(None, None, 14)[1]
    assert len(set(many)) == 15  # all distinct, background included
