"""ImageJ ROIs: real .roi files against reference coordinates, RoiSet.zip, and round trips."""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tifffile

from cellpose_io import LabelReadError
from cellpose_io.imagej_rois import read_imagej_rois, write_imagej_rois
from cellpose_io.rasterize import fill_polygon, mask_to_polygons

DATA = Path(__file__).resolve().parents[1] / "data"
ROIS = DATA / "annotations" / "imagej_roi"
CRYO = DATA / "annotations" / "cryonuseg_roiset" / "TCGA-DE-A4MA" / "RoiSet.zip"
SHAPE = (256, 256)


def _expected(name: str) -> dict:
    return json.loads((ROIS / f"{name}.expected.json").read_text())[name]


def _shoelace(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def test_pixel_centre_convention_on_a_tiny_square():
    # Square with corners on pixel corners (1,1)-(3,3): exactly pixels rows/cols 1..2.
    square = np.array([[1, 1], [3, 1], [3, 3], [1, 3]], float)
    expected = np.zeros((5, 5), bool)
    expected[1:3, 1:3] = True
    np.testing.assert_array_equal(fill_polygon(square, (5, 5)), expected)
    # Shrunk by 0.4: only pixel (1, 1) still has its centre (1.5, 1.5) inside.
    inner = np.array([[1.4, 1.4], [2.4, 1.4], [2.4, 2.4], [1.4, 2.4]])
    assert np.argwhere(fill_polygon(inner, (5, 5))).tolist() == [[1, 1]]
    # Corners on pixel centres (x+0.5): centres on the left/top edge count, right/bottom not.
    centred = np.array([[0.5, 0.5], [2.5, 0.5], [2.5, 2.5], [0.5, 2.5]])
    assert np.argwhere(fill_polygon(centred, (5, 5))).tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]


def test_rectangle_matches_reference_box():
    ref = _expected("rectangle")
    seg = read_imagej_rois(ROIS / "rectangle.roi", SHAPE)
    rows, cols = np.nonzero(seg.masks == 1)
    assert (rows.min(), cols.min()) == (ref["top"], ref["left"])
    assert (rows.max() + 1 - rows.min(), cols.max() + 1 - cols.min()) == (ref["height"], ref["width"])
    assert len(rows) == ref["width"] * ref["height"]


@pytest.mark.parametrize("name", ["polygon", "freehand"])
def test_polygons_match_reference_coordinates(name):
    ref = _expected(name)
    seg = read_imagej_rois(ROIS / f"{name}.roi", SHAPE)
    ring = np.stack([ref["x"], ref["y"]], axis=1).astype(float)
    np.testing.assert_array_equal(seg.masks == 1, fill_polygon(ring, SHAPE))
    # Pixel count is the polygon area up to boundary pixels (half the perimeter at most).
    area = _shoelace(ref["x"], ref["y"])
    perimeter = np.sum(np.hypot(*np.diff(np.vstack([ring, ring[:1]]), axis=0).T))
    assert abs(int((seg.masks == 1).sum()) - area) <= perimeter / 2
    assert seg.masks.max() == 1 and seg.ismanual.tolist() == [True]


def test_oval_matches_reference_ellipse():
    ref = _expected("oval")
    seg = read_imagej_rois(ROIS / "oval.roi", SHAPE)
    rows, cols = np.nonzero(seg.masks)
    assert rows.min() == ref["top"] and rows.max() == ref["top"] + ref["height"] - 1
    assert cols.min() == ref["left"] and cols.max() == ref["left"] + ref["width"] - 1
    area = math.pi * ref["width"] * ref["height"] / 4
    assert abs(len(rows) - area) / area < 0.02


def test_ellipse_roi_area_matches_axes():
    ref = _expected("ellipse")
    seg = read_imagej_rois(ROIS / "ellipse.roi", SHAPE)
    major = math.hypot(ref["ex2"] - ref["ex1"], ref["ey2"] - ref["ey1"])
    area = math.pi / 4 * major * major * ref["aspect_ratio"]
    assert abs(int(seg.masks.sum()) - area) <= 0.25 * area  # ~25 px: boundary dominates


def test_composite_fills_both_paths():
    ref = _expected("composite-two-ovals")
    seg = read_imagej_rois(ROIS / "composite-two-ovals.roi", SHAPE)
    rings = [np.asarray(p, float) for p in ref["paths"]]
    np.testing.assert_array_equal(seg.masks == 1, fill_polygon(rings, SHAPE))
    assert seg.masks.max() == 1
    for ring in rings:  # both ovals have pixels in the one object
        assert (seg.masks[fill_polygon(ring, SHAPE)] == 1).mean() > 0.9


@pytest.mark.parametrize("name", ["multipoint", "polyline"])
def test_rois_without_area_are_reported(name):
    with pytest.raises(LabelReadError, match="no area ROIs") as info:
        read_imagej_rois(ROIS / f"{name}.roi", SHAPE)
    assert info.value.path.endswith(f"{name}.roi")


def test_cryonuseg_roiset_has_59_nuclei():
    seg = read_imagej_rois(CRYO, (512, 512))
    assert seg.masks.shape == (512, 512) and seg.masks.max() == 59
    assert len(np.unique(seg.masks)) == 60
    sizes = np.bincount(seg.masks.ravel())[1:]
    assert sizes.min() > 10  # every nucleus kept real pixels despite overlaps


def test_bad_files(tmp_path):
    with pytest.raises(LabelReadError, match="file not found"):
        read_imagej_rois(tmp_path / "missing.zip", SHAPE)
    junk = tmp_path / "junk.roi"
    junk.write_bytes(b"not an roi at all")
    with pytest.raises(LabelReadError, match="not a readable ImageJ ROI"):
        read_imagej_rois(junk, SHAPE)
    cut = tmp_path / "cut.zip"
    cut.write_bytes(CRYO.read_bytes()[:300])
    with pytest.raises(LabelReadError):
        read_imagej_rois(cut, SHAPE)


def _iou_per_object(a: np.ndarray, b: np.ndarray) -> dict[int, float]:
    out = {}
    for obj in np.unique(a)[1:]:
        mine = a == obj
        ids, counts = np.unique(b[mine], return_counts=True)
        best = ids[np.argmax(counts)]
        other = b == best
        out[int(obj)] = (mine & other).sum() / (mine | other).sum() if best else 0.0
    return out


def _dsb_mask() -> np.ndarray:
    return tifffile.imread(sorted((DATA / "labelled" / "dsb2018" / "masks").glob("*.tif"))[0])


@pytest.mark.parametrize("source", ["stardist", "dsb2018"])
def test_masks_to_roiset_to_masks_keeps_every_object(tmp_path, source):
    masks = (
        tifffile.imread(DATA / "labelled" / "stardist" / "mask2d.tif")
        if source == "stardist"
        else _dsb_mask()
    )
    ids = np.unique(masks)[1:]
    classes = np.zeros(int(masks.max()) + 1, np.int32)
    classes[ids] = 1 + ids % 2
    out = write_imagej_rois(tmp_path / "RoiSet.zip", masks, classes, [(0, 0, 0), "#ff0000", "#00ff00"])
    with zipfile.ZipFile(out) as zf:
        assert len(zf.namelist()) == len(ids)
    seg = read_imagej_rois(out, masks.shape)
    assert seg.masks.max() == len(ids)
    ious = _iou_per_object(masks, seg.masks)
    # Outlines follow pixel edges, so the round trip is exact (tolerance would be one
    # boundary pixel ring; we allow none here because none is needed).
    assert min(ious.values()) == 1.0
    relabel = np.zeros(int(masks.max()) + 1, np.uint32)
    relabel[ids] = np.arange(1, len(ids) + 1)
    np.testing.assert_array_equal(seg.masks, relabel[masks])
    np.testing.assert_array_equal(seg.classes[1:], classes[ids])
    assert seg.class_colors[1:] == [(255, 0, 0), (0, 255, 0)]


def test_objects_with_holes_and_parts_become_composite_rois(tmp_path):
    masks = np.zeros((30, 30), np.uint16)
    masks[2:12, 2:12] = 3
    masks[5:8, 5:8] = 0  # hole
    masks[20:25, 20:25] = 3  # second part of the same object
    masks[12:14, 12:14] = 9  # touches object 3 diagonally
    out = write_imagej_rois(tmp_path / "h.zip", masks)
    import roifile

    rois = roifile.ImagejRoi.fromfile(out)
    assert [r.composite for r in rois] == [True, False]
    seg = read_imagej_rois(out, masks.shape)
    np.testing.assert_array_equal(seg.masks == 1, masks == 3)
    np.testing.assert_array_equal(seg.masks == 2, masks == 9)


def test_huge_ids_export(tmp_path):
    masks = np.zeros((8, 8), np.uint32)
    masks[1:3, 1:3] = 70000
    masks[4:7, 4:7] = 2**32 - 1
    out = write_imagej_rois(tmp_path / "big.zip", masks)
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["0000070000.roi", "4294967295.roi"]  # zero-padded ids
    seg = read_imagej_rois(out, masks.shape)
    assert sorted(np.bincount(seg.masks.ravel())[1:].tolist()) == [4, 9]


def test_single_roi_file_only_for_one_object(tmp_path):
    masks = np.zeros((10, 10), np.uint16)
    masks[1:4, 1:4] = 1
    out = write_imagej_rois(tmp_path / "one.roi", masks)
    np.testing.assert_array_equal(read_imagej_rois(out, masks.shape).masks, masks)
    masks[6:8, 6:8] = 2
    with pytest.raises(ValueError, match="use a .zip"):
        write_imagej_rois(tmp_path / "two.roi", masks)


def test_random_masks_round_trip_exactly():
    rng = np.random.default_rng(3)
    for _ in range(50):
        blob = rng.random((9, 11)) > 0.45
        back = np.zeros_like(blob)
        for poly in mask_to_polygons(blob):
            back |= fill_polygon(poly.rings(), blob.shape)
        np.testing.assert_array_equal(back, blob)
