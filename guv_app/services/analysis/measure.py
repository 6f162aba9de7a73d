"""Measure images for display: tables kept in memory, CSV export identical to the CLI's.

The measurement service (``guv_app.services.measurement``) measures one image and writes CSV
files; the Analyzer also needs the rows in memory for its table and plots, so this module
runs the same per-image calls, keeps the results, concatenates them into one table and
exports them through the service's own writer.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from guv_app.plugins.base import Table
from guv_app.services.batch import PlaneSelection, PlaneStatus
from guv_app.services.measurement.folder import run_planes, write_outputs
from guv_app.services.measurement.labels import indexed_predictions, plane_items
from guv_app.services.measurement.runner import ImageMeasurement
from guv_app.services.measurement.tables import column_order, merge_plugins
from guv_app.services.progress import Progress

log = logging.getLogger(__name__)


@dataclass
class MeasureRun:
    """Per-plane statuses, the measurements of the planes done, and all rows in one table."""

    plugins: list[str]
    statuses: list[PlaneStatus] = field(default_factory=list)
    done: list[tuple[PlaneStatus, ImageMeasurement]] = field(default_factory=list)
    table: Table = field(default_factory=dict)
    cancelled: bool = False
    class_colors: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    def export(self, out: str | os.PathLike) -> dict[str, Path]:
        """Write ``out`` (all columns), ``<out>_<plugin>.csv`` and ``<out>_summary.csv``."""
        return write_outputs(out, self.plugins, self.statuses, self.done)

    @property
    def n_rows(self) -> int:
        return len(self.table.get("object_id", ()))


def concat_tables(tables: Sequence[Table]) -> Table:
    """Stack tables row-wise over the union of their columns (missing cells: NaN / "")."""
    columns = column_order(tables)
    out: Table = {}
    for column in columns:
        present = [t for t in tables if column in t]
        numeric = all(np.asarray(t[column]).dtype.kind in "iufb" for t in present)
        gaps = len(present) < len(tables)
        parts = []
        for t in tables:
            n = len(next(iter(t.values()))) if t else 0
            if column in t:
                parts.append(np.asarray(t[column], dtype=np.float64 if numeric and gaps else None))
            else:
                parts.append(np.full(n, np.nan) if numeric else np.full(n, "", dtype=object))
        out[column] = np.concatenate(parts) if parts else np.zeros(0)
    return out


def _add_class_colors(colors: dict, measurement: ImageMeasurement, source: Path) -> None:
    """Remember the colour of each class name seen (read from the label file once)."""
    names = {str(n) for n in measurement.key["class_name"]}
    if names <= set(colors):
        return
    from cellpose_io import CellposeIOError, read_label_source

    try:
        seg = read_label_source(source)
    except CellposeIOError as exc:
        log.debug("no class colours from %s: %s", source, exc)
        return
    for name, color in zip(seg.class_names[1:], seg.class_colors[1:], strict=False):
        colors.setdefault(str(name), tuple(int(c) for c in color))


def measure_images(
    images: Sequence[str | os.PathLike],
    plugins: Sequence[str],
    params: Mapping[str, Mapping[str, Any]] | None = None,
    labels: str = "auto",
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    *,
    selection: PlaneSelection | None = None,
    pixel_size: tuple[float, float] | None = None,
    predictions_dirs: Sequence[str | os.PathLike] = (),
) -> MeasureRun:
    """Measure every selected plane of ``images`` with its ``labels`` file (auto:
    prediction, else ``_seg.npy``; predictions are also found through the run indexes
    beside the images and in ``predictions_dirs``).

    Bad plugin names or parameters raise ``PluginError`` before any image is read; a plane
    without labels is skipped, an unreadable one failed, a failing plugin recorded -- the
    rest continue. ``cancel`` stops between planes.
    """
    folders = {Path(image).parent for image in images} | {Path(d) for d in predictions_dirs}
    items = plane_items(list(images), labels, selection, indexed_predictions(sorted(folders)))
    names, statuses, done, cancelled = run_planes(
        items, plugins, params, pixel_size=pixel_size, progress=progress, cancel=cancel)
    run = MeasureRun(names, statuses, done, cancelled=cancelled)
    for status, measurement in done:
        _add_class_colors(run.class_colors, measurement, Path(status.file))
    run.table = concat_tables([merge_plugins(m, run.plugins) for _, m in run.done])
    return run
