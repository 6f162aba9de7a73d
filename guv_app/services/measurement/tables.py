"""Combine per-image tables and write them as CSV (atomically, no pandas needed).

Cells of a column an image does not have (e.g. a plugin failed there, or the image has
fewer channels) are left empty; NaN values are written as ``nan``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from cellpose_io.csv_cells import spreadsheet_safe
from guv_app.plugins.base import Table
from guv_app.services.measurement.runner import KEY_COLUMNS, ImageMeasurement

# Identifier-like columns that make no sense to average in the summary.
NOT_AVERAGED = {"object_id", "class_id", "nearest_id", "n_objects", "series", "t", "z",
                "time_s", "z_um"}


def merge_plugins(measurement: ImageMeasurement, plugin_order: Sequence[str]) -> Table:
    """One table per image with the key columns and every plugin's columns side by side.

    All plugins return rows for the same objects in the same order (checked by
    ``check_table``), so merging is placing columns next to each other. A column name used
    by two plugins is prefixed with the later plugin's name.
    """
    merged: Table = dict(measurement.key)
    for name in plugin_order:
        table = measurement.tables.get(name)
        if table is None:
            continue
        for column, values in table.items():
            if column in KEY_COLUMNS or column in measurement.key:
                continue
            merged[f"{name}_{column}" if column in merged else column] = values
    return merged


def column_order(tables: Iterable[Table]) -> list[str]:
    """Union of the tables' columns, in first-seen order."""
    seen: dict[str, None] = {}
    for table in tables:
        for column in table:
            seen.setdefault(column, None)
    return list(seen)


def _cells(values: np.ndarray) -> list[str]:
    array = np.asarray(values)
    if array.dtype.kind == "f":  # shortest round-trip text; repr of any NaN is "nan"
        return list(map(repr, array.astype(np.float64, copy=False).tolist()))
    if array.dtype.kind == "b":
        return ["1" if v else "0" for v in array.tolist()]
    if array.dtype.kind in "iu":
        return [str(v) for v in array.tolist()]
    # text (image and class names from users' files): never a spreadsheet formula
    return [spreadsheet_safe(v) if isinstance(v, (str, bytes)) else str(v)
            for v in array.tolist()]


def csv_header(columns: Sequence[str]) -> str:
    """The header line of a table with ``columns`` (names spreadsheet-safe)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([spreadsheet_safe(c) for c in columns])
    return out.getvalue()


def csv_rows(tables: Sequence[Table], columns: Sequence[str]) -> str:
    """The rows of ``tables`` under ``columns``, no header (cells of a column a table does
    not have are left empty)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for table in tables:
        n = len(next(iter(table.values()))) if table else 0
        cells = [_cells(table[c]) if c in table else [""] * n for c in columns]
        writer.writerows(zip(*cells, strict=True))
    return out.getvalue()


def csv_text(tables: Sequence[Table], columns: Sequence[str] | None = None) -> str:
    """The rows of ``tables`` one after the other under one header (union of columns)."""
    columns = list(columns) if columns is not None else column_order(tables)
    return csv_header(columns) + csv_rows(tables, columns)


def write_csv(path: str | Path, tables: Sequence[Table], columns: Sequence[str] | None = None) -> Path:
    """Write ``tables`` as one CSV, replacing ``path`` atomically."""
    from cellpose_io.atomic import atomic_write_text

    return atomic_write_text(path, csv_text(tables, columns))


def plane_summary(merged: Table) -> tuple[dict[str, int], dict[str, float]]:
    """What the summary row of one plane holds, from its merged table: (objects per class
    name present, ``{"n_objects", "time_s", "z_um", "mean_<column>"...: value}`` in column
    order). Computed where the plane was measured (a Dask worker) so only numbers travel."""
    names = np.asarray(merged["class_name"])
    found, counts = np.unique(names.astype(str), return_counts=True) if len(names) else ((), ())
    values: dict[str, float] = {"n_objects": len(names)}
    for column in ("time_s", "z_um"):
        if column in merged and len(merged[column]):
            values[column] = float(np.asarray(merged[column])[0])
    for column, column_values in merged.items():
        array = np.asarray(column_values)
        if column in NOT_AVERAGED or column in KEY_COLUMNS or array.dtype.kind not in "iuf":
            continue
        with np.errstate(invalid="ignore"):
            values[f"mean_{column}"] = float(np.nanmean(array)) if np.isfinite(array).any() \
                else float("nan")
    return dict(zip(map(str, found), map(int, counts), strict=True)), values


def summary_row(
    image: str, status: str, error: str, merged: Table | None, class_names: Sequence[str],
    plane: tuple[int, int, int] = (0, 0, 0),
    summary: tuple[dict[str, int], dict[str, float]] | None = None,
) -> Table:
    """One summary row (one plane): object count per class and the mean of every numeric
    measurement; ``plane`` is (series, t, z). ``summary`` is :func:`plane_summary` of
    ``merged`` when it was computed already (then ``merged`` is not needed)."""
    row: dict[str, object] = {"image": image, "series": plane[0], "t": plane[1],
                              "z": plane[2], "status": status, "error": error}
    if summary is None and merged is not None:
        summary = plane_summary(merged)
    if summary is not None:
        counts, values = summary
        row["n_objects"] = values["n_objects"]
        for name in class_names:
            row[f"count_{name}"] = counts.get(name, 0)
        row.update((k, v) for k, v in values.items() if k != "n_objects")
    return {k: np.array([v], dtype=object if isinstance(v, str) else None)
            for k, v in row.items()}


def _column_array(cells: list[str]) -> np.ndarray:
    """Integers, then floats (``nan`` and empty cells as NaN), else text (object array)."""
    try:
        return np.array([int(c) for c in cells], dtype=np.int64)
    except ValueError:
        pass
    try:
        return np.array([float(c) if c != "" else float("nan") for c in cells], dtype=np.float64)
    except ValueError:
        return np.array(cells, dtype=object)


def read_csv(path: str | Path) -> Table:
    """A CSV table written by :func:`write_csv` (or a spreadsheet) as column arrays.

    Each column becomes int64 when every cell is an integer, float64 when every cell is a
    number or empty (NaN), else a text (object) array. Raises ``ValueError`` naming the file
    for an empty file or a row whose length differs from the header's, and ``OSError`` when
    the file cannot be read.
    """
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise ValueError(f"{path}: empty file, expected a CSV table with a header row")
    header, body = rows[0], [r for r in rows[1:] if r]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}: row {number} has {len(row)} cells, the header {len(header)}")
    columns = list(zip(*body, strict=True)) if body else [()] * len(header)
    return {name: _column_array(list(cells)) for name, cells in zip(header, columns, strict=True)}
