"""Leica XZ / XT / XZT line scans open as images (rows = Z or T), pixel for pixel."""

from __future__ import annotations

import numpy as np
import pytest
from lif_synth import write_lif

import cellpose_io


def ramp(shape: tuple[int, ...]) -> np.ndarray:
    return (np.arange(int(np.prod(shape))) % 251).astype(np.uint8).reshape(shape)


def test_xz_scan_rows_are_z_slices_with_the_z_step_as_pixel_height(tmp_path):
    data = ramp((2, 10, 32))  # C=2, Z=10 rows, X=32
    path = write_lif(tmp_path / "xz.lif", "XZ scan",
                     [(1, 32, 31e-6), (3, 10, 18e-6)], data)
    image = cellpose_io.read_image(path)
    assert (image.axes, image.shape) == ("CYX", (2, 10, 32))
    assert np.array_equal(image.plane(), data)
    assert image.pixel_size == pytest.approx((2.0, 1.0))  # 18 µm / 9 steps, 31 µm / 31
    assert "XZ line scan" in image.warnings[0]


def test_xt_scan_rows_are_time_points_without_a_pixel_height(tmp_path):
    data = ramp((1, 50, 16))
    path = write_lif(tmp_path / "xt.lif", "XT scan", [(1, 16, 15e-6), (4, 50, 4.9)], data)
    image = cellpose_io.read_image(path)
    assert (image.axes, image.shape) == ("YX", (50, 16))
    assert np.array_equal(image.plane()[0], data[0])
    assert image.pixel_size is None and "time points" in image.warnings[0]


def test_xzt_scan_is_a_time_series_of_xz_images(tmp_path):
    data = ramp((3, 1, 8, 24))  # T=3, C=1, Z=8, X=24
    path = write_lif(tmp_path / "xzt.lif", "XZT scan",
                     [(1, 24, 23e-6), (3, 8, 7e-6), (4, 3, 2.0)], data)
    image = cellpose_io.read_image(path)
    assert (image.axes, image.shape) == ("TYX", (3, 8, 24))
    for t in range(3):
        assert np.array_equal(image.plane(t=t), data[t])


def test_plain_xy_image_written_the_same_way_still_reads(tmp_path):
    data = ramp((2, 1, 12, 20))  # Z=2, C=1, Y=12, X=20
    path = write_lif(tmp_path / "xy.lif", "XY", [(1, 20, 19e-6), (2, 12, 11e-6),
                                                  (3, 2, 1e-6)], data)
    image = cellpose_io.read_image(path)
    assert (image.axes, image.shape) == ("ZYX", (2, 12, 20))
    assert np.array_equal(image.plane(z=1), data[1])
