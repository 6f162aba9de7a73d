"""A measured plane as ready-made CSV rows: what a worker sends back instead of its tables.

Turning every number into text is a fifth of a measure run's CPU time. Done by the one
process that writes the files, it is a serial tail no number of Dask workers shortens; so
the work function renders its own plane's rows (on a worker: in parallel with the others)
and returns a :class:`PlaneRows` -- the rows of the merged and per-plugin tables as CSV text
plus the few numbers of its summary row -- and the writer only joins the texts in plane
order (:func:`join_parts`). The bytes written are those of ``tables.csv_text`` over the
same tables: a plane whose columns differ from the run's (a plugin failed there, fewer
channels) is re-laid out under the run's columns with empty cells, as ``csv_text`` does.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from guv_app.plugins.base import Table
from guv_app.services.measurement.linked import per_link_table
from guv_app.services.measurement.runner import ImageMeasurement
from guv_app.services.measurement.tables import (
    csv_header,
    csv_rows,
    merge_plugins,
    plane_summary,
)


@dataclass
class CsvPart:
    """Rows of one table as CSV text (no header), in the order of ``columns``."""

    columns: tuple[str, ...]
    text: str


@dataclass
class PlaneRows:
    """One measured plane, rendered: ``merged`` (all plugins' columns) and ``plugins``
    (plugin name -> its table) as CSV rows, and :func:`tables.plane_summary`'s
    ``class_counts`` / ``summary`` numbers. ``n_objects``, ``errors`` and ``warnings`` are
    those of the :class:`ImageMeasurement` it was made from."""

    image: str
    n_objects: int
    merged: CsvPart
    plugins: dict[str, CsvPart] = field(default_factory=dict)
    class_counts: dict[str, int] = field(default_factory=dict)
    summary: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, str] = field(default_factory=dict)
    per_link: CsvPart | None = None  # one row per linked object (measurement.linked)


def render_part(table: Table) -> CsvPart:
    """``table``'s rows as CSV text under its own column order."""
    columns = tuple(table)
    return CsvPart(columns, csv_rows([table], columns))


def render_plane(measurement: ImageMeasurement | PlaneRows,
                 plugin_order: Sequence[str]) -> PlaneRows:
    """A measured plane as :class:`PlaneRows` (returned unchanged when it is one already)."""
    if isinstance(measurement, PlaneRows):
        return measurement
    merged = merge_plugins(measurement, plugin_order)
    counts, summary = plane_summary(merged)
    links = per_link_table(merged)  # empty unless the plane's labels are linked
    return PlaneRows(
        measurement.image, measurement.n_objects, render_part(merged),
        {name: render_part(table) for name, table in measurement.tables.items()},
        counts, summary, dict(measurement.errors), dict(getattr(measurement, "warnings", {})),
        render_part(links) if links else None)


def column_union(parts: Sequence[CsvPart]) -> list[str]:
    """Union of the parts' columns in first-seen order (``tables.column_order``'s rule)."""
    seen: dict[str, None] = {}
    for part in parts:
        seen.update(dict.fromkeys(part.columns))
    return list(seen)


def _relaid(part: CsvPart, columns: Sequence[str]) -> str:
    """``part``'s rows under ``columns``: its cells moved, empty cells where it has none."""
    where = {c: k for k, c in enumerate(part.columns)}
    picks = [where.get(c) for c in columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in csv.reader(io.StringIO(part.text, newline="")):
        writer.writerow(["" if k is None else row[k] for k in picks])
    return out.getvalue()


def join_parts(parts: Sequence[CsvPart], empty_columns: Sequence[str] = ()) -> str:
    """One CSV text: the header (union of columns, or ``empty_columns`` without parts)
    then every part's rows in order -- the bytes ``tables.csv_text`` writes for the
    tables the parts were rendered from."""
    columns = column_union(parts) or list(empty_columns)
    key = tuple(columns)
    return csv_header(columns) + "".join(
        part.text if part.columns == key else _relaid(part, columns) for part in parts)
