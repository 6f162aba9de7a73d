"""``multicellpose track`` on a CSV written like ``measure`` writes it: identities recovered."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from disc_movies import crossing_movie, identities

from guv_app.cli.main import main
from guv_app.services.measurement.tables import read_csv, write_csv


def test_track_command_writes_tracked_and_wide_tables(tmp_path):
    table, truth = crossing_movie()
    source = tmp_path / "measurements.csv"
    write_csv(source, [table])
    out, wide = tmp_path / "tracks.csv", tmp_path / "wide.csv"
    run = subprocess.run(
        [sys.executable, "-m", "guv_app.cli.main", "track", "--table", str(source),
         "--out", str(out), "--wide", str(wide), "--max-distance", "10", "--gap", "1",
         "--quiet"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "4 tracks in 1 movie(s)" in run.stdout
    tracked = read_csv(out)
    assert np.array_equal(tracked["object_id"], table["object_id"])  # rows kept in order
    assert all(len(s) == 1 for s in identities(tracked["track_id"], truth).values())
    assert list(tracked["track_status"]).count("gap-closed") == 1
    columns = read_csv(wide)
    assert list(columns)[:2] == ["t", "time_s"] and len(columns) == 2 + 4


def test_track_command_refuses_bad_input_with_one_line(tmp_path, capsys):
    table, _ = crossing_movie()
    source = tmp_path / "m.csv"
    write_csv(source, [{k: v for k, v in table.items() if k != "t"}])
    assert main(["track", "--table", str(source), "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("multicellpose track: error: --table") and "'t'" in err
    assert not (tmp_path / "o.csv").exists()
    assert main(["track", "--table", str(source), "--out", str(source)]) == 2
    assert "overwrite the input" in capsys.readouterr().err
    assert main(["track", "--table", str(source), "--out", str(tmp_path / "o.csv"),
                 "--max-distance", "0"]) == 2
    assert main(["track", "--table", str(tmp_path / "none.csv"), "--out", "x.csv"]) == 2


def test_max_distance_in_micrometres_uses_the_calibrated_centroids(tmp_path):
    table, truth = crossing_movie()
    table["centroid_y_um"] = table["centroid_y"] * 0.5  # 0.5 µm pixels
    table["centroid_x_um"] = table["centroid_x"] * 0.5
    source, out = tmp_path / "m.csv", tmp_path / "t.csv"
    write_csv(source, [table])
    assert main(["track", "--table", str(source), "--out", str(out), "--quiet",
                 "--max-distance-um", "5", "--gap", "1"]) == 0  # 5 µm = 10 px
    tracked = read_csv(out)
    assert all(len(s) == 1 for s in identities(tracked["track_id"], truth).values())
    assert main(["track", "--table", str(source), "--out", str(out), "--quiet",
                 "--max-distance-um", "2.9"]) == 0  # below the 3 µm steps of A and B
    assert len(identities(read_csv(out)["track_id"], truth)[1]) == 12
    del table["centroid_x_um"]
    write_csv(source, [table])
    assert main(["track", "--table", str(source), "--out", str(out),
                 "--max-distance-um", "5"]) == 2


def test_one_file_per_frame_is_tracked_in_natural_name_order(tmp_path):
    table, truth = crossing_movie()
    t = table.pop("t")
    table["image"] = np.array([f"frame_{k}.tif" for k in t], dtype=object)  # 10 after 9
    source, out = tmp_path / "m.csv", tmp_path / "t.csv"
    write_csv(source, [table])
    assert main(["track", "--table", str(source), "--out", str(out)]) == 2  # no t column
    assert main(["track", "--table", str(source), "--out", str(out), "--quiet",
                 "--frames-from-images", "--max-distance", "10", "--gap", "1"]) == 0
    tracked = read_csv(out)
    assert np.array_equal(tracked["t"], t)  # frame_10 is frame 10, not 2
    assert list(tracked["frame_image"][:1]) == ["frame_0.tif"]
    assert all(len(s) == 1 for s in identities(tracked["track_id"], truth).values())
