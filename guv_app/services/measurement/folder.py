"""Measure every image of a folder and write the CSV files.

Files written for ``out = results.csv`` (see :func:`output_paths`):

* ``results.csv`` — one row per object of every image: ``image``, ``object_id``,
  ``class_id``, ``class_name``, then the columns of every plugin side by side;
* ``results_<plugin>.csv`` — the same rows with only that plugin's columns (one per plugin);
* ``results_summary.csv`` — one row per image: ``status`` (done/failed/skipped), ``error``,
  ``n_objects``, ``count_<class>`` per class and ``mean_<column>`` per numeric measurement.

An image that cannot be read, has no label file or whose labels do not match is reported
and skipped; a plugin that fails on an image is reported and the other plugins' columns are
still written. Progress goes to ``progress(done, total, message)``; setting ``cancel``
stops between images (files are then written for the images done so far).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from guv_app.plugins.base import MeasurementPlugin
from guv_app.services.measurement.labels import ImageItem, find_items
from guv_app.services.measurement.runner import (
    KEY_COLUMNS,
    ImageMeasurement,
    MeasurementError,
    measure_image,
    resolve_plugins,
)
from guv_app.services.measurement.tables import merge_plugins, summary_row, write_csv

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
_EMPTY = {column: np.zeros(0) for column in KEY_COLUMNS}  # header only, when nothing measured


@dataclass
class ImageStatus:
    """What happened to one image."""

    image: str
    status: str  # "done", "failed" or "skipped"
    n_objects: int = 0
    error: str = ""
    plugin_errors: dict[str, str] = field(default_factory=dict)
    plugin_warnings: dict[str, str] = field(default_factory=dict)  # e.g. all-NaN columns


@dataclass
class FolderResult:
    """Outcome of a folder run: per-image status, files written, and whether it was cancelled."""

    images: list[ImageStatus]
    outputs: dict[str, Path]
    cancelled: bool = False

    @property
    def failures(self) -> list[str]:
        """One line per failed image, skipped image or failed plugin."""
        lines = [f"{s.image}: {s.error}" for s in self.images if s.status != "done"]
        lines += [f"{s.image}: plugin {name}: {error}"
                  for s in self.images for name, error in s.plugin_errors.items()]
        return lines

    @property
    def warnings(self) -> list[str]:
        """One line per flagged plugin result (a column with no finite value)."""
        return [f"{s.image}: plugin {name}: {text}"
                for s in self.images for name, text in s.plugin_warnings.items()]

    @property
    def ok(self) -> bool:
        return not self.cancelled and not self.failures


def output_paths(out: str | Path, plugin_names: Sequence[str]) -> dict[str, Path]:
    """``{"merged": results.csv, "summary": results_summary.csv, <plugin>: results_<plugin>.csv}``."""
    out = Path(out)
    stem, suffix = out.stem, out.suffix or ".csv"
    paths = {"merged": out if out.suffix else out.with_suffix(suffix)}
    paths["summary"] = out.with_name(f"{stem}_summary{suffix}")
    for name in plugin_names:
        paths[name] = out.with_name(f"{stem}_{name}{suffix}")
    return paths


def measure_items(
    items: Sequence[ImageItem],
    out: str | Path,
    plugins: Sequence[str | MeasurementPlugin],
    params: Mapping[str, Mapping[str, Any]] | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    plugin_timeout: float | None | str = "default",
) -> FolderResult:
    """Measure ``items`` with the named plugins and write the CSV files next to ``out``.

    Every item ends up in the summary as done, failed or skipped, whatever it raised.
    ``plugin_timeout``: seconds one plugin may spend on one image (see ``measure_arrays``).
    """
    resolved = resolve_plugins(plugins, params)  # bad names/params fail before any work
    names = [plugin.name for plugin, _ in resolved]
    statuses: list[ImageStatus] = []
    done: list[tuple[ImageStatus, ImageMeasurement]] = []
    cancelled = False
    total = len(items)
    for i, item in enumerate(items):
        if cancel is not None and cancel.is_set():
            cancelled = True
            break
        name = item.image.name
        if item.problem:
            status = ImageStatus(name, "skipped", error=item.problem)
        elif item.labels is None:
            status = ImageStatus(name, "skipped", error="no label file")
        else:
            try:
                measurement = measure_image(item.image, item.labels, resolved, name,
                                            plugin_timeout)
            except MeasurementError as exc:
                status = ImageStatus(name, "failed", error=str(exc))
            except Exception as exc:  # noqa: BLE001 - one item's fault stays that item's
                status = ImageStatus(name, "failed", error=f"{type(exc).__name__}: {exc}")
            else:
                status = ImageStatus(name, "done", measurement.n_objects,
                                     plugin_errors=dict(measurement.errors),
                                     plugin_warnings=dict(measurement.warnings))
                done.append((status, measurement))
        if status.status != "done":
            log.warning("%s %s: %s", status.status, name, status.error)
        statuses.append(status)
        if progress is not None:
            progress(i + 1, total, f"{name}: {status.status}"
                     + (f" ({status.n_objects} objects)" if status.status == "done" else ""))
    outputs = write_outputs(out, names, statuses, done)
    return FolderResult(statuses, outputs, cancelled)


def write_outputs(
    out: str | Path,
    names: Sequence[str],
    statuses: Sequence[ImageStatus],
    done: Sequence[tuple[ImageStatus, ImageMeasurement]],
) -> dict[str, Path]:
    """Write merged, per-plugin and summary CSVs (each atomically)."""
    paths = output_paths(out, names)
    merged = {id(status): merge_plugins(m, names) for status, m in done}
    write_csv(paths["merged"], list(merged.values()) or [_EMPTY])
    for name in names:
        write_csv(paths[name], [m.tables[name] for _, m in done if name in m.tables] or [_EMPTY])
    class_names = sorted({str(c) for table in merged.values() for c in table["class_name"]})
    rows = [summary_row(s.image, s.status, s.error or "; ".join(
                [f"{k}: {v}" for k, v in s.plugin_errors.items()]
                + [f"{k}: warning: {v}" for k, v in s.plugin_warnings.items()]),
                merged.get(id(s)), class_names) for s in statuses]
    write_csv(paths["summary"], rows)
    return paths


def measure_folder(
    folder: str | Path,
    out: str | Path,
    plugins: Sequence[str | MeasurementPlugin],
    params: Mapping[str, Mapping[str, Any]] | None = None,
    labels: str = "auto",
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> FolderResult:
    """Measure every image in ``folder`` (labels chosen by ``labels``: auto/pred/seg)."""
    return measure_items(find_items(folder, labels), out, plugins, params, progress, cancel)
