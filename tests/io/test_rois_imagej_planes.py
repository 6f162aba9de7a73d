"""A RoiSet drawn on several slices: each ROI lands on the plane it was drawn on.

The ROIs are real freehand nuclei outlines (CryoNuSeg RoiSet) given the slice positions
ImageJ writes (stack ``position`` or hyperstack c/z/t positions); the expected masks of each
plane are the single-plane reading of exactly that plane's ROIs.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import roifile
import tifffile

import cellpose_io
from cellpose_io import LabelReadError
from cellpose_io.imagej_rois import read_imagej_roi_planes, read_imagej_rois

DATA = Path(__file__).resolve().parents[1] / "data"
CRYO = DATA / "annotations" / "cryonuseg_roiset" / "TCGA-DE-A4MA" / "RoiSet.zip"
SHAPE = (512, 512)


def write_roiset(path: Path, rois) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, roi in enumerate(rois):
            zf.writestr(f"{k:04d}.roi", roi.tobytes())
    path.write_bytes(buf.getvalue())
    return path


def real_rois(n: int):
    rois = roifile.ImagejRoi.fromfile(CRYO)[:n]
    for roi in rois:
        roi.position = roi.c_position = roi.z_position = roi.t_position = 0
    return rois


def test_stack_positions_put_each_roi_on_its_slice(tmp_path):
    rois = real_rois(6)
    twin = roifile.ImagejRoi.frombytes(rois[0].tobytes())  # the same outline on slice 3
    for k, roi in enumerate(rois):
        roi.position = k % 3 + 1
    twin.position = 3
    path = write_roiset(tmp_path / "RoiSet.zip", [*rois, twin])
    planes = read_imagej_roi_planes(path, SHAPE, size_z=3)
    assert sorted(planes) == [(0, 0), (0, 1), (0, 2)]
    for z in range(3):
        own = [r for k, r in enumerate(rois) if k % 3 == z] + ([twin] if z == 2 else [])
        expected = read_imagej_rois(write_roiset(tmp_path / f"z{z}.zip", own), SHAPE)
        assert np.array_equal(planes[(0, z)].masks, expected.masks)
    assert planes[(0, 2)].masks.max() == 3  # the twin is not lost to its copy on slice 1
    # the flattening reader loses the twin (same pixels as ROI 0) -- the old behaviour
    assert read_imagej_rois(path, SHAPE).masks.max() == 6


def test_hyperstack_and_plain_positions_follow_imagej_slice_order(tmp_path):
    rois = real_rois(4)
    rois[0].t_position, rois[0].z_position, rois[0].c_position = 2, 1, 1
    rois[1].t_position, rois[1].z_position, rois[1].c_position = 3, 2, 2
    # plain stack position with C=2, Z=2, T=3 (channel fastest): t=2, z=1, c=1 (0-based)
    rois[2].position = 1 + 1 + 2 * (1 + 2 * 2)
    rois[3].position = 1  # first slice
    path = write_roiset(tmp_path / "RoiSet.zip", rois)
    planes = read_imagej_roi_planes(path, SHAPE, size_t=3, size_z=2, size_c=2)
    assert sorted(planes) == [(0, 0), (1, 0), (2, 1)]
    assert planes[(2, 1)].masks.max() == 2 and planes[(1, 0)].masks.max() == 1


def test_roi_beyond_the_image_planes_is_refused_with_its_name(tmp_path):
    rois = real_rois(2)
    rois[1].t_position = 5
    path = write_roiset(tmp_path / "RoiSet.zip", rois)
    with pytest.raises(LabelReadError, match="ROI 1.*T=3"):
        read_imagej_roi_planes(path, SHAPE, size_t=3)


def test_training_regions_drawn_on_one_slice_apply_to_that_plane_only(tmp_path):
    from guv_app.services.datasets.region_sources import read_region_boxes

    image = tmp_path / "stack.tif"
    tifffile.imwrite(image, np.zeros((3, 64, 64), np.uint8), imagej=True,
                     metadata={"axes": "ZYX"})
    region = roifile.ImagejRoi.frompoints(np.array([[4, 6], [20, 6], [20, 30], [4, 30]]))
    region.position = 2
    path = write_roiset(tmp_path / "stack_regions.zip", [region])
    assert read_region_boxes(path, (64, 64), image, t=0, z=0) == []
    (box,) = read_region_boxes(path, (64, 64), image, t=0, z=1)
    assert box == (6, 30, 4, 20)


def test_import_writes_one_label_file_per_plane_the_trainer_and_training_use(tmp_path):
    from guv_app.services.annotation.roi_import import RoiImportError, import_roiset
    from guv_app.services.datasets.discovery import find_labelled_images

    image = tmp_path / "movie.tif"
    tifffile.imwrite(image, np.zeros((3, 512, 512), np.uint8), imagej=True,
                     metadata={"axes": "TYX"})
    rois = real_rois(5)
    for k, roi in enumerate(rois):
        roi.t_position = 1 if k < 3 else 3
    path = write_roiset(tmp_path / "RoiSet.zip", rois)
    result = import_roiset(image, path)
    assert [p.name for p in result.written] == ["movie_t0_z0_seg.npy", "movie_t2_z0_seg.npy"]
    assert result.objects == [3, 2]
    expected = read_imagej_roi_planes(path, SHAPE, size_t=3)
    for (plane, seg), written in zip(expected.items(), result.written, strict=True):
        assert np.array_equal(cellpose_io.load_seg(written).masks, seg.masks), plane
    pairs = find_labelled_images(tmp_path).pairs
    assert [(p.t, p.z) for p in pairs] == [(0, 0), (2, 0)]
    before = result.written[0].read_bytes()
    with pytest.raises(RoiImportError, match="movie_t0_z0_seg.npy"):
        import_roiset(image, path)  # never replaces labels that exist
    assert result.written[0].read_bytes() == before
