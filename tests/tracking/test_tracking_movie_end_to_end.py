"""A time-lapse file from measure to tracks: an ImageJ movie (frame interval 2.5 s) with one
prediction per plane, ``multicellpose measure`` then ``multicellpose track`` -- the true
identities come back and the ages are in seconds from the file's own frame interval."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import tifffile
from disc_movies import crossing_frames, frame_masks, identities

import cellpose_io
from guv_app.services.measurement.tables import read_csv


def test_measure_then_track_a_movie_file(tmp_path):
    folder = tmp_path / "movie"
    folder.mkdir()
    image = folder / "discs.tif"
    frames = crossing_frames()
    stack, truth_of = [], {}
    for t, objects in enumerate(frames):
        masks, by_label = frame_masks(objects, t)
        stack.append(np.where(masks > 0, 180, 10).astype(np.uint8))
        pred = cellpose_io.seg_path_for(image, cellpose_io.PRED_SUFFIX, t=t, z=0)
        cellpose_io.save_seg(image, masks, out_path=pred)
        truth_of.update({(t, label): true for label, true in by_label.items()})
    tifffile.imwrite(image, np.stack(stack), imagej=True,
                     metadata={"axes": "TYX", "finterval": 2.5, "unit": "um"},
                     resolution=(2.0, 2.0))  # 0.5 µm pixels
    cli = [sys.executable, "-m", "guv_app.cli.main"]
    measured = tmp_path / "measurements.csv"
    run = subprocess.run(cli + ["measure", "--dir", str(folder), "--plugins", "shape",
                                "--labels", "pred", "--out", str(measured), "--quiet"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    tracks = tmp_path / "tracks.csv"
    run = subprocess.run(cli + ["track", "--table", str(measured), "--out", str(tracks),
                                "--max-distance-um", "5", "--gap", "1", "--quiet"],
                         capture_output=True, text=True)  # 0.5 µm pixels: 5 µm = 10 px
    assert run.returncode == 0, run.stderr
    table = read_csv(tracks)
    truth = np.array([truth_of[(int(t), int(i))]
                      for t, i in zip(table["t"], table["object_id"], strict=True)])
    assert all(len(s) == 1 for s in identities(table["track_id"], truth).values())
    assert len(set(table["track_id"])) == 4
    d = truth == 4  # D appears in frame 8: ages 0, 2.5, 5, 7.5 s
    assert np.allclose(np.sort(table["track_age_s"][d]), [0, 2.5, 5, 7.5])
    assert np.allclose(table["time_s"], 2.5 * table["t"])
    no_um = subprocess.run(cli + ["track", "--table", str(tracks), "--out", str(tmp_path / "x.csv"),
                                  "--max-distance-um", "5", "--frame-column", "nope"],
                           capture_output=True, text=True)
    assert no_um.returncode == 2 and "'nope'" in no_um.stderr  # a usage error, one line
