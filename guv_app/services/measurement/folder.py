"""Measure every plane of a folder (or a list of planes) and write the CSV files.

Files written for ``out = results.csv`` (see :func:`output_paths`):

* ``results.csv`` — one row per object of every plane: ``image``, ``series``, ``t``, ``z``
  (and ``time_s`` / ``z_um`` when the file says them), ``object_id``, ``class_id``,
  ``class_name``, then the columns of every plugin side by side, pixel columns followed by
  their µm / µm² versions when the pixel size is known (``measurement.units``);
* ``results_<plugin>.csv`` — the same rows with only that plugin's columns (one per plugin);
* ``results_summary.csv`` — one row per plane: ``status`` (done/failed/skipped),
  ``error``, ``n_objects``, ``count_<class>`` per class and ``mean_<column>`` per numeric
  measurement;
* ``results_per_link.csv`` — only for label files with objects linked across channels
  (``measurement.linked``): one row per linked object, each channel's columns side by side.

A plane that cannot be read, has no label file or whose labels do not match is reported
and the others go on; a plugin that fails on a plane is reported and the other plugins'
columns are still written. The planes run through the one batch runner
(``services.batch.run_batch``) with :func:`measure_plane` as the work function, so
progress, cancel (between planes; files are then written for the planes done so far) and
an optional ``executor`` behave as in ``predict``. Each plane's rows are rendered as CSV
text by the work function itself (``measurement.csv_parts``: on Dask workers, in
parallel), so writing the files here only joins texts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guv_app.plugins.base import MeasurementPlugin
from guv_app.services.batch import ItemFailed, ItemSkipped, Outcome, PlaneStatus, run_batch
from guv_app.services.batch.planes import read_plane
from guv_app.services.measurement.csv_parts import PlaneRows, join_parts, render_plane
from guv_app.services.measurement.labels import PlaneItem, find_items
from guv_app.services.measurement.linked import measure_label_sets
from guv_app.services.measurement.runner import (
    KEY_COLUMNS,
    ImageMeasurement,
    resolve_plugins,
)
from guv_app.services.measurement.tables import summary_row, write_csv
from guv_app.services.measurement.units import unit_kinds, with_plane_and_units
from guv_app.services.progress import CancelCheck, Progress

log = logging.getLogger(__name__)

@dataclass
class MeasureTask:
    """One plane to measure (plain data: pickles to a Dask worker).

    ``plugins`` are resolved (plugin, params) pairs; ``pixel_size`` (y, x) µm is used when
    the file has none (``--pixel-size``); ``kinds`` maps pixel columns to unit kinds.
    """

    item: PlaneItem
    plugins: list[tuple[MeasurementPlugin, dict[str, Any]]]
    pixel_size: tuple[float, float] | None = None
    kinds: dict[str, str] = field(default_factory=dict)
    plugin_timeout: float | None | str = "default"  # see runner.measure_arrays


def load_plane(item: PlaneItem):
    """The plane's (C, Y, X) pixels and its labels (``SegData``); ItemFailed/ItemSkipped."""
    import cellpose_io

    if item.skip:
        raise ItemSkipped(item.skip)
    if item.problem:
        raise ItemFailed(item.problem)
    if item.labels is None:
        raise ItemSkipped("no label file")
    try:
        channels = read_plane(item.plane)
        seg = cellpose_io.read_label_source(item.labels)  # a _seg.npy or a mask image
    except (cellpose_io.CellposeIOError, OSError, IndexError) as exc:
        raise ItemFailed(str(exc)) from None
    if tuple(channels.shape[-2:]) != tuple(seg.masks.shape):
        raise ItemFailed(
            f"{item.plane.where}: image is {channels.shape[-2]}x{channels.shape[-1]} but "
            f"labels {item.labels.name} are {seg.masks.shape[0]}x{seg.masks.shape[1]}")
    return channels, seg


def measure_plane(task: MeasureTask) -> ImageMeasurement:
    """Measure one plane with every plugin and add the plane and µm columns; the work
    function of every measure run. Raises ItemFailed (unreadable, labels not matching) or
    ItemSkipped (no label file)."""
    from guv_app.services.measurement.runner import MeasurementError

    item = task.item
    channels, seg = load_plane(item)
    try:
        measured = measure_label_sets(channels, seg, task.plugins, item.image.name,
                                      task.plugin_timeout)  # per-channel sets and links
    except MeasurementError as exc:
        raise ItemFailed(str(exc)) from None
    pixel_size = item.plane.pixel_size_um or task.pixel_size
    kinds = task.kinds or unit_kinds(task.plugins)
    measured.key = with_plane_and_units(measured.key, item.plane, pixel_size, kinds)
    measured.tables = {name: with_plane_and_units(table, item.plane, pixel_size, kinds)
                       for name, table in measured.tables.items()}
    return measured


def measure_plane_rows(task: MeasureTask) -> PlaneRows:
    """:func:`measure_plane` with its tables already rendered as CSV rows: the work
    function of runs that only write files (the CLI), so the text is made where the plane
    was measured (in parallel on Dask workers) and only text travels back."""
    return render_plane(measure_plane(task), [plugin.name for plugin, _ in task.plugins])


@dataclass
class FolderResult:
    """Outcome of a run: per-plane status, files written, and whether it was cancelled."""

    images: list[PlaneStatus]
    outputs: dict[str, Path]
    cancelled: bool = False

    @property
    def failures(self) -> list[str]:
        """One line per failed plane, skipped plane or failed plugin."""
        lines = [f"{s.label}: {s.reason}" for s in self.images
                 if s.status not in ("done", "cancelled")]
        lines += [f"{s.label}: plugin {name}: {error}"
                  for s in self.images for name, error in s.plugin_errors.items()]
        return lines

    @property
    def warnings(self) -> list[str]:
        """One line per flagged plugin result (a column with no finite value)."""
        return [f"{s.label}: plugin {name}: {text}"
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


def _status(outcome: Outcome[MeasureTask]) -> PlaneStatus:
    plane = outcome.task.item.plane
    measured: ImageMeasurement | PlaneRows | None = outcome.result
    labels = outcome.task.item.labels
    return PlaneStatus(
        str(plane.image), outcome.status, outcome.reason, plane.series, plane.t, plane.z,
        n_objects=measured.n_objects if measured else 0, seconds=outcome.seconds,
        file=str(labels) if labels else "", single=plane.single,
        plugin_errors=dict(measured.errors) if measured else {},
        plugin_warnings=dict(getattr(measured, "warnings", {})) if measured else {})


def run_planes(
    items: Sequence[PlaneItem],
    plugins: Sequence[str | MeasurementPlugin],
    params: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    pixel_size: tuple[float, float] | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | CancelCheck | None = None,
    executor: Executor | None = None,
    plugin_timeout: float | None | str = "default",
    rows_only: bool = False,
) -> tuple[list[str], list[PlaneStatus],
           list[tuple[PlaneStatus, ImageMeasurement | PlaneRows]], bool]:
    """Measure ``items``; (plugin names, statuses of the planes reached, (status,
    measurement) of the planes done, cancelled). Cancelled planes are left out.
    ``rows_only``: the measurements are :class:`PlaneRows` (CSV rows, for
    :func:`write_outputs`) instead of tables."""
    resolved = resolve_plugins(plugins, params)  # bad names/params fail before any work
    names = [plugin.name for plugin, _ in resolved]
    kinds = unit_kinds(resolved)
    tasks = [MeasureTask(item, resolved, pixel_size, kinds, plugin_timeout) for item in items]
    work = measure_plane_rows if rows_only else measure_plane
    report = run_batch(tasks, work, name=lambda t: t.item.plane.label,
                       executor=executor, progress=progress, cancel=cancel)
    statuses, done = [], []
    for outcome in report.outcomes:
        if outcome.status == "cancelled":
            continue
        status = _status(outcome)
        if status.status in ("failed", "skipped"):
            log.warning("%s %s: %s", status.status, status.label, status.reason)
        statuses.append(status)
        if outcome.status == "done":
            done.append((status, outcome.result))
    return names, statuses, done, report.cancelled


def measure_items(
    items: Sequence[PlaneItem],
    out: str | Path,
    plugins: Sequence[str | MeasurementPlugin],
    params: Mapping[str, Mapping[str, Any]] | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | CancelCheck | None = None,
    plugin_timeout: float | None | str = "default",
    *,
    pixel_size: tuple[float, float] | None = None,
    executor: Executor | None = None,
) -> FolderResult:
    """Measure ``items`` with the named plugins and write the CSV files next to ``out``.

    Every item ends up in the summary as done, failed or skipped, whatever it raised.
    ``plugin_timeout``: seconds one plugin may spend on one plane (see ``measure_arrays``).
    """
    names, statuses, done, cancelled = run_planes(
        items, plugins, params, pixel_size=pixel_size, progress=progress, cancel=cancel,
        executor=executor, plugin_timeout=plugin_timeout, rows_only=True)
    outputs = write_outputs(out, names, statuses, done)
    return FolderResult(statuses, outputs, cancelled)


def write_outputs(
    out: str | Path,
    names: Sequence[str],
    statuses: Sequence[PlaneStatus],
    done: Sequence[tuple[PlaneStatus, ImageMeasurement | PlaneRows]],
) -> dict[str, Path]:
    """Write merged, per-plugin and summary CSVs (each atomically); a measurement given as
    tables is rendered here, one given as :class:`PlaneRows` is only joined."""
    from cellpose_io.atomic import atomic_write_text

    paths = output_paths(out, names)
    rendered = {id(status): render_plane(m, names) for status, m in done}
    planes = list(rendered.values())
    atomic_write_text(paths["merged"], join_parts([p.merged for p in planes], KEY_COLUMNS))
    for name in names:
        atomic_write_text(paths[name], join_parts(
            [p.plugins[name] for p in planes if name in p.plugins], KEY_COLUMNS))
    class_names = sorted({c for p in planes for c in p.class_counts})
    rows = []
    for s in statuses:
        plane = rendered.get(id(s))
        rows.append(summary_row(
            Path(s.image).name, s.status, s.reason or "; ".join(
                [f"{k}: {v}" for k, v in s.plugin_errors.items()]
                + [f"{k}: warning: {v}" for k, v in s.plugin_warnings.items()]),
            None, class_names, plane=(s.series, s.t, s.z),
            summary=(plane.class_counts, plane.summary) if plane is not None else None))
    write_csv(paths["summary"], rows)
    links = [p.per_link for p in planes if p.per_link is not None]
    if links:  # labels with links across channels: one row per linked object
        paths["per_link"] = out_path_per_link(paths["merged"])
        atomic_write_text(paths["per_link"], join_parts(links))
    return paths


def out_path_per_link(merged: Path) -> Path:
    """``results_per_link.csv`` beside ``results.csv``."""
    return merged.with_name(f"{merged.stem}_per_link{merged.suffix}")


def measure_folder(
    folder: str | Path,
    out: str | Path,
    plugins: Sequence[str | MeasurementPlugin],
    params: Mapping[str, Mapping[str, Any]] | None = None,
    labels: str = "auto",
    progress: Progress | None = None,
    cancel: threading.Event | CancelCheck | None = None,
    **kwargs: Any,
) -> FolderResult:
    """Measure every plane in ``folder`` (labels chosen by ``labels``: auto/pred/seg);
    ``kwargs`` go to :func:`measure_items` (``pixel_size``, ``executor``)."""
    return measure_items(find_items(folder, labels), out, plugins, params, progress, cancel,
                         **kwargs)
