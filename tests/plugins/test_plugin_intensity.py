"""Intensity plugin: hand-computed statistics and backgrounds, scikit-image on real images."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from scipy import ndimage as ndi
from skimage.io import imread
from skimage.measure import regionprops_table

from guv_app.plugins.intensity import IntensityPlugin, intensity_table
from guv_app.plugins.regions import Objects, outer_ring

RING1 = [(0, 1), (0, 2), (3, 1), (3, 2), (1, 0), (2, 0), (1, 3), (2, 3)]  # around object 1
RING4 = [(1, 6), (4, 6), (2, 5), (3, 5), (2, 7), (3, 7)]  # around object 4


@pytest.fixture
def tiny():
    masks = np.zeros((7, 9), dtype=np.uint32)
    masks[1:3, 1:3] = 1
    masks[2:4, 6] = 4
    ch0 = np.full((7, 9), 3, dtype=np.uint16)
    ch0[1:3, 1:3] = [[10, 20], [30, 50]]
    ch0[2:4, 6] = [7, 9]
    for value, pixel in enumerate(RING1, start=1):
        ch0[pixel] = value  # 1..8
    for value, pixel in enumerate(RING4, start=20):
        ch0[pixel] = value  # 20..25
    return np.stack([ch0, np.ones_like(ch0)]), masks, ch0


def test_statistics_by_hand(tiny):
    channels, masks, _ = tiny
    t = intensity_table(channels, masks, background="none")
    assert t["object_id"].tolist() == [1, 4]
    assert t["ch0_mean"].tolist() == [27.5, 8.0]
    assert t["ch0_median"].tolist() == [25.0, 8.0]
    assert t["ch0_min"].tolist() == [10, 7] and t["ch0_max"].tolist() == [50, 9]
    assert t["ch0_std"] == pytest.approx([np.std([10, 20, 30, 50]), 1.0])
    assert t["ch0_integrated"].tolist() == [110, 16]
    assert t["ch1_mean"].tolist() == [1.0, 1.0]
    assert "ch0_background" not in t


def test_image_background_is_the_median_of_all_background_pixels(tiny):
    channels, masks, ch0 = tiny
    t = IntensityPlugin().measure(channels, masks, np.zeros(5, np.int32),
                                  {"background": "image", "ring_width": 5})
    level = float(np.median(ch0[masks == 0]))
    assert level == 3.0
    assert t["ch0_background"].tolist() == [level, level]
    assert t["ch0_mean_corrected"].tolist() == [27.5 - 3, 8 - 3]
    assert t["ch0_integrated_corrected"].tolist() == [110 - 4 * 3, 16 - 2 * 3]


def test_ring_background_by_hand(tiny):
    channels, masks, _ = tiny
    # width 1: exactly the background pixels sharing an edge with the object
    t = intensity_table(channels, masks, background="ring", ring_width=1)
    assert t["ch0_background"].tolist() == [4.5, 22.5]  # medians of 1..8 and 20..25
    assert t["ch0_mean_corrected"].tolist() == [27.5 - 4.5, 8 - 22.5]
    assert t["ch1_background"].tolist() == [1.0, 1.0]
    # width 2 adds the diagonal (1.4 px) and 2-px-away pixels, all 3 here
    t = intensity_table(channels, masks, background="ring", ring_width=2)
    assert t["ch0_background"].tolist() == [3.0, 3.0]


def test_object_without_background_around_gets_nan():
    masks = np.array([[1, 1, 2], [1, 1, 2]], dtype=np.uint32)
    channels = np.arange(6, dtype=np.uint8).reshape(1, 2, 3)
    t = intensity_table(channels, masks, background="ring", ring_width=3)
    assert np.isnan(t["ch0_background"]).all()
    t = intensity_table(channels, masks, background="image")
    assert np.isnan(t["ch0_background"]).all()


def _compare_with_skimage(channels: np.ndarray, masks: np.ndarray) -> None:
    ours = intensity_table(channels, masks, background="none")
    ref = regionprops_table(masks, intensity_image=np.moveaxis(channels, 0, -1),
                            properties=["label", "intensity_mean", "intensity_min",
                                        "intensity_max", "intensity_std"])
    np.testing.assert_array_equal(ours["object_id"], ref["label"])
    for c in range(channels.shape[0]):
        for stat in ("mean", "min", "max", "std"):
            want = ref[f"intensity_{stat}-{c}"]
            np.testing.assert_allclose(ours[f"ch{c}_{stat}"], want, rtol=1e-9, err_msg=stat)
        medians = [np.median(channels[c][masks == i]) for i in ours["object_id"]]
        np.testing.assert_array_equal(ours[f"ch{c}_median"], medians)
        sums = [channels[c][masks == i].sum(dtype=np.float64) for i in ours["object_id"]]
        np.testing.assert_array_equal(ours[f"ch{c}_integrated"], sums)


def test_matches_skimage_on_stardist_image(data_dir):
    image = tifffile.imread(data_dir / "labelled/stardist/img2d.tif")
    masks = tifffile.imread(data_dir / "labelled/stardist/mask2d.tif")
    _compare_with_skimage(image[np.newaxis], masks)


def test_matches_skimage_on_dsb2018_rgb_image(data_dir):
    name = "histology_color_4cbd6c37f3a5"
    rgba = imread(data_dir / f"labelled/dsb2018/images/{name}.png")
    masks = tifffile.imread(data_dir / f"labelled/dsb2018/masks/{name}.tif")
    _compare_with_skimage(np.moveaxis(rgba[..., :3], -1, 0), masks)


@pytest.mark.parametrize("width", [1, 3, 5])
def test_ring_matches_exact_euclidean_rings_on_real_masks(data_dir, width):
    image = tifffile.imread(data_dir / "labelled/stardist/img2d.tif")
    masks = tifffile.imread(data_dir / "labelled/stardist/mask2d.tif").astype(np.uint32)
    objects = Objects.from_masks(masks)
    pixels, owner = outer_ring(masks, objects, width)
    distance, nearest = ndi.distance_transform_edt(masks == 0, return_indices=True)
    exact = np.flatnonzero((masks.ravel() == 0) & (distance.ravel() <= width))
    np.testing.assert_array_equal(np.sort(pixels), exact)  # same pixels up to width 5
    nearest_id = masks[nearest[0], nearest[1]].ravel()[pixels]
    assert (objects.ids[owner] == nearest_id).mean() > 0.99  # only ties may differ
    t = intensity_table(image[np.newaxis], masks, background="ring", ring_width=width)
    flat = image.ravel()
    want = [np.median(flat[pixels[owner == k]]) if (owner == k).any() else np.nan
            for k in range(objects.n)]
    np.testing.assert_array_equal(t["ch0_background"], want)
    np.testing.assert_allclose(t["ch0_mean_corrected"], t["ch0_mean"] - np.asarray(want))
