"""Measurement side of the Analyzer: plugin forms, folder measurement, table, plots, export.

Plugins are discovered through their entry point group (broken ones are listed greyed out
with the reason); each plugin's form is generated from its parameter schema. Measuring runs
on a worker thread over the Analyzer's image list; the rows go to the table and the plots,
and "Export CSV" writes the same files as ``multicellpose measure``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6 import QtCore, QtWidgets

from cellpose_io.atomic import atomic_write_bytes
from guv_app.controllers.task_runner import TaskRunner, last_step, step_reporter
from guv_app.plugins.base import PluginError
from guv_app.services.analysis.measure import MeasureRun, measure_images
from guv_app.services.batch import PlaneSelection, SelectionError

if TYPE_CHECKING:
    from guv_app.views.analyzer.window import AnalyzerWindow

log = logging.getLogger(__name__)


class MeasureController(QtCore.QObject):
    """Owns the measure panel, results table and plots of one Analyzer window."""

    finished = QtCore.pyqtSignal(object)  # MeasureRun

    def __init__(self, window: AnalyzerWindow, images: Callable[[], list[Path]],
                 before_run: Callable[[], bool] | None = None,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.panel = window.measure
        self._images = images
        self._before_run = before_run
        self.run: MeasureRun | None = None
        self.predictions_dirs: list[Path] = []  # predict --out folders whose index to use
        self.task = TaskRunner(self, name="measurement")
        self.task.progress.connect(self._on_reports)
        self.task.finished.connect(self._done)
        self.task.failed.connect(self._failed)
        # where export dialogs start / which path they return; tests replace these
        self.ask_save_path: Callable[[str, str], str | None] = self._ask_save_path
        self.panel.measureRequested.connect(self.measure)
        self.panel.cancelRequested.connect(self.cancel)
        self.panel.exportCsvRequested.connect(lambda: self.export_csv())
        window.plots.exportRequested.connect(lambda: self.export_png())
        self.load_plugins()

    def load_plugins(self) -> None:
        from guv_app.plugins.discovery import discover_plugins

        rows = []
        for info in discover_plugins():
            plugin = info.plugin
            rows.append((info.name, getattr(plugin, "description", "") if plugin else "",
                         list(getattr(plugin, "params_schema", ())) if plugin else [],
                         None if info.ok else info.error or "broken"))
        self.panel.set_plugins(rows)

    # ------------------------------------------------------------------ running
    @property
    def running(self) -> bool:
        return self.task.running

    def measure(self) -> bool:
        """Measure every selected plane of every image of the list with the checked plugins
        (background thread)."""
        if self.running:
            return False
        images = self._images()
        plugins = self.panel.checked()
        if not images or not plugins:
            self.panel.status.setText("Open a folder and tick at least one plugin.")
            return False
        if self._before_run is not None and not self._before_run():
            return False
        params = self.panel.params()
        labels = self.panel.labels.currentData()
        try:  # bad parameters fail here, at once, with the plugin's message
            from guv_app.services.measurement.runner import resolve_plugins

            resolve_plugins(plugins, params)
        except PluginError as exc:
            self.panel.status.setText(str(exc))
            return False
        try:  # the planes chosen in the Predict panel (Series / T / Z), as for predict
            selection = PlaneSelection.parse(**self.window.inference.plane_texts())
        except SelectionError as exc:
            self.panel.status.setText(str(exc))
            return False

        def job(report, cancel):
            return measure_images(images, plugins, params, labels, step_reporter(report),
                                  cancel, selection=selection,
                                  predictions_dirs=self.predictions_dirs)

        self.panel.set_running(True)
        self.panel.show_progress(0, len(images), "measuring…")
        self.task.start(job)
        return True

    def cancel(self) -> None:
        if self.task.running:
            self.task.cancel()

    def _on_reports(self, batch: list) -> None:
        step = last_step(batch)
        if step is not None:
            self.panel.show_progress(step.done, step.total, step.message)

    def _done(self, run: MeasureRun) -> None:
        self.panel.set_running(False)
        self.run = run
        self.window.table.set_table(run.table)
        self.window.plots.set_table(run.table, run.class_colors)
        self.panel.export_csv.setEnabled(run.n_rows > 0 or bool(run.statuses))
        problems = [f"{s.label}: {s.reason}" for s in run.statuses if s.status == "failed"]
        problems += [f"{s.label}: plugin {k}: {v}" for s in run.statuses
                     for k, v in s.plugin_errors.items()]
        n_done = sum(s.status == "done" for s in run.statuses)
        n_skipped = sum(s.status == "skipped" for s in run.statuses)
        text = (f"{run.n_rows} objects from {n_done} plane(s)"
                + (f", {n_skipped} skipped (no labels)" if n_skipped else "")
                + (" — cancelled" if run.cancelled else "")
                + (f"; {len(problems)} problem(s): " + "; ".join(problems[:3])
                   if problems else ""))
        self.panel.status.setText(text)
        self.window.tabs.setCurrentIndex(1)
        self.finished.emit(run)

    def _failed(self, message: str) -> None:
        self.panel.set_running(False)
        self.panel.status.setText(f"Measuring failed: {message}")

    # ------------------------------------------------------------------ export
    def _ask_save_path(self, title: str, filt: str) -> str | None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, title, "", filt)
        return path or None

    def export_csv(self, path: str | Path | None = None) -> dict[str, Path] | None:
        """Write results.csv, one CSV per plugin and a per-image summary."""
        if self.run is None:
            return None
        path = path or self.ask_save_path("Export measurements", "CSV files (*.csv)")
        if not path:
            return None
        try:
            out = self.run.export(path)
        except OSError as exc:
            self.window.show_message(f"Could not write {path}: {exc}")
            return None
        self.window.show_message(f"Wrote {', '.join(p.name for p in out.values())}")
        return out

    def export_png(self, path: str | Path | None = None) -> Path | None:
        """Save the current plot as a PNG image."""
        path = path or self.ask_save_path("Export plot", "PNG images (*.png)")
        if not path:
            return None
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        buffer = QtCore.QBuffer()
        buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
        if not self.window.plots.render_image().save(buffer, "PNG"):
            self.window.show_message("Could not render the plot")
            return None
        try:
            atomic_write_bytes(path, bytes(buffer.data()))
        except OSError as exc:
            self.window.show_message(f"Could not write {path}: {exc}")
            return None
        self.window.show_message(f"Wrote {path.name}")
        return path
