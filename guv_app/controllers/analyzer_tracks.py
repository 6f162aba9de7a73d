"""Tracks side of the Analyzer: link the measured objects over time and edit whole tracks.

The table comes from the Analyzer's measurements (``MeasureController.finished``) or from a
CSV written by ``multicellpose measure``. Tracking runs on a worker through the same
service as ``multicellpose track``; deleting and merging tracks replace the table with a new
one (``TrackEdits``), so each edit is one undo step (Ctrl+Z in the Tracks tab). Export
writes the tracked table and the wide one-column-per-track file of the plotted measurement.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PyQt6 import QtCore, QtWidgets

from guv_app.controllers.task_runner import TaskRunner, step_reporter
from guv_app.plugins.base import Table
from guv_app.services.tracking import (
    TrackEdits,
    TrackingConfig,
    TrackingError,
    class_series,
    frames_from_image_order,
    time_axis,
    track_series,
    track_table,
    wide_table,
)
from guv_app.views.analyzer.track_panel import (
    PER_CLASS,
    TrackPanel,
    numeric_columns,
    track_color,
)

if TYPE_CHECKING:
    from guv_app.controllers.analyzer_editor import PredictionEditor
    from guv_app.views.analyzer.window import AnalyzerWindow

log = logging.getLogger(__name__)


class TrackController(QtCore.QObject):
    """Owns the Tracks tab of one Analyzer window."""

    tracked = QtCore.pyqtSignal(object)  # TrackingResult

    def __init__(self, window: AnalyzerWindow, editor: PredictionEditor | None = None,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.editor = editor
        self.panel = TrackPanel()
        window.tabs.addTab(self.panel, "Tracks")
        self.measured: Table = {}
        self.class_colors: dict[str, tuple[int, int, int]] = {}
        self.edits: TrackEdits | None = None
        self.task = TaskRunner(self, name="tracking")
        self.task.finished.connect(self._tracked)
        self.task.failed.connect(self._failed)
        # file dialogs; tests replace these with plain functions
        self.ask_open_path: Callable[[], str | None] = self._ask_open_path
        self.ask_save_path: Callable[[], str | None] = self._ask_save_path
        p = self.panel
        p.loadRequested.connect(lambda: self.load_csv())
        p.trackRequested.connect(self.track)
        p.exportRequested.connect(lambda: self.export())
        p.deleteRequested.connect(self.delete_selected)
        p.mergeRequested.connect(self.merge_selected)
        p.undoRequested.connect(self.undo)
        p.redoRequested.connect(self.redo)
        p.plotChanged.connect(self.redraw)
        p.colorImageToggled.connect(lambda _on: self.color_image())
        if editor is not None:  # a new image or plane in the Image tab: colour it too
            editor.doc.events.connect(
                lambda ev: self.color_image() if ev.kind == "reset" else None)

    @property
    def table(self) -> Table | None:
        return self.edits.table if self.edits is not None else None

    # ------------------------------------------------------------------ input
    def set_measurements(self, table: Table, class_colors: dict | None = None) -> None:
        """A new measurement table: tracking is possible when it has time points (t), or
        several single-time images, taken as one file per frame in name order."""
        images = len(set(np.asarray(table.get("image", [])).astype(str).tolist()))
        one_time = "t" not in table or len(np.unique(np.asarray(table["t"]))) <= 1
        by_name = images > 1 and one_time
        if by_name:
            table = frames_from_image_order(table)
        self.measured = dict(table)
        self.class_colors = dict(class_colors or {})
        self.edits = None
        self.panel.set_tracks([])
        self.panel.export.setEnabled(False)
        n = len(next(iter(table.values()))) if table else 0
        ok = "t" in table and n > 0
        self.panel.track.setEnabled(ok)
        self.panel.set_columns(numeric_columns(table))
        calibrated = {"centroid_y_um", "centroid_x_um"} <= set(table)
        self.panel.units.model().item(1).setEnabled(calibrated)
        if not calibrated:
            self.panel.units.setCurrentIndex(0)
        if ok:
            frames = len(np.unique(np.asarray(table["t"])))
            self.panel.status.setText(
                f"{n} objects in {frames} time point(s)"
                + (" (one image per frame, in name order)" if by_name else "")
                + ": ready to track.")
        else:
            self.panel.status.setText("This table has no time column (t) and one image: "
                                      "measure every plane of a time-lapse, or load such a "
                                      "table.")

    def load_csv(self, path: str | Path | None = None) -> bool:
        from guv_app.services.measurement.tables import read_csv

        path = path or self.ask_open_path()
        if not path:
            return False
        try:
            table = read_csv(path)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            self.panel.status.setText(f"Cannot read {path}: {exc}")
            return False
        self.set_measurements(table)
        if "track_id" in table:  # an already tracked table: edit it
            self._show(TrackEdits(table))
        return True

    # ------------------------------------------------------------------ tracking
    def config(self) -> TrackingConfig:
        p = self.panel
        return TrackingConfig(max_distance=p.max_distance.value(), max_gap=p.gap.value(),
                              units=p.units.currentData(), area_weight=p.area_weight.value(),
                              intensity_weight=p.intensity_weight.value(),
                              same_class=p.same_class.isChecked(),
                              divisions=p.divisions.isChecked())

    def track(self) -> bool:
        if not self.measured or self.task.running:
            return False
        table, config = self.measured, self.config()

        def job(report, cancel):
            return track_table(table, config, step_reporter(report), cancel.is_set)

        self.panel.track.setEnabled(False)
        self.panel.status.setText("tracking…")
        self.task.start(job)
        return True

    def _failed(self, message: str) -> None:
        self.panel.track.setEnabled(True)
        self.panel.status.setText(f"Tracking failed: {message}")

    def _tracked(self, result) -> None:
        self.panel.track.setEnabled(True)
        self._show(TrackEdits(result.table))
        self.panel.status.setText(result.summary())
        self.tracked.emit(result)

    def _show(self, edits: TrackEdits) -> None:
        self.edits = edits
        self.panel.export.setEnabled(True)
        self.refresh()

    # ------------------------------------------------------------------ editing
    def delete_selected(self) -> bool:
        ids = self.panel.selected()
        if self.edits is None or not ids:
            return False
        return self._edit(lambda: self.edits.delete(ids),
                          f"deleted track(s) {', '.join(map(str, ids))}")

    def merge_selected(self) -> bool:
        ids = self.panel.selected()
        if self.edits is None or len(ids) != 2:
            self.panel.status.setText("Select exactly two tracks to merge.")
            return False
        keep, other = sorted(ids)
        return self._edit(lambda: self.edits.merge(keep, other),
                          f"merged track {other} into track {keep}")

    def _edit(self, change: Callable[[], None], done: str) -> bool:
        try:
            change()
        except TrackingError as exc:
            self.panel.status.setText(str(exc))
            return False
        self.panel.status.setText(f"{done} (Ctrl+Z undoes)")
        self.refresh()
        return True

    def undo(self) -> None:
        if self.edits is not None and self.edits.undo():
            self.panel.status.setText("undone")
            self.refresh()

    def redo(self) -> None:
        if self.edits is not None and self.edits.redo():
            self.panel.status.setText("redone")
            self.refresh()

    # ------------------------------------------------------------------ display
    def refresh(self) -> None:
        """Track list, time plot, and the Measurements tab's table and plots (with tracks)."""
        table = self.table
        if table is None:
            return
        self.window.table.set_table(table)
        self.window.plots.set_table(table, self.class_colors)
        ids = np.asarray(table["track_id"], dtype=np.int64)
        t = np.asarray(table["t"])
        names = np.asarray(table.get("class_name", np.full(len(ids), "")), dtype=object)
        order = np.flatnonzero(ids > 0)
        order = order[np.lexsort((t[order], ids[order]))]  # by track, then time
        tracks, starts, counts = np.unique(ids[order], return_index=True, return_counts=True)
        rows = []
        for track, start, count in zip(tracks, starts, counts, strict=True):
            first, last = order[start], order[start + count - 1]
            rows.append((int(track), f"track {int(track)} · {names[first]} · "
                                     f"t {t[first]}–{t[last]} ({int(count)} objects)"))
        self.panel.set_tracks(rows)  # emits plotChanged -> redraw
        self.color_image()

    def object_colors(self, image: str, series: int = 0, t: int = 0,
                      z: int = 0) -> np.ndarray | None:
        """RGB per object id of one plane of ``image`` from its track (untracked: grey).

        A table made from one file per frame matches the file name (``frame_image``).
        """
        table = self.table
        if table is None:
            return None
        if "frame_image" in table:
            rows = np.asarray(table["frame_image"]).astype(str) == image
        else:
            rows = np.asarray(table.get("image", [])).astype(str) == image
            for column, value in (("series", series), ("t", t), ("z", z)):
                if column in table:
                    rows &= np.asarray(table[column]) == value
        ids = np.asarray(table["object_id"], np.int64)[rows]
        tracks = np.asarray(table["track_id"], np.int64)[rows]
        colors = np.full((int(ids.max()) + 1 if len(ids) else 1, 3), 160, np.uint8)
        for object_id, track in zip(ids, tracks, strict=True):
            if track > 0:
                colors[object_id] = track_color(int(track))
        return colors

    def color_image(self) -> None:
        """Colour the Image tab's objects by track (or give it its own colours back)."""
        editor = self.editor
        if editor is None:
            return
        on = self.panel.color_image.isChecked() and editor.path is not None
        plane = getattr(editor, "plane", None)  # (series, t, z) on screen, when it has one
        where = (plane.series, plane.t, plane.z) if plane is not None else (0, 0, 0)
        colors = self.object_colors(editor.path.name, *where) if on else None
        if colors is not None or editor.trainer.object_colors is not None:
            editor.trainer.set_object_colors(colors)

    def redraw(self) -> None:
        table, column = self.table, self.panel.column.currentText()
        if table is None or not column:
            self.panel.plot.clear()
            return
        try:
            _, x_label = time_axis(table)
            if self.panel.mode.currentText() == PER_CLASS:
                curves = class_series(table, column)
            else:
                chosen = set(self.panel.selected())
                curves = [s for s in track_series(table, column)
                          if not chosen or int(s.name.split()[-1]) in chosen]
        except TrackingError as exc:
            self.panel.status.setText(str(exc))
            return
        self.panel.draw(curves, x_label, self.class_colors, self.panel.selected())

    # ------------------------------------------------------------------ export
    def _ask_open_path(self) -> str | None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.window, "Load measurements", "", "CSV files (*.csv)")
        return path or None

    def _ask_save_path(self) -> str | None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self.window, "Export tracks", "tracks.csv", "CSV files (*.csv)")
        return path or None

    def export(self, path: str | Path | None = None) -> list[Path] | None:
        """Write the tracked table and ``<name>_wide_<measurement>.csv`` beside it."""
        from guv_app.services.measurement.tables import write_csv

        if self.table is None:
            return None
        path = path or self.ask_save_path()
        if not path:
            return None
        path = Path(path).with_suffix(".csv")
        column = self.panel.column.currentText() or "area"
        wide = path.with_name(f"{path.stem}_wide_{column}.csv")
        try:
            written = [write_csv(path, [self.table]),
                       write_csv(wide, [wide_table(self.table, column)])]
        except (OSError, TrackingError) as exc:
            self.window.show_message(f"Could not export the tracks: {exc}")
            return None
        self.window.show_message(f"Wrote {', '.join(p.name for p in written)}")
        return written

