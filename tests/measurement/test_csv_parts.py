"""Planes rendered as CSV rows where they were measured, joined by the writer: the bytes of
one ``csv_text`` over the same tables, whatever columns each plane has."""

from __future__ import annotations

import csv
import io
import pickle

import numpy as np

from guv_app.services.measurement.csv_parts import (
    CsvPart,
    join_parts,
    render_part,
    render_plane,
)
from guv_app.services.measurement.runner import ImageMeasurement
from guv_app.services.measurement.tables import csv_text, merge_plugins, plane_summary


def _table(image: str, n: int, extra: dict | None = None) -> dict:
    rng = np.random.default_rng(n)
    table = {
        "image": np.full(n, image, dtype=object),
        "object_id": np.arange(1, n + 1, dtype=np.int64),
        "class_name": np.array(["=SUM(A1)", 'cell "a", b', "plain"] * n, dtype=object)[:n],
        "area": rng.integers(10, 500, n).astype(np.int64),
        "mean": rng.normal(size=n),
    }
    table["mean"][:1] = np.nan
    return {**table, **(extra or {})}


def test_join_equals_one_csv_text_over_planes_with_different_columns():
    a = _table("a.png", 4)
    b = _table("b.png", 3, {"note": np.array(["line\nbreak", "-1", "x,y"], dtype=object),
                            "flag": np.array([True, False, True]),
                            "two\nlines": np.arange(3.0)})  # a guest plugin's column name
    c = _table("c.png", 2)
    del c["area"]  # a plugin that failed on this plane: its cells stay empty
    empty = _table("d.png", 0)
    tables = [a, b, c, empty]
    parts = [render_part(t) for t in tables]
    joined = join_parts(parts)
    assert joined == csv_text(tables)
    # independently: the file reads back as the union of columns, gaps empty
    rows = list(csv.DictReader(io.StringIO(joined, newline="")))
    assert [r["image"] for r in rows] == ["a.png"] * 4 + ["b.png"] * 3 + ["c.png"] * 2
    assert rows[4]["note"] == "line\nbreak" and rows[5]["note"] == "'-1"
    assert rows[0]["note"] == "" and rows[7]["area"] == "" and rows[4]["flag"] == "1"
    assert rows[0]["class_name"] == "'=SUM(A1)" and rows[1]["class_name"] == 'cell "a", b'
    assert rows[0]["mean"] == "nan" and float(rows[1]["mean"]) == a["mean"][1]
    assert rows[5]["two\nlines"] == "1.0" and rows[0]["two\nlines"] == ""


def test_no_parts_writes_the_given_header():
    assert join_parts([], ("image", "object_id")) == "image,object_id\n"
    assert join_parts([CsvPart(("x",), "")]) == "x\n"


def test_rendered_plane_carries_rows_summary_and_status():
    key = {"image": np.full(3, "p.png", dtype=object), "object_id": np.arange(1, 4),
           "class_id": np.array([1, 2, 1]),
           "class_name": np.array(["live", "dead", "live"], dtype=object)}
    shape = {**key, "area": np.array([10.0, 20.0, 60.0])}
    inten = {**key, "ch0_mean": np.array([1.0, np.nan, 3.0])}
    m = ImageMeasurement("p.png", 3, key, {"shape": shape, "intensity": inten},
                         errors={"other": "boom"}, warnings={"intensity": "w"})
    rows = render_plane(m, ["shape", "intensity"])
    merged = merge_plugins(m, ["shape", "intensity"])
    assert join_parts([rows.merged]) == csv_text([merged])
    assert join_parts([rows.plugins["intensity"]]) == csv_text([inten])
    assert rows.class_counts == {"live": 2, "dead": 1}
    assert rows.summary["n_objects"] == 3
    assert rows.summary["mean_area"] == 30.0 and rows.summary["mean_ch0_mean"] == 2.0
    assert (rows.class_counts, rows.summary) == plane_summary(merged)
    assert (rows.n_objects, rows.errors, rows.warnings) == (3, {"other": "boom"},
                                                            {"intensity": "w"})
    assert render_plane(rows, ["shape"]) is rows
    assert pickle.loads(pickle.dumps(rows)) == rows  # what a Dask worker sends back
