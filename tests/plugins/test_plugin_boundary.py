"""Boundary-ring plugin: hand-computed rings on a square, per-object reference on real masks."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from scipy import ndimage as ndi

from guv_app.plugins.boundary import BoundaryPlugin, boundary_table

CROSS = ndi.generate_binary_structure(2, 1)


@pytest.fixture
def square():
    masks = np.zeros((9, 9), dtype=np.uint32)
    masks[2:7, 2:7] = 3
    ch0 = np.ones((9, 9), dtype=np.uint16)
    ch0[2:7, 2:7] = 100  # bright membrane...
    ch0[3:6, 3:6] = 10  # ...around a dim lumen
    return ch0[np.newaxis], masks


def test_inner_rings_by_hand(square):
    channels, masks = square
    t = BoundaryPlugin().measure(channels, masks, np.zeros(4, np.int32),
                                 {"width": 1, "side": "inner"})
    assert t["object_id"].tolist() == [3]
    assert t["boundary_area"].tolist() == [16]
    assert t["ch0_boundary_mean"].tolist() == [100.0]
    assert t["ch0_boundary_integrated"].tolist() == [1600.0]
    assert t["ch0_interior_mean"].tolist() == [10.0]
    assert t["ch0_boundary_ratio"].tolist() == [10.0]
    t = boundary_table(channels, masks, width=2, side="inner")
    assert t["boundary_area"].tolist() == [24]  # all but the centre pixel
    assert t["ch0_boundary_mean"].tolist() == [(16 * 100 + 8 * 10) / 24]
    assert t["ch0_interior_mean"].tolist() == [10.0]


def test_outer_and_both_rings_by_hand(square):
    channels, masks = square
    t = boundary_table(channels, masks, width=1, side="outer")
    assert t["boundary_area"].tolist() == [20]  # edge neighbours; corners are 1.4 px away
    assert t["ch0_boundary_mean"].tolist() == [1.0]
    assert t["ch0_interior_mean"].tolist() == [(16 * 100 + 9 * 10) / 25]  # whole object
    t = boundary_table(channels, masks, width=1, side="both")
    assert t["boundary_area"].tolist() == [36]
    assert t["ch0_boundary_mean"].tolist() == [(1600 + 20) / 36]
    assert t["ch0_boundary_ratio"].tolist() == [(1620 / 36) / 10]


def test_ring_covering_the_whole_object_gives_nan_interior():
    masks = np.zeros((5, 5), np.uint32)
    masks[1:3, 1:3] = 1
    t = boundary_table(np.ones((1, 5, 5)), masks, width=1)
    assert t["boundary_area"].tolist() == [4]
    assert np.isnan(t["ch0_interior_mean"]).all() and np.isnan(t["ch0_boundary_ratio"]).all()


def test_inner_and_outer_width_1_match_per_object_morphology(data_dir):
    image = tifffile.imread(data_dir / "labelled/stardist/img2d.tif").astype(np.float64)
    masks = tifffile.imread(data_dir / "labelled/stardist/mask2d.tif").astype(np.uint32)
    inner = boundary_table(image[np.newaxis], masks, width=1, side="inner")
    outer = boundary_table(image[np.newaxis], masks, width=1, side="outer")
    # a background pixel 4-adjacent to several objects goes to one of them (a tie)
    padded = np.pad(masks, 1)
    around = np.stack([padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:]])
    tie = (masks == 0) & ((around > 0) & (around != around.max(axis=0))).any(axis=0)
    compared = 0
    boxes = ndi.find_objects(masks)
    for k, i in enumerate(inner["object_id"]):
        # one pixel of room for the ring; at the image edge, erosion's zero border stands in
        # for "off-image counts as outside"
        box = tuple(slice(max(b.start - 1, 0), b.stop + 1) for b in boxes[i - 1])
        obj, crop = masks[box] == i, image[box]
        edge = obj & ~ndi.binary_erosion(obj, CROSS, border_value=0)
        assert inner["boundary_area"][k] == edge.sum()
        assert inner["ch0_boundary_mean"][k] == pytest.approx(crop[edge].mean())
        if edge.sum() < obj.sum():
            assert inner["ch0_interior_mean"][k] == pytest.approx(crop[obj & ~edge].mean())
        ring = ndi.binary_dilation(obj, CROSS) & (masks[box] == 0)
        if not tie[box][ring].any():
            compared += 1
            assert outer["boundary_area"][k] == ring.sum()
            assert outer["ch0_boundary_mean"][k] == pytest.approx(crop[ring].mean())
    assert compared > 60

