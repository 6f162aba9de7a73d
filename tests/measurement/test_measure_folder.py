"""A folder run: CSV files, columns and row counts; failures reported while the rest go on."""

from __future__ import annotations

import csv
import threading

import numpy as np
import pytest

from guv_app.plugins.base import MeasurementPlugin
from guv_app.services.measurement.folder import measure_folder, output_paths
from guv_app.services.measurement.labels import find_items

KEY = ["image", "series", "t", "z", "object_id", "class_id", "class_name"]


class FailsOnWideImages(MeasurementPlugin):
    """A third-party-style plugin with a bug that shows on 256x320 images only."""

    name = "width"

    def measure(self, channels, masks, classes, params):
        if masks.shape[1] == 320:
            raise RuntimeError("cannot handle wide images")
        ids = np.unique(masks)[1:]
        return {"object_id": ids, "image_width": np.full(len(ids), masks.shape[1])}


def read_csv(path):
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(path, newline="") as fh:
        header = next(csv.reader(fh))
    return header, rows


def n_objects(masks):
    return len(np.unique(masks)) - 1


def test_label_choice_auto_pred_seg(mixed_folder):
    folder, _, _ = mixed_folder
    auto = {i.image.name: i.labels and i.labels.name for i in find_items(folder, "auto")}
    assert list(auto) == ["broken.tif", "fluorescence_00071198d059.png",
                          "fluorescence_573e1480b500.png", "histology_color_4cbd6c37f3a5.png",
                          "nolabel.png"]
    assert auto["fluorescence_573e1480b500.png"] == "fluorescence_573e1480b500_pred_seg.npy"
    assert auto["fluorescence_00071198d059.png"] == "fluorescence_00071198d059_seg.npy"
    assert auto["nolabel.png"] is None
    seg = {i.image.name: i.labels and i.labels.name for i in find_items(folder, "seg")}
    assert seg["fluorescence_573e1480b500.png"] == "fluorescence_573e1480b500_seg.npy"
    pred = {i.image.name: i.labels for i in find_items(folder, "pred")}
    assert [k for k, v in pred.items() if v] == ["fluorescence_573e1480b500.png"]


def test_corrupt_image_and_failing_plugin_are_reported_and_the_rest_continue(
        mixed_folder, tmp_path):
    folder, masks, pred = mixed_folder
    out = tmp_path / "out" / "results.csv"
    seen = []
    result = measure_folder(folder, out, ["shape", FailsOnWideImages(), "intensity"],
                            {"intensity": {"background": "image"}},
                            progress=lambda done, total, msg: seen.append((done, total)))
    status = {s.label: s for s in result.images}
    assert status["broken.tif"].status == "failed"
    assert "broken.tif" in status["broken.tif"].reason
    assert status["nolabel.png"].status == "skipped"
    assert status["histology_color_4cbd6c37f3a5.png"].status == "done"
    assert status["histology_color_4cbd6c37f3a5.png"].plugin_errors == {
        "width": "RuntimeError: cannot handle wide images"}
    assert not result.ok and len(result.failures) == 3
    assert seen[0] == (0, 5) and seen[-1] == (5, 5)  # starting ... finished
    assert sorted(set(seen)) == [(i, 5) for i in range(6)] and seen == sorted(seen)

    good = [masks["fluorescence_00071198d059.png"], pred,
            masks["histology_color_4cbd6c37f3a5.png"]]
    total = sum(n_objects(m) for m in good)
    paths = output_paths(out, ["shape", "width", "intensity"])
    assert result.outputs == paths
    header, rows = read_csv(paths["merged"])
    assert header[:7] == KEY and "area" in header and "image_width" in header
    assert "ch2_mean" in header and "ch0_background" in header
    assert len(rows) == total
    wide = [r for r in rows if r["image"] == "histology_color_4cbd6c37f3a5.png"]
    assert len(wide) == n_objects(good[2]) and all(r["image_width"] == "" for r in wide)
    area = {(r["image"], int(r["object_id"])): int(r["area"]) for r in rows}
    counts = np.bincount(pred.ravel())
    assert all(area[("fluorescence_573e1480b500.png", i)] == counts[i] for i in range(1, 6))
    assert {r["class_name"] for r in rows} == {"round", "elongated"}
    assert all((int(r["object_id"]) % 2 == 1) == (r["class_name"] == "round") for r in rows)

    header, rows = read_csv(paths["shape"])
    assert header[:7] == KEY and "ch0_mean" not in header and len(rows) == total
    header, rows = read_csv(paths["width"])
    assert header == KEY + ["image_width"]
    assert len(rows) == n_objects(good[0]) + n_objects(good[1])
    header, rows = read_csv(paths["intensity"])
    assert "area" not in header and "ch0_median" in header and len(rows) == total

    header, rows = read_csv(paths["summary"])
    assert header[:7] == ["image", "series", "t", "z", "status", "error", "n_objects"]
    assert {"count_round", "count_elongated", "mean_area", "mean_ch0_mean"} <= set(header)
    summary = {r["image"]: r for r in rows}
    assert len(rows) == 5
    assert summary["broken.tif"]["status"] == "failed" and summary["broken.tif"]["n_objects"] == ""
    assert summary["nolabel.png"]["status"] == "skipped"
    fl = summary["fluorescence_00071198d059.png"]
    m = good[0]
    ids = np.unique(m)[1:]
    assert int(fl["n_objects"]) == len(ids)
    assert int(fl["count_round"]) == int((ids % 2 == 1).sum())
    assert float(fl["mean_area"]) == pytest.approx(np.bincount(m.ravel())[ids].mean())
    assert "width: RuntimeError" in summary["histology_color_4cbd6c37f3a5.png"]["error"]


def test_cancel_stops_between_images_and_writes_what_was_done(good_folder, tmp_path):
    folder, masks = good_folder
    cancel = threading.Event()
    result = measure_folder(folder, tmp_path / "r.csv", ["shape"],
                            progress=lambda done, *_: done and cancel.set(), cancel=cancel)
    assert result.cancelled and len(result.images) == 1
    _, rows = read_csv(result.outputs["merged"])
    assert len(rows) == n_objects(masks[result.images[0].label])
