"""The one batch runner on Dask: ``predict --workers 2`` gives the in-process files and
index, results come back when workers do not share the output folder, failed items are
retried once, a killed worker is survived, cancel keeps finished outputs and a rerun resumes."""

from __future__ import annotations

import csv
import threading
from pathlib import Path

import numpy as np
from dask_data import labelled_folder
from dask_tasks import failing_item, flaky_item, killing_item

from guv_app.cli.main import main
from guv_app.services.analysis.batch import predict_images
from guv_app.services.analysis.plane_prediction import PredictTask, predict_plane
from guv_app.services.batch import Plane, run_batch
from guv_app.services.distributed.executor import dask_executor

CREATED = "mcp_pred_created"  # the one field that differs between two runs: when it ran


def assert_same_prediction(a: Path, b: Path) -> None:
    """Equal content: every array equal, every key equal except the creation time."""
    x, y = (np.load(p, allow_pickle=True).item() for p in (a, b))
    assert x.keys() == y.keys(), (a, b)
    for key in x:
        if key == CREATED:
            continue
        np.testing.assert_equal(x[key], y[key], err_msg=f"{a.name}: {key}")  # NaN == NaN


def index_rows(folder: Path) -> list[dict]:
    with open(folder / "predictions_index.csv", newline="") as fh:
        return [{k: v for k, v in row.items() if k not in ("seconds", "written")}
                for row in csv.DictReader(fh)]


def test_predict_cli_with_two_workers_equals_in_process(data_dir, tmp_path, capsys):
    images = labelled_folder(data_dir, tmp_path / "images", copies=2)
    here, there = tmp_path / "here", tmp_path / "there"
    assert main(["predict", "--model", "tiny", "--input", str(images), "--out", str(here)]) == 0
    code = main(["predict", "--model", "tiny", "--input", str(images), "--out", str(there),
                 "--workers", "2"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "running on 2 local worker process(es)" in err
    names = sorted(p.name for p in here.iterdir())
    assert names == sorted(p.name for p in there.iterdir()) and len(names) == 7
    for name in names:
        if name.endswith(".npy"):
            assert_same_prediction(here / name, there / name)
    assert index_rows(here) == index_rows(there)
    assert {row["status"] for row in index_rows(there)} == {"done"}


def test_results_come_back_when_workers_do_not_share_the_output(
        scheduler_pair, data_dir, tmp_path):
    import cellpose_io
    from guv_app.services.engine.inference import SegmentParams

    _, client = scheduler_pair
    images = sorted(labelled_folder(data_dir, tmp_path / "images").glob("*.png"))
    executor = dask_executor(client)
    task = PredictTask(Plane(images[0]), "tiny", SegmentParams(), str(tmp_path / "never.npy"),
                       save=False)
    sent = executor.submit(predict_plane, task).result(timeout=300)
    masks = sent.segmentation[0]
    height, width = cellpose_io.read_image(images[0]).plane(t=0, z=0).shape[-2:]
    assert masks.dtype == np.uint32 and masks.shape == (height, width)
    assert not (tmp_path / "never.npy").exists()  # the worker wrote nothing

    result = predict_images(images, "tiny", out_dir=tmp_path / "back", executor=executor,
                            write_on_worker=False)
    local = predict_images(images, "tiny", out_dir=tmp_path / "local")
    assert [s.status for s in result.planes] == ["done"] * 3
    for a, b in zip(result.planes, local.planes, strict=True):
        assert Path(a.file).parent == tmp_path / "back"
        assert_same_prediction(Path(a.file), Path(b.file))
    assert index_rows(tmp_path / "back") == index_rows(tmp_path / "local")


def test_failed_item_is_retried_once_then_reported_alone(local_client, tmp_path):
    attempts = tmp_path / "attempts.txt"
    tasks = [(str(tmp_path / f"m{i}"), i) for i in range(4)]
    report = run_batch(tasks, flaky_item, executor=dask_executor(local_client))
    assert [o.status for o in report.outcomes] == ["done"] * 4
    assert [o.result for o in report.outcomes] == [0, 10, 20, 30]
    report = run_batch([(str(attempts), 7)], failing_item, executor=dask_executor(local_client))
    (outcome,) = report.outcomes
    assert outcome.status == "failed" and outcome.reason == "ValueError: item 7 is broken"
    assert len(attempts.read_text().splitlines()) == 2  # tried, then retried once


def test_a_worker_killed_mid_batch_is_survived(local_client, tmp_path):
    tasks = [(str(tmp_path / "first-kill"), 0)] + [(str(tmp_path / "ok"), i) for i in (1, 2, 3)]
    (tmp_path / "ok").write_text("")
    report = run_batch(tasks, killing_item, executor=dask_executor(local_client))
    assert [o.status for o in report.outcomes] == ["done"] * 4, report.outcomes
    assert [o.result[0] for o in report.outcomes] == [0, 1, 2, 3]
    local_client.wait_for_workers(2, timeout=120)


def test_cancel_keeps_finished_outputs_and_a_rerun_resumes(local_client, data_dir, tmp_path):
    images = sorted(labelled_folder(data_dir, tmp_path / "images", copies=3).glob("*.png"))
    out = tmp_path / "out"
    cancel = threading.Event()
    seen = []

    def on_image(status) -> None:
        seen.append(status)
        if status.status == "done":
            cancel.set()

    first = predict_images(images, "tiny", out_dir=out, cancel=cancel, on_image=on_image,
                           executor=dask_executor(local_client))
    assert first.cancelled
    done = [s for s in first.planes if s.status == "done"]
    assert 1 <= len(done) < len(images)
    assert {s.status for s in first.planes} <= {"done", "cancelled"}
    for status in done:
        assert Path(status.file).is_file()
    assert {Path(r["image"]).name for r in index_rows(out) if r["status"] == "done"} >= {
        Path(s.image).name for s in done}

    second = predict_images(images, "tiny", out_dir=out, executor=dask_executor(local_client))
    assert not second.cancelled and second.count("failed") == 0
    skipped = {s.image for s in second.planes if s.status == "skipped"}
    assert {s.image for s in done} <= skipped  # what was finished is not redone
    assert second.count("done") + len(skipped) == len(images)
    local = predict_images(images, "tiny", out_dir=tmp_path / "local")
    for a, b in zip(second.planes, local.planes, strict=True):
        assert_same_prediction(Path(a.file), Path(b.file))


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_measure_cli_with_two_workers_writes_the_same_csv_files(data_dir, tmp_path, capsys):
    images = labelled_folder(data_dir, tmp_path / "images", copies=2)
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)
    np.save(images / "broken_seg.npy", {"masks": np.ones((4, 4), np.uint16)},
            allow_pickle=True)
    (tmp_path / "here").mkdir()
    (tmp_path / "there").mkdir()
    common = ["measure", "--dir", str(images), "--plugins", "shape,intensity,boundary",
              "--labels", "seg"]
    assert main([*common, "--out", str(tmp_path / "here" / "r.csv")]) == 1  # broken.png
    code = main([*common, "--out", str(tmp_path / "there" / "r.csv"), "--workers", "2"])
    err = capsys.readouterr().err
    assert code == 1 and "running on 2 local worker process(es)" in err
    here, there = _outputs(tmp_path / "here"), _outputs(tmp_path / "there")
    assert here.keys() == there.keys() and len(here) == 5  # merged, 3 plugins, summary
    for name in here:
        assert here[name] == there[name], name  # byte for byte
    assert b"broken.png" in there["r_summary.csv"] and b"failed" in there["r_summary.csv"]


def test_evaluate_cli_through_a_scheduler_gives_the_same_csv(scheduler_pair, data_dir,
                                                              tmp_path, capsys):
    address, _ = scheduler_pair
    images = labelled_folder(data_dir, tmp_path / "images")
    common = ["evaluate", "--model", "tiny", "--dir", str(images), "--flow-threshold", "0",
              "--cellprob-threshold", "-2"]
    assert main([*common, "--out", str(tmp_path / "here.csv")]) == 0
    assert main([*common, "--out", str(tmp_path / "there.csv"), "--scheduler", address]) == 0
    capsys.readouterr()
    here = (tmp_path / "here.csv").read_bytes()
    assert here == (tmp_path / "there.csv").read_bytes()
    assert here.count(b"\n") == 5 and b"fluorescence_00071198d059_0.png" in here
