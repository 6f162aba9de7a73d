"""Shape plugin: hand-computed values on tiny masks, scikit-image values on real masks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tifffile
from skimage.measure import regionprops_table

from guv_app.plugins.shape import ShapePlugin, shape_table

PAIRS = {
    "object_id": "label", "area": "area", "perimeter": "perimeter",
    "centroid_y": "centroid-0", "centroid_x": "centroid-1",
    "bbox_y0": "bbox-0", "bbox_x0": "bbox-1", "bbox_y1": "bbox-2", "bbox_x1": "bbox-3",
    "equivalent_diameter": "equivalent_diameter_area", "eccentricity": "eccentricity",
    "orientation": "orientation", "major_axis_length": "axis_major_length",
    "minor_axis_length": "axis_minor_length", "convex_area": "area_convex",
    "solidity": "solidity",
}


def test_square_line_and_l_shape_by_hand():
    masks = np.zeros((8, 12), dtype=np.uint32)
    masks[1:4, 1:4] = 2  # 3x3 square
    masks[6, 2:9] = 7  # horizontal line of 7 pixels
    masks[0, 8] = masks[1, 8] = masks[2, 8] = masks[2, 9] = masks[2, 10] = 9  # L of 5
    t = ShapePlugin().measure(np.zeros((1, 8, 12)), masks, np.zeros(10, np.int32), {})
    assert t["object_id"].tolist() == [2, 7, 9]
    assert t["area"].tolist() == [9, 7, 5]
    # square: each of the 8 border pixels has two border 4-neighbours (code 5 or 25) and
    # weighs 1; line: the 5 inner pixels weigh 1 (code 5), the 2 ends 0 (code 3)
    assert t["perimeter"][0] == pytest.approx(8.0)
    assert t["perimeter"][1] == pytest.approx(5.0)
    assert (t["centroid_y"][0], t["centroid_x"][0]) == (2.0, 2.0)
    assert (t["centroid_y"][2], t["centroid_x"][2]) == pytest.approx((7 / 5, 43 / 5))
    assert [t[k][1] for k in ("bbox_y0", "bbox_x0", "bbox_y1", "bbox_x1")] == [6, 2, 7, 9]
    assert t["equivalent_diameter"][0] == pytest.approx(math.sqrt(4 * 9 / math.pi))
    # line of n pixels: column variance (n^2 - 1) / 12, no row variance
    assert t["major_axis_length"][1] == pytest.approx(4 * math.sqrt((49 - 1) / 12))
    assert t["minor_axis_length"][1] == 0
    assert t["eccentricity"][1] == 1
    assert abs(t["orientation"][1]) == pytest.approx(math.pi / 2)  # major axis along x
    assert t["eccentricity"][0] == 0  # a square's inertia is isotropic
    # the L's hull (through pixel-edge midpoints) holds the 5 pixels plus the inner corner
    assert t["convex_area"].tolist() == [9, 7, 6]
    assert t["solidity"][2] == pytest.approx(5 / 6)


def test_empty_masks_give_an_empty_table_with_all_columns():
    t = shape_table(np.zeros((5, 5), np.uint32))
    assert set(PAIRS) <= set(t)
    assert all(len(v) == 0 for v in t.values())


def _compare(masks: np.ndarray) -> None:
    ours = shape_table(masks)
    ref = regionprops_table(masks, properties=[
        "label", "area", "perimeter", "centroid", "bbox", "equivalent_diameter_area",
        "eccentricity", "orientation", "axis_major_length", "axis_minor_length",
        "area_convex", "solidity"])
    assert len(ours["object_id"]) == len(ref["label"])
    for key, ref_key in PAIRS.items():
        got, want = np.asarray(ours[key], float), np.asarray(ref[ref_key], float)
        if key == "orientation":  # -pi/2 and pi/2 are the same axis
            diff = np.abs(got - want)
            got = np.where(np.abs(diff - math.pi) < 1e-9, want, got)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, err_msg=key)


def test_matches_regionprops_on_stardist_nuclei(data_dir):
    masks = tifffile.imread(data_dir / "labelled/stardist/mask2d.tif").astype(np.uint32)
    assert len(np.unique(masks)) - 1 == 125
    _compare(masks)


@pytest.mark.parametrize("name", ["fluorescence_02903040e19d", "histology_color_f7e5dcfc9c93"])
def test_matches_regionprops_on_dsb2018_masks(data_dir, name):
    masks = tifffile.imread(data_dir / f"labelled/dsb2018/masks/{name}.tif")
    _compare(masks)
