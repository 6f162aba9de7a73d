"""The Analyzer on a time-lapse: the plane selection, per-plane predictions, T browsing,
per-plane measurements with time."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from analyzer_helpers import tiny_settings

import cellpose_io

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "batch"))
from plane_helpers import disc_movie, write_hyperstack  # noqa: E402

LONG = 240_000


def test_selected_planes_are_predicted_browsed_and_measured(qtbot, analyzer, tmp_path):
    from PyQt6.QtCore import Qt

    folder = tmp_path / "movie"
    folder.mkdir()
    frames, _ = disc_movie(shape=(4, 1))
    write_hyperstack(folder / "movie.tif", frames)
    write_hyperstack(folder / "still.tif", frames[:1])
    ctl = analyzer
    assert ctl.open_folder(folder)
    tiny_settings(ctl)
    ctl.window.inference.min_size.setValue(5)
    t_field = ctl.window.inference.plane_fields["t"]
    qtbot.keyClicks(t_field, "1-2")

    with qtbot.waitSignal(ctl.batchFinished, timeout=LONG) as blocker:
        qtbot.mouseClick(ctl.window.inference.run_folder, Qt.MouseButton.LeftButton)
    result = blocker.args[0]
    assert [(Path(s.image).name, s.t, s.status) for s in result.planes] == [
        ("movie.tif", 1, "done"), ("movie.tif", 2, "done"), ("still.tif", 0, "skipped")]
    assert "no plane matches" in result.planes[2].reason  # a single frame has no t=1-2
    assert sorted(p.name for p in folder.glob("*_pred_seg.npy")) == [
        "movie_t1_z0_pred_seg.npy", "movie_t2_z0_pred_seg.npy"]
    files = ctl.window.files
    assert files.status(0) == "done"
    assert "2 plane(s): 2 done" in files.table.item(0, 2).toolTip()

    # browse the movie: T=0 has no prediction, T=1 has its own
    ctl.window.files.set_current(0)
    qtbot.waitUntil(lambda: ctl.editor.path == folder / "movie.tif")
    assert ctl.editor.plane.t == 0 and ctl.editor.doc.n_objects == 0
    t_box = ctl.editor.trainer.window.channel_panel.t
    t_box.setFocus()
    qtbot.keyClick(t_box, Qt.Key.Key_Up)
    assert ctl.editor.plane.t == 1
    expected = cellpose_io.load_seg(folder / "movie_t1_z0_pred_seg.npy").max_id
    assert ctl.editor.doc.n_objects == expected == result.planes[0].n_objects > 0

    # measure the same planes: rows carry t and the time from the file (5 s per frame)
    ctl.window.measure.set_checked(["shape"])
    with qtbot.waitSignal(ctl.measure.finished, timeout=LONG) as measured:
        qtbot.mouseClick(ctl.window.measure.measure, Qt.MouseButton.LeftButton)
    table = measured.args[0].table
    movie = table["image"] == "movie.tif"
    assert sorted(set(table["t"][movie].tolist())) == [1, 2]
    assert np.all(table["time_s"][movie] == 5.0 * table["t"][movie])
    assert np.allclose(table["area_um2"], table["area"] * 0.25)
    assert movie.sum() == sum(s.n_objects for s in result.planes[:2])


def test_a_predict_out_folder_opens_with_its_images_and_predictions(qtbot, analyzer, tmp_path):
    from PyQt6.QtCore import Qt

    from guv_app.services.analysis.batch import predict_images
    from guv_app.services.engine.inference import SegmentParams

    frames, _ = disc_movie(shape=(2, 1))
    movie = write_hyperstack(tmp_path / "movie.tif", frames)
    out = tmp_path / "run1"
    params = SegmentParams(cellprob_threshold=-2.0, flow_threshold=0.0, min_size=5,
                           device="cpu")
    result = predict_images([movie], "tiny", params, out_dir=out)
    assert [s.status for s in result.planes] == ["done", "done"]

    ctl = analyzer
    assert ctl.open_folder(out)  # predictions only: the images come from the index
    assert ctl.images == [movie]
    assert ctl.window.files.table.item(0, 1).text() == "yes"
    qtbot.waitUntil(lambda: ctl.editor.path == movie)
    assert ctl.editor.doc.n_objects == result.planes[0].n_objects > 0
    ctl.window.measure.set_checked(["shape"])
    with qtbot.waitSignal(ctl.measure.finished, timeout=LONG) as measured:
        qtbot.mouseClick(ctl.window.measure.measure, Qt.MouseButton.LeftButton)
    table = measured.args[0].table
    assert len(table["object_id"]) == sum(s.n_objects for s in result.planes)
    assert sorted(set(table["t"].tolist())) == [0, 1]
