"""The index of a prediction run: one CSV row per plane, beside the prediction files.

``predict`` (CLI and Analyzer) appends a row to ``predictions_index.csv`` in the folder
that receives the predictions (``--out DIR``, or beside the images) as soon as each plane's
status is known, so an interrupted run leaves an index of what it finished; at the end the
file is rewritten (atomically) with one row per plane, the latest one. ``measure``,
``evaluate`` and the Analyzer find predictions through it, wherever they were written.

Columns (:data:`COLUMNS`): ``image`` (path, relative to the index's folder when below
it), ``series``, ``t``, ``z`` (0-based plane indices), ``model``, ``settings_hash`` (see
``analysis.predictions.settings_hash``), ``n_objects``, ``status`` (done / failed /
skipped / cancelled), ``reason``, ``prediction`` (file name relative to the index's
folder; empty unless a prediction exists), ``seconds`` and ``written`` (UTC, ISO 8601).
"""

from __future__ import annotations

import csv
import io
import logging
import os
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

from guv_app.services.batch.runner import STATUSES

log = logging.getLogger(__name__)

INDEX_NAME = "predictions_index.csv"


@dataclass
class IndexRow:
    """One plane of a run, as stored in the index (paths as written in the file)."""

    image: str
    series: int
    t: int
    z: int
    model: str = ""
    settings_hash: str = ""
    n_objects: int = 0
    status: str = ""
    reason: str = ""
    prediction: str = ""
    seconds: float = 0.0
    written: str = ""

    @property
    def key(self) -> tuple[str, int, int, int]:
        return (self.image, self.series, self.t, self.z)


COLUMNS = tuple(f.name for f in fields(IndexRow))
_INT = {"series", "t", "z", "n_objects"}


def index_path(folder: str | os.PathLike) -> Path:
    """The index file of the predictions in ``folder``."""
    return Path(folder) / INDEX_NAME


def _rel(path: str | os.PathLike, folder: Path) -> str:
    """``path`` relative to ``folder`` when it lies below it, else absolute (POSIX slashes)."""
    path = Path(path).absolute()
    try:
        return path.relative_to(folder.absolute()).as_posix()
    except ValueError:
        return path.as_posix()


def make_row(folder: str | os.PathLike, image: str | os.PathLike, series: int, t: int, z: int,
             *, model: str, settings_hash: str, status: str, reason: str = "",
             n_objects: int = 0, prediction: str | os.PathLike | None = None,
             seconds: float = 0.0) -> IndexRow:
    """An :class:`IndexRow` for an index kept in ``folder`` (paths made relative to it)."""
    folder = Path(folder)
    return IndexRow(
        _rel(image, folder), int(series), int(t), int(z), model, settings_hash,
        int(n_objects), status, " ".join(reason.split()),
        _rel(prediction, folder) if prediction else "", round(float(seconds), 3),
        datetime.now(timezone.utc).isoformat(timespec="seconds"))


def _line(row: IndexRow) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([getattr(row, c) for c in COLUMNS])
    return buf.getvalue()


def append_rows(folder: str | os.PathLike, rows: list[IndexRow]) -> Path:
    """Append ``rows`` to the index in ``folder`` (header first for a new file) and flush,
    so a crash keeps every row written so far."""
    path = index_path(folder)
    new = not path.exists() or path.stat().st_size == 0
    cut = False
    if not new:  # a crash may have cut the last row: never glue a new row onto it
        with open(path, "rb") as fh:
            fh.seek(-1, os.SEEK_END)
            cut = fh.read(1) != b"\n"
    with open(path, "a", encoding="utf-8", newline="") as fh:
        if new:
            fh.write(",".join(COLUMNS) + "\n")
        elif cut:
            fh.write("\n")
        for row in rows:
            fh.write(_line(row))
        fh.flush()
    return path


def read_index(path_or_folder: str | os.PathLike) -> list[IndexRow]:
    """The rows of an index (a file, or a folder holding one), the latest row per plane, in
    first-seen order. Missing file: ``[]``. Damaged lines are skipped with a warning
    (a crash can cut the last line)."""
    path = Path(path_or_folder)
    if path.is_dir():
        path = path / INDEX_NAME
    if not path.is_file():
        return []
    latest: dict[tuple, IndexRow] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for n, record in enumerate(csv.DictReader(fh), start=2):
            try:
                values = {c: record[c] for c in COLUMNS}
                if None in values.values() or None in record or \
                        values["status"] not in STATUSES:
                    raise ValueError("row cut short or malformed")
                for c in _INT:
                    values[c] = int(values[c])
                values["seconds"] = float(values["seconds"] or 0.0)
                row = IndexRow(**values)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("%s line %d: damaged index row skipped (%s)", path, n, exc)
                continue
            latest.pop(row.key, None)
            latest[row.key] = row
    return list(latest.values())


def compact(folder: str | os.PathLike) -> Path:
    """Rewrite the index in ``folder`` atomically with one (the latest) row per plane,
    sorted by image, series, t, z."""
    from cellpose_io import atomic_write

    path = index_path(folder)
    rows = sorted(read_index(path), key=lambda r: r.key)
    text = ",".join(COLUMNS) + "\n" + "".join(_line(r) for r in rows)
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))
    return path


def resolve(folder: str | os.PathLike, stored: str) -> Path:
    """A path stored in the index of ``folder`` as a usable path."""
    path = Path(stored)
    return path if path.is_absolute() else Path(folder) / path


def predictions_by_plane(folder: str | os.PathLike) -> dict[tuple[str, int, int, int], Path]:
    """``{(resolved image path, series, t, z): prediction file}`` for every plane the index
    in ``folder`` lists as done (or skipped with a prediction) whose file exists."""
    found = {}
    for row in read_index(folder):
        if row.status in ("done", "skipped") and row.prediction:
            pred = resolve(folder, row.prediction)
            if pred.is_file():
                image = str(resolve(folder, row.image).resolve())
                found[(image, row.series, row.t, row.z)] = pred
    return found
