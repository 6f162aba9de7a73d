"""Measuring predictions for the Analyzer's table: rows in memory, CSV like the CLI's."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import tifffile

from guv_app.services.analysis.measure import concat_tables, measure_images
from guv_app.services.analysis.predictions import save_prediction

DSB = Path(__file__).resolve().parents[1] / "data" / "labelled" / "dsb2018"


def test_measure_predictions_table_and_export(small_folder, tmp_path):
    images = sorted(small_folder.glob("*.png"))
    expected = 0
    for image in images:
        masks = tifffile.imread(DSB / "masks" / f"{image.stem}.tif").astype(np.uint32)
        n = int(masks.max())
        classes = np.array([0] + [1 + (k % 2) for k in range(n)], np.int32)
        save_prediction(image, masks, classes, ["background", "round", "long"],
                        [(0, 0, 0), (255, 0, 0), (0, 0, 255)], model="x", params={})
        expected += len(np.unique(masks)) - 1
    (small_folder / "unlabelled.png").write_bytes(images[0].read_bytes())

    run = measure_images(sorted(small_folder.glob("*.png")), ["shape", "intensity"])
    assert [s.status for s in run.statuses] == ["done", "done", "skipped"]
    assert run.n_rows == expected
    assert set(np.unique(run.table["class_name"])) == {"round", "long"}
    assert np.all(run.table["area"] > 0)

    out = run.export(tmp_path / "results.csv")
    with open(out["merged"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == expected
    assert list(rows[0])[:8] == ["image", "series", "t", "z", "object_id", "class_id", "class_name",
                              "area"]
    assert out["summary"].exists() and out["shape"].exists() and out["intensity"].exists()


def test_concat_fills_missing_columns():
    a = {"object_id": np.array([1, 2]), "area": np.array([3, 4])}
    b = {"object_id": np.array([1]), "name": np.array(["x"], dtype=object)}
    t = concat_tables([a, b])
    assert t["object_id"].tolist() == [1, 2, 1]
    assert t["area"][:2].tolist() == [3.0, 4.0] and np.isnan(t["area"][2])
    assert t["name"].tolist() == ["", "", "x"]
