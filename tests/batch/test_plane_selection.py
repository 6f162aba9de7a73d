"""Plane selections (--series/--t/--z and the Analyzer) and per-plane file naming."""

from __future__ import annotations

import pytest

from cellpose_io import seg_path_for
from guv_app.services.batch import Plane, SelectionError, parse_selection


@pytest.mark.parametrize(("text", "size", "expected"), [
    ("", 5, [0, 1, 2, 3, 4]),
    ("all", 3, [0, 1, 2]),
    ("0", 5, [0]),
    ("0-3", 10, [0, 1, 2, 3]),
    ("0-99", 4, [0, 1, 2, 3]),  # past the end: what exists
    ("::10", 35, [0, 10, 20, 30]),
    ("5::10", 30, [5, 15, 25]),
    ("1,3,5", 4, [1, 3]),
    ("8,0-2, 20:30:5", 40, [0, 1, 2, 8, 20, 25]),
    ("7", 5, []),
])
def test_selection_indices(text, size, expected):
    assert parse_selection(text).indices(size) == expected


@pytest.mark.parametrize("text", ["a", "1-", "3-1", "::0", "1,,2", "-2", "1:2:3:4"])
def test_bad_selection_is_one_clear_line(text):
    with pytest.raises(SelectionError) as info:
        parse_selection(text, "t")
    message = str(info.value)
    assert message.startswith("t selection") and repr(text.strip()) in message
    assert "\n" not in message


def test_plane_file_names(tmp_path):
    image = tmp_path / "movie.ome.tif"
    single = Plane(str(image))
    assert single.file_for("_seg.npy") == tmp_path / "movie.ome_seg.npy"  # Cellpose's name
    frame = Plane(str(image), 0, 3, 0, size_t=10)
    assert frame.file_for("_pred_seg.npy").name == "movie.ome_t3_z0_pred_seg.npy"
    assert frame.file_for("_pred_seg.npy", tmp_path / "out") == \
        tmp_path / "out" / "movie.ome_t3_z0_pred_seg.npy"
    other = Plane(str(image), 2, 0, 5, size_z=6)
    assert other.file_for("_seg.npy").name == "movie.ome_s2_t0_z5_seg.npy"
    assert seg_path_for(image, "_seg.npy", 2, t=0, z=5) == other.file_for("_seg.npy")
    assert Plane(str(image), 1).file_for("_seg.npy").name == "movie.ome_s1_seg.npy"
    assert frame.label == "movie.ome.tif s0 t3 z0" and single.label == "movie.ome.tif"
