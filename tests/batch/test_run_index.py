"""The run index: appended rows survive a crash, the latest row per plane wins, compact."""

from __future__ import annotations

import csv

from guv_app.services.batch import INDEX_NAME, append_rows, compact, read_index
from guv_app.services.batch.index import COLUMNS, make_row, predictions_by_plane


def test_rows_append_latest_wins_and_a_cut_line_is_skipped(tmp_path):
    image = tmp_path / "movie.tif"
    image.write_bytes(b"")
    pred = tmp_path / "movie_t0_z0_pred_seg.npy"
    pred.write_bytes(b"x")
    common = {"model": "tiny", "settings_hash": "abc"}
    append_rows(tmp_path, [make_row(tmp_path, image, 0, 0, 0, status="cancelled", **common),
                           make_row(tmp_path, image, 0, 1, 0, status="failed",
                                    reason="cannot read\nplane", **common)])
    append_rows(tmp_path, [make_row(tmp_path, image, 0, 0, 0, status="done", n_objects=7,
                                    prediction=pred, **common)])
    with open(tmp_path / INDEX_NAME, "a") as fh:
        fh.write("movie.tif,0,2,0,tiny,abc,3,do")  # a crash cut this row short
    append_rows(tmp_path, [make_row(tmp_path, image, 0, 3, 0, status="skipped", **common)])
    rows = read_index(tmp_path)
    assert [(r.t, r.status, r.n_objects) for r in rows] == [
        (1, "failed", 0), (0, "done", 7), (3, "skipped", 0)]
    assert rows[0].reason == "cannot read plane"  # one line
    assert rows[1].image == "movie.tif" and rows[1].prediction == pred.name  # relative
    assert predictions_by_plane(tmp_path) == {(str(image.resolve()), 0, 0, 0): pred}
    compact(tmp_path)
    with open(tmp_path / INDEX_NAME, newline="") as fh:
        table = list(csv.reader(fh))
    assert tuple(table[0]) == COLUMNS
    assert [(r[2], r[7]) for r in table[1:]] == [("0", "done"), ("1", "failed"), ("3", "skipped")]
