"""Predict every plane of real multi-plane files (nd2 T3 Z10 C2, lif 4 series T2 Z3, dax T10,
ImageJ hyperstack), index them, measure through the index, resume after an interrupt."""

from __future__ import annotations

import csv
import threading

import numpy as np
import pytest
from plane_helpers import copy_sample, disc_movie, write_hyperstack

import cellpose_io
from guv_app.cli.main import main
from guv_app.services.analysis.batch import predict_images
from guv_app.services.batch import INDEX_NAME, PlaneSelection, read_index

pytest.importorskip("torch")


def rows_of(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_cli_predicts_every_plane_of_an_nd2_and_measure_finds_them(tmp_path, capsys):
    image = copy_sample("nd2", "cluster.nd2", tmp_path / "images")
    out = tmp_path / "out"
    code = main(["predict", "--model", "tiny", "--input", str(image.parent), "--out", str(out),
                 "--flow-threshold", "0", "--cellprob-threshold", "-2", "--min-size", "3"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "segmented 30 of 30 plane(s) of 1 file(s)" in captured.out  # T3 x Z10
    index = read_index(out)
    assert sorted((r.t, r.z) for r in index) == [(t, z) for t in range(3) for z in range(10)]
    assert {r.status for r in index} == {"done"} and {r.model for r in index} == {"tiny"}
    names = sorted(p.name for p in out.glob("*_pred_seg.npy"))
    assert names == sorted(f"cluster_t{t}_z{z}_pred_seg.npy" for t in range(3) for z in range(10))
    with cellpose_io.read_image(image) as reader:
        for row in index:
            seg = cellpose_io.load_seg(out / row.prediction)
            assert seg.masks.shape == reader.plane(row.t, row.z).shape[1:]
            assert seg.max_id == row.n_objects
    # written with --out, still found by measure (through the index in that folder)
    table = tmp_path / "m.csv"
    assert main(["measure", "--dir", str(out), "--out", str(table), "--plugins", "shape",
                 "--quiet"]) in (0, 1)
    measured = rows_of(tmp_path / "m_summary.csv")
    done = [r for r in measured if r["status"] == "done"]
    assert len(done) == sum(r.n_objects > 0 or True for r in index) == 30
    rows = rows_of(table)
    assert len(rows) == sum(r.n_objects for r in index)
    first = next(r for r in rows if r["t"] == "2" and r["z"] == "3")
    assert float(first["z_um"]) == pytest.approx(1.5)  # ND2 Z step 0.5 µm
    assert float(first["time_s"]) > 15  # recorded time stamp of frame 2 (~21.3 s)
    assert float(first["area_um2"]) == pytest.approx(float(first["area"]) * 0.167809 ** 2,
                                                     rel=1e-4)


def test_selection_on_a_multi_series_lif(tmp_path, params):
    image = copy_sample("lif", "PR2729_frameOrderCombinedScanTypes.lif", tmp_path)
    result = predict_images([image], "tiny", params,
                            selection=PlaneSelection.parse(series="1,3", t="1", z="::2"))
    assert [(s.series, s.t, s.z) for s in result.planes] == [
        (1, 1, 0), (1, 1, 2), (3, 1, 0), (3, 1, 2)]
    assert {s.status for s in result.planes} == {"done"}
    stem = "PR2729_frameOrderCombinedScanTypes"
    assert sorted(p.name for p in tmp_path.glob("*_pred_seg.npy")) == [
        f"{stem}_s1_t1_z0_pred_seg.npy", f"{stem}_s1_t1_z2_pred_seg.npy",
        f"{stem}_s3_t1_z0_pred_seg.npy", f"{stem}_s3_t1_z2_pred_seg.npy"]
    assert (tmp_path / INDEX_NAME).is_file()  # beside the images without --out
    assert main(["predict", "--model", "tiny", "--input", str(image), "--t", "1-x"]) == 2


def test_interrupted_run_resumes_without_redoing_finished_planes(tmp_path, params):
    image = copy_sample("dax", "test.dax", tmp_path)
    cancel = threading.Event()
    seen = []

    def stop_after_four(status):
        seen.append(status)
        if len(seen) == 4:
            cancel.set()

    first = predict_images([image], "tiny", params, cancel=cancel, on_image=stop_after_four)
    assert [s.status for s in first.planes] == ["done"] * 4 + ["cancelled"] * 6
    assert first.cancelled
    index = read_index(tmp_path)
    assert [r.status for r in index] == ["done"] * 4 + ["cancelled"] * 6
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.glob("*_pred_seg.npy")}
    assert sorted(p.name for p in stamps) == sorted(f"test_t{t}_z0_pred_seg.npy"
                                                    for t in range(4))

    again = predict_images([image], "tiny", params)
    assert [s.status for s in again.planes] == ["skipped"] * 4 + ["done"] * 6
    assert all("already predicted" in s.reason for s in again.planes[:4])
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # not rewritten
    index = read_index(tmp_path)
    assert len(index) == 10 and [r.status for r in index] == ["skipped"] * 4 + ["done"] * 6
    assert all(r.n_objects == cellpose_io.load_seg(tmp_path / r.prediction).max_id
               for r in index)


def test_hyperstack_single_plane_files_keep_cellpose_names(tmp_path, params):
    frames, _ = disc_movie(shape=(2, 1))
    movie = write_hyperstack(tmp_path / "movie.tif", frames[:, :1])
    still = write_hyperstack(tmp_path / "still.tif", frames[:1, :1])
    result = predict_images([movie, still], "tiny", params)
    assert [(s.image.endswith("movie.tif"), s.t) for s in result.planes] == [
        (True, 0), (True, 1), (False, 0)]
    assert sorted(p.name for p in tmp_path.glob("*_pred_seg.npy")) == [
        "movie_t0_z0_pred_seg.npy", "movie_t1_z0_pred_seg.npy", "still_pred_seg.npy"]
    seg = np.load(tmp_path / "still_pred_seg.npy", allow_pickle=True).item()
    assert seg["masks"].shape == frames.shape[2:]  # what the Cellpose GUI opens


def test_an_executor_gives_the_same_predictions_and_index(tmp_path, params):
    """The contract Dask plugs into: work runs on the executor, files and index as in-process."""
    from concurrent.futures import ThreadPoolExecutor

    image = copy_sample("dax", "test.dax", tmp_path / "a")
    serial = predict_images([image], "tiny", params, selection=PlaneSelection.parse(t="0-2"),
                            out_dir=tmp_path / "serial")
    with ThreadPoolExecutor(2) as pool:
        pooled = predict_images([image], "tiny", params, out_dir=tmp_path / "pooled",
                                selection=PlaneSelection.parse(t="0-2"), executor=pool)
    assert [(s.t, s.status, s.n_objects) for s in pooled.planes] == \
        [(s.t, s.status, s.n_objects) for s in serial.planes]
    for row in read_index(tmp_path / "pooled"):
        mine = cellpose_io.load_seg(tmp_path / "pooled" / row.prediction).masks
        theirs = cellpose_io.load_seg(tmp_path / "serial" / row.prediction).masks
        assert np.array_equal(mine, theirs)


def test_do_3d_segments_each_stack_through_cellposes_3d_path(tmp_path, capsys):
    """A calibrated Z stack (4 slices, 2 µm apart, 1 µm pixels: anisotropy 2) in 3-D."""
    import tifffile

    from guv_app.services.engine.volume import anisotropy_for

    zz, yy, xx = np.mgrid[:4, :24, :24]
    ball = ((zz - 1.5) * 2) ** 2 + (yy - 12) ** 2 + (xx - 12) ** 2 <= 6 ** 2
    stack = (ball * 1000 + 50).astype(np.uint16)
    image = tmp_path / "stack.tif"
    tifffile.imwrite(image, stack, imagej=True, resolution=(1.0, 1.0),
                     metadata={"axes": "ZYX", "unit": "um", "spacing": 2.0})
    assert anisotropy_for(2.0, (1.0, 1.0)) == 2.0
    args = ["predict", "--model", "tiny", "--input", str(image), "--do-3d", "--device", "cpu",
            "--flow-threshold", "0", "--cellprob-threshold", "-2", "--min-size", "3"]
    assert main(args) == 0, capsys.readouterr().err
    assert "segmented 1 of 1 plane(s)" in capsys.readouterr().out  # one item: the stack
    seg = np.load(tmp_path / "stack_pred_seg.npy", allow_pickle=True).item()  # Cellpose name
    assert seg["masks"].shape == seg["outlines"].shape == stack.shape
    assert seg["mcp_anisotropy"] == 2.0 and seg["mcp_pred_model"] == "tiny"
    (row,) = read_index(tmp_path)
    assert (row.t, row.z, row.status, row.n_objects) == (0, -1, "done", int(seg["masks"].max()))
    with pytest.raises(cellpose_io.LabelReadError, match="2-D"):
        cellpose_io.load_seg(tmp_path / "stack_pred_seg.npy")  # 2-D tools refuse it clearly
    stamp = (tmp_path / "stack_pred_seg.npy").stat().st_mtime_ns
    assert main(args) == 0
    assert "0 of 1 plane(s)" in capsys.readouterr().out  # rerun: skipped through the index
    assert (tmp_path / "stack_pred_seg.npy").stat().st_mtime_ns == stamp


def test_rerun_keeps_each_planes_object_count_in_the_index(tmp_path, params):
    image = copy_sample("dax", "test.dax", tmp_path)
    selection = PlaneSelection.parse(t="0-1")
    first = predict_images([image], "tiny", params, selection=selection)
    again = predict_images([image], "tiny", params, selection=selection)
    assert [s.status for s in again.planes] == ["skipped", "skipped"]
    assert [r.n_objects for r in read_index(tmp_path)] == [s.n_objects for s in first.planes]
    assert [r.status for r in read_index(tmp_path)] == ["skipped", "skipped"]
