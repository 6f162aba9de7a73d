"""Neighbours plugin: touching objects and nearest distances, by hand and by brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tifffile
from scipy import ndimage as ndi
from skimage.measure import regionprops_table

from guv_app.plugins.neighbours import NeighboursPlugin, neighbours_table


@pytest.fixture
def masks():
    return np.array([
        [1, 1, 0, 0, 0, 0, 0, 0],
        [1, 1, 2, 2, 0, 0, 0, 0],
        [0, 0, 2, 2, 0, 0, 0, 0],
        [0, 0, 0, 0, 3, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 5],
    ], dtype=np.uint32)


def test_touching_by_hand(masks):
    plugin = NeighboursPlugin()
    params = plugin.resolve_params({})
    assert params == {"connectivity": 8}
    t = plugin.measure(np.zeros((1, 6, 8)), masks, np.zeros(6, np.int32), params)
    assert t["object_id"].tolist() == [1, 2, 3, 5]
    assert t["n_touching"].tolist() == [1, 2, 1, 0]  # 2 and 3 meet at a corner
    assert t["touching_ids"].tolist() == ["2", "1;3", "2", ""]
    t4 = neighbours_table(masks, connectivity=4)
    assert t4["n_touching"].tolist() == [1, 1, 0, 0]
    assert t4["touching_ids"].tolist() == ["2", "1", "", ""]


def test_nearest_centroid_by_hand(masks):
    t = neighbours_table(masks)
    # centroids: 1 (0.5, 0.5), 2 (1.5, 2.5), 3 (3, 4), 5 (5, 7)
    assert t["nearest_id"].tolist() == [2, 3, 2, 3]
    assert t["nearest_distance"] == pytest.approx(
        [math.hypot(1, 2), math.hypot(1.5, 1.5), math.hypot(1.5, 1.5), math.hypot(2, 3)])


def test_single_object_has_no_nearest():
    t = neighbours_table(np.array([[0, 4], [4, 4]], np.uint32))
    assert t["nearest_id"].tolist() == [0] and np.isnan(t["nearest_distance"]).all()
    assert t["n_touching"].tolist() == [0]


@pytest.mark.parametrize("connectivity", [4, 8])
def test_matches_brute_force_on_real_masks(data_dir, connectivity):
    masks = tifffile.imread(data_dir / "labelled/dsb2018/masks/fluorescence_00071198d059.tif")
    t = neighbours_table(masks.astype(np.uint32), connectivity)
    structure = ndi.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    for k, i in enumerate(t["object_id"]):
        grown = ndi.binary_dilation(masks == i, structure)
        want = sorted(set(np.unique(masks[grown]).tolist()) - {0, int(i)})
        got = [int(v) for v in t["touching_ids"][k].split(";") if v]
        assert got == want
    assert t["n_touching"].sum() > 0  # the image does have touching nuclei
    ref = regionprops_table(masks, properties=["label", "centroid"])
    c = np.stack([ref["centroid-0"], ref["centroid-1"]], axis=1)
    dist = np.linalg.norm(c[:, None] - c[None], axis=2)
    np.fill_diagonal(dist, np.inf)
    np.testing.assert_allclose(t["nearest_distance"], dist.min(axis=1))
    np.testing.assert_array_equal(t["nearest_id"], ref["label"][dist.argmin(axis=1)])
