"""The shared per-object grouping: ordering, large ids, medians per dtype, cache safety."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.measure import regionprops_table

from guv_app.plugins.regions import Objects, clear_cache, grouped_median
from guv_app.plugins.shape import shape_table


def test_pixels_grouped_by_id_in_raster_order():
    masks = np.array([[5, 0, 2], [2, 5, 5], [0, 2, 0]], dtype=np.uint32)
    objects = Objects.from_masks(masks)
    assert objects.ids.tolist() == [2, 5]
    assert objects.counts.tolist() == [3, 3]
    assert objects.pixels.tolist() == [2, 3, 7, 0, 4, 5]
    assert objects.rank.tolist() == [0, 0, 0, 1, 1, 1]


def test_ids_beyond_16_bits_match_regionprops():
    rng = np.random.default_rng(3)
    masks = np.zeros((60, 80), dtype=np.uint32)
    ids = [70_000, 3, 4_000_000_000, 65_536, 65_535]
    for k, object_id in enumerate(ids):
        y, x = rng.integers(0, 45), 16 * k
        masks[y:y + rng.integers(3, 15), x:x + rng.integers(3, 15)] = object_id
    masks[masks == 3] = 0
    masks[10:12, 70:75] = 3
    ours = shape_table(masks)
    assert ours["object_id"].tolist() == sorted(ids)
    # regionprops allocates per id up to the largest: compare on the ids' ranks instead
    small = np.searchsorted(np.array([0] + sorted(ids)), masks)
    ref = regionprops_table(small, properties=["label", "area", "perimeter", "centroid",
                                               "solidity"])
    np.testing.assert_array_equal(ours["area"], ref["area"])
    np.testing.assert_allclose(ours["perimeter"], ref["perimeter"])
    np.testing.assert_allclose(ours["centroid_x"], ref["centroid-1"])
    np.testing.assert_allclose(ours["solidity"], ref["solidity"])


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "uint32", "int32", "float32",
                                   "float64", "int64"])
def test_grouped_median_equals_numpy_per_dtype(dtype):
    rng = np.random.default_rng(0)
    group = rng.integers(0, 40, 2000)
    group[group == 7] = 8  # group 7 stays empty
    if np.dtype(dtype).kind == "f":
        values = (rng.standard_normal(2000) * 1000).astype(dtype)
    else:
        info = np.iinfo(dtype)
        values = rng.integers(max(info.min, -50_000), min(info.max, 50_000), 2000).astype(dtype)
    got = grouped_median(values, group, 41)
    want = [np.median(values[group == g].astype(np.float64)) if (group == g).any() else np.nan
            for g in range(41)]
    np.testing.assert_array_equal(got, want)


def test_cache_notices_in_place_edits():
    clear_cache()
    masks = np.zeros((20, 20), dtype=np.uint32)
    masks[2:6, 2:6] = 1
    assert Objects.cached(masks).counts.tolist() == [16]
    assert Objects.cached(masks) is Objects.cached(masks)
    masks[10:12, 10:12] = 2  # edited in place: same array object, new content
    assert Objects.cached(masks).counts.tolist() == [16, 4]
    assert shape_table(masks)["area"].tolist() == [16, 4]
    clear_cache()
