"""Training sets from real labelled images: class maps, skips, flows cache, regions, channels."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from ds_helpers import DSB, STEMS, read_mask, size_classes, snapshot

from guv_app.services.datasets import (
    DatasetOptions,
    build_class_map,
    build_training_set,
    merge_class_names,
)
from guv_app.services.datasets.classmap import IGNORE, auto_class_weights
from guv_app.services.datasets.regions import tile_boxes


def test_class_map_from_masks_and_classes():
    masks = read_mask(STEMS[0]).astype(np.uint32)
    classes = size_classes(masks)
    classes[3] = 0  # an object drawn but not classified
    cmap = build_class_map(masks, classes)
    assert cmap.dtype == np.int16 and cmap.shape == masks.shape
    assert np.all(cmap[masks == 0] == 0)
    assert np.all(cmap[masks == 3] == IGNORE)
    for oid in (1, 2, 5):
        assert np.all(cmap[masks == oid] == classes[oid])
    # no classes at all: objects are "unassigned", background stays background
    plain = build_class_map(masks, None)
    assert set(np.unique(plain).tolist()) == {0, IGNORE}


def test_class_lists_in_different_orders_are_merged_by_name():
    names, (a, b) = merge_class_names(
        [["background", "alive", "dead"], ["background", "dead", "alive", "mitotic"]],
        base=["background", "dead"])
    assert names == ["background", "dead", "alive", "mitotic"]
    assert a.tolist() == [0, 2, 1] and b.tolist() == [0, 1, 2, 3]
    masks = np.array([[0, 1, 2]], np.uint32)
    assert build_class_map(masks, np.array([0, 1, 2]), a).tolist() == [[0, 2, 1]]


def test_auto_class_weights_favour_rare_classes():
    w = auto_class_weights(np.array([900, 90, 10, 0]))
    assert w[2] > w[1] > w[0] and w[3] == 1.0


def test_seg_folder_gives_classes_flows_and_hashes(seg_folder):
    ts = build_training_set(seg_folder, DatasetOptions(test_ratio=0.25, seed=0))
    assert ts.class_names == ["background", "small", "large"] and ts.n_classes == 2
    assert len(ts.train) == 2 and len(ts.val) == 1
    for s in ts.train + ts.val:
        assert s.image.shape == (3, *s.masks.shape) and s.image.dtype == np.float32
        assert s.flows.shape == (2, *s.masks.shape)
        inside = s.masks > 0
        assert set(np.unique(s.class_map[inside]).tolist()) <= {1, 2}
        assert np.all(s.class_map[~inside] == 0)
        # unit flow vectors inside objects (cellpose dynamics), zero outside
        norm = np.hypot(*s.flows)
        assert np.allclose(norm[inside].mean(), 1.0, atol=0.05) and norm[~inside].max() == 0
    import hashlib

    f = ts.files[0]
    assert f.labels_sha256 == hashlib.sha256(open(f.labels, "rb").read()).hexdigest()
    assert {f.role for f in ts.files} == {"train", "val"}


def test_flows_match_upstream_and_are_cached_outside_user_folder(mask_folder):
    import torch
    from cellpose import dynamics

    from guv_app import paths

    before = snapshot(mask_folder)
    ts = build_training_set(mask_folder, DatasetOptions(test_ratio=0.0))
    cache = sorted((paths.cache_dir() / "flows").glob("*.npy"))
    assert len(cache) == len(STEMS)
    masks = ts.train[0].masks
    upstream = dynamics.labels_to_flows([masks.astype(np.int64).copy()],
                                        device=torch.device("cpu"))[0]
    np.testing.assert_allclose(ts.train[0].flows, upstream[-2:], atol=1e-6)
    stamps = [p.stat().st_mtime_ns for p in cache]
    ts2 = build_training_set(mask_folder, DatasetOptions(test_ratio=0.0))
    assert [p.stat().st_mtime_ns for p in cache] == stamps  # read, not rewritten
    np.testing.assert_array_equal(ts2.train[0].flows, ts.train[0].flows)
    assert snapshot(mask_folder) == before  # nothing written beside the user's images


def test_bad_pairs_are_skipped_with_reasons(mask_folder):
    stem_a, stem_b, stem_c = STEMS[:3]
    good = "fluorescence_ff3e512b5fb8"
    shutil.copy(DSB / "images" / f"{good}.png", mask_folder / f"{good}.png")
    shutil.copy(DSB / "masks" / f"{good}.tif", mask_folder / f"{good}_masks.tif")
    # shape mismatch: a 360x360 mask for a 256x256 image
    shutil.copy(DSB / "masks" / "fluorescence_02903040e19d.tif",
                mask_folder / f"{stem_a}_masks.tif")
    # too few objects: empty mask
    import tifffile

    tifffile.imwrite(mask_folder / f"{stem_b}_masks.tif",
                     np.zeros(read_mask(stem_b).shape, np.uint16))
    # unreadable mask
    (mask_folder / f"{stem_c}_masks.tif").write_bytes(b"not a tiff")
    ts = build_training_set(mask_folder, DatasetOptions(test_ratio=0.0, min_objects=1))
    reasons = {s.path.stem: s.reason for s in ts.skipped}
    assert "shape mismatch" in reasons[stem_a]
    assert "too few objects" in reasons[stem_b]
    assert "unreadable mask" in reasons[stem_c]
    assert len(ts.train) == 1
    for name in (stem_a, stem_b, stem_c):
        (mask_folder / f"{name}.png").unlink()
    with pytest.raises(ValueError, match="no usable training images"):
        build_training_set(mask_folder, DatasetOptions(test_ratio=0.0, min_objects=100))


def test_tiles_and_region_class(seg_folder):
    assert tile_boxes((1100, 600), 512) == [(0, 550, 0, 600), (550, 1100, 0, 600)]
    assert tile_boxes((300, 200), 512) == [(0, 300, 0, 200)]
    ts = build_training_set(seg_folder, DatasetOptions(test_ratio=0.0, tile_size=128))
    first = [s for s in ts.train if s.image_path.stem == STEMS[0]]
    assert [s.box for s in first] == [(0, 128, 0, 128), (0, 128, 128, 256),
                                      (128, 256, 0, 128), (128, 256, 128, 256)]
    # "region" class: object 1 of one image marks a region; training crops to its box
    from cellpose_io import save_seg

    image = seg_folder / f"{STEMS[0]}.png"
    masks = read_mask(STEMS[0])
    classes = size_classes(masks)
    classes[1] = 3
    save_seg(image, masks, classes, ["background", "small", "large", "Region"])
    ys, xs = np.nonzero(masks == 1)
    ts = build_training_set(seg_folder, DatasetOptions(test_ratio=0.0))
    assert ts.class_names == ["background", "small", "large"]
    reg = [s for s in ts.train if s.image_path.stem == STEMS[0]]
    assert [s.box for s in reg] == [(ys.min(), ys.max() + 1, xs.min(), xs.max() + 1)]
    assert not np.isin(reg[0].class_map, [3]).any()
    # regions given as polygons (e.g. from an ROI file): one crop per polygon's box
    poly = np.array([[10.2, 20.0], [60.0, 20.0], [60.0, 90.7], [10.2, 90.7]])
    other = seg_folder / f"{STEMS[1]}.png"
    ts = build_training_set(seg_folder, DatasetOptions(test_ratio=0.0,
                                                       regions={str(other): [poly]}))
    crops = [s for s in ts.train if s.image_path.stem == STEMS[1]]
    assert [s.box for s in crops] == [(10, 61, 20, 92)] and crops[0].image.shape[1:] == (51, 72)


def test_channel_choice_feeds_the_network_in_order(mask_folder):
    from cellpose_io import read_image

    ts = build_training_set(mask_folder, DatasetOptions(test_ratio=0.0, channels=[2]))
    s = ts.train[0]
    plane = read_image(s.image_path).plane().astype(np.float32)[2]
    lo, hi = np.percentile(plane, [1, 99])
    np.testing.assert_allclose(s.image[0], (plane - lo) / (hi - lo), atol=1e-4)
    assert not s.image[1:].any()
    with pytest.raises(ValueError, match="channel 5 does not exist"):
        build_training_set(mask_folder, DatasetOptions(test_ratio=0.0, channels=[5]))
