"""Label images (tif/png): round trips, uint32 ids, and refusals with clear messages."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image as PILImage

from cellpose_io import LabelReadError
from cellpose_io.label_images import read_label_image, write_label_image

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize("ext", [".tif", ".png"])
def test_real_mask_round_trip(tmp_path, ext):
    masks = tifffile.imread(DATA / "labelled" / "stardist" / "mask2d.tif")
    out = write_label_image(tmp_path / f"m{ext}", masks)
    back = read_label_image(out)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, masks)


def test_reads_dsb2018_masks():
    for path in sorted((DATA / "labelled" / "dsb2018" / "masks").glob("*.tif")):
        labels = read_label_image(path)
        assert labels.ndim == 2 and labels.max() > 0


@pytest.mark.parametrize("top", [65535, 65536, 70000, 2**32 - 1])
def test_tif_holds_ids_up_to_uint32(tmp_path, top):
    masks = np.zeros((5, 5), np.uint64)
    masks[1:3, 1:3] = top
    masks[3, 3] = 1
    back = read_label_image(write_label_image(tmp_path / "big.tif", masks))
    assert back.dtype == (np.uint16 if top <= 65535 else np.uint32)
    assert int(back.max()) == top and int(back[3, 3]) == 1


def test_png_refuses_ids_it_cannot_hold(tmp_path):
    masks = np.zeros((4, 4), np.uint32)
    masks[0, 0] = 70000
    with pytest.raises(ValueError, match=r"16-bit PNG.*\.tif"):
        write_label_image(tmp_path / "big.png", masks)
    assert not (tmp_path / "big.png").exists()


def test_saved_with_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        out = write_label_image(tmp_path / "p.tif", np.ones((3, 3), np.uint16))
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_crash_mid_write_keeps_previous_file(tmp_path, monkeypatch):
    path = write_label_image(tmp_path / "keep.tif", np.ones((4, 4), np.uint16))
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        write_label_image(path, np.full((4, 4), 2, np.uint16))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.tif"]


def test_float_labels_with_whole_numbers_are_accepted(tmp_path):
    tifffile.imwrite(tmp_path / "f.tif", np.array([[0, 1], [2, 70000]], np.float32))
    back = read_label_image(tmp_path / "f.tif")
    assert back.dtype == np.uint32 and back.tolist() == [[0, 1], [2, 70000]]


def test_grey_stored_as_rgb_png_is_accepted(tmp_path):
    grey = np.array([[0, 3], [5, 7]], np.uint8)
    PILImage.fromarray(np.stack([grey] * 3, -1)).save(tmp_path / "g.png")
    np.testing.assert_array_equal(read_label_image(tmp_path / "g.png"), grey)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: PILImage.fromarray(np.random.default_rng(0).integers(0, 255, (4, 4, 3), np.uint8)).save(p / "x.png"), "colour"),
        (lambda p: tifffile.imwrite(p / "x.tif", np.array([[0.5, 1.0]], np.float32)), "fractional"),
        (lambda p: tifffile.imwrite(p / "x.tif", np.array([[-1, 1]], np.int16)), "negative"),
        (lambda p: tifffile.imwrite(p / "x.tif", np.ones((3, 4, 4), np.uint16)), "single 2-D plane"),
        (lambda p: (p / "x.tif").write_bytes(b"II*\x00garbage"), "cannot decode"),
        (lambda p: (p / "x.png").write_bytes(b""), "cannot decode"),
        (lambda p: (p / "x.jpg").write_bytes(b"\xff\xd8"), "unsupported label image type"),
    ],
)
def test_bad_label_images(tmp_path, make, message):
    make(tmp_path)
    path = next(tmp_path.iterdir())
    with pytest.raises(LabelReadError, match=message) as info:
        read_label_image(path)
    assert info.value.path == str(path)


def test_missing_label_image(tmp_path):
    with pytest.raises(LabelReadError, match="file not found"):
        read_label_image(tmp_path / "nope.tif")
