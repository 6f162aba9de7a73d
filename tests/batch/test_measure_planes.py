"""Measurements per plane: plane, time, Z and µm columns equal to hand-computed values."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
from plane_helpers import disc_movie, write_hyperstack

from cellpose_io import save_seg
from guv_app.cli.main import main
from guv_app.services.batch import Plane, PlaneSelection
from guv_app.services.measurement.folder import measure_folder
from guv_app.services.measurement.labels import find_items

DSB = Path(__file__).resolve().parents[1] / "data" / "labelled" / "dsb2018"


def rows_of(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def hyperstack(tmp_path):
    """A calibrated T3 Z2 hyperstack with training labels on every plane but (t=1, z=1)."""
    folder = tmp_path / "movie"
    folder.mkdir()
    frames, labels = disc_movie()
    image = write_hyperstack(folder / "discs.tif", frames)
    for t in range(3):
        for z in range(2):
            if (t, z) != (1, 1):
                plane = Plane(str(image), 0, t, z, size_t=3, size_z=2)
                save_seg(image, labels[t, z], out_path=plane.file_for("_seg.npy"))
    return image, labels


def test_every_labelled_plane_gives_rows_with_time_z_and_micrometres(hyperstack, tmp_path):
    image, labels = hyperstack
    items = find_items(image.parent, "seg")
    assert [(i.plane.t, i.plane.z) for i in items] == [(0, 0), (0, 1), (1, 0), (2, 0), (2, 1)]
    result = measure_folder(image.parent, tmp_path / "r.csv", ["shape"], labels="seg")
    assert [s.status for s in result.images] == ["done"] * 5
    rows = rows_of(tmp_path / "r.csv")
    assert len(rows) == 10
    assert list(rows[0])[:9] == ["image", "series", "t", "z", "time_s", "z_um", "object_id",
                                 "class_id", "class_name"]
    for row in rows:
        t, z, k = int(row["t"]), int(row["z"]), int(row["object_id"])
        mask = labels[t, z] == k
        ys, xs = np.nonzero(mask)
        assert row["image"] == "discs.tif" and row["series"] == "0"
        assert float(row["time_s"]) == 5.0 * t  # finterval 5 s
        assert float(row["z_um"]) == 2.0 * z  # spacing 2 µm
        assert int(row["area"]) == mask.sum()
        assert float(row["area_um2"]) == pytest.approx(mask.sum() * 0.25)
        assert float(row["centroid_x_um"]) == pytest.approx(xs.mean() * 0.5)
        assert float(row["centroid_y_um"]) == pytest.approx(ys.mean() * 0.5)
        assert float(row["perimeter_um"]) == pytest.approx(float(row["perimeter"]) * 0.5)
    # the disc moved 2 px = 1 µm per frame along X
    track = sorted((float(r["time_s"]), float(r["centroid_x_um"])) for r in rows
                   if r["object_id"] == "1" and r["z"] == "0")
    steps = [round(b - a, 6) for (_, a), (_, b) in zip(track, track[1:], strict=False)]
    assert steps == [1.0, 1.0]
    summary = rows_of(tmp_path / "r_summary.csv")
    assert [(r["t"], r["z"], r["time_s"]) for r in summary][:2] == [("0", "0", "0.0"),
                                                                     ("0", "1", "0.0")]


def test_selection_narrows_the_planes(hyperstack, tmp_path):
    image, _ = hyperstack
    items = find_items(image.parent, "seg", PlaneSelection.parse(t="1-2", z="0"))
    assert [(i.plane.t, i.plane.z) for i in items] == [(1, 0), (2, 0)]


def test_pixel_size_option_for_files_without_one(tmp_path, capsys):
    import tifffile

    folder = tmp_path / "plain"
    folder.mkdir()
    name = "fluorescence_573e1480b500"
    shutil.copy(DSB / "images" / f"{name}.png", folder / f"{name}.png")
    masks = tifffile.imread(DSB / "masks" / f"{name}.tif")
    save_seg(folder / f"{name}.png", masks)
    out = tmp_path / "r.csv"
    assert main(["measure", "--dir", str(folder), "--out", str(out), "--plugins", "shape",
                 "--quiet"]) == 0
    assert "area_um2" not in rows_of(out)[0]  # no calibration: pixels only
    assert main(["measure", "--dir", str(folder), "--out", str(out), "--plugins", "shape",
                 "--pixel-size", "0.3", "--quiet"]) == 0
    rows = rows_of(out)
    counts = np.bincount(masks.ravel())
    for row in rows:
        assert float(row["area_um2"]) == pytest.approx(counts[int(row["object_id"])] * 0.09)
        assert "time_s" not in row and row["t"] == "0"
    assert main(["measure", "--dir", str(folder), "--out", str(out), "--pixel-size", "x"]) == 2
    assert "--pixel-size" in capsys.readouterr().err
