"""Analyzer controller: the image list, the model list and the inference form.

Wires :class:`~guv_app.views.analyzer.window.AnalyzerWindow` to the Qt-free services
(:mod:`guv_app.services.analysis`, the engine registry) and composes the parts that each
own one job: batch prediction on a worker (:mod:`.analyzer_prediction`), the Trainer's
editor for corrections (:mod:`.analyzer_editor`), measurement (:mod:`.analyzer_measure`),
tracks and links (:mod:`.analyzer_tracks`, :mod:`.analyzer_links`) and promote
(:mod:`.analyzer_promote`). Questions to the user go through ``self.confirm(title, text) ->
bool`` and ``self.choose_promote(title, text)`` so tests answer them by replacing those
callables instead of blocking on a dialog.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from PyQt6 import QtCore, QtWidgets, sip

from guv_app.controllers.analyzer_editor import PredictionEditor
from guv_app.controllers.analyzer_links import LinkPlotController
from guv_app.controllers.analyzer_measure import MeasureController
from guv_app.controllers.analyzer_prediction import BatchPrediction
from guv_app.controllers.analyzer_promote import PromoteActions
from guv_app.controllers.analyzer_tracks import TrackController
from guv_app.controllers.gui_settings import app_settings
from guv_app.controllers.model_catalog import default_catalog
from guv_app.controllers.promote_question import ask_promote_mode
from guv_app.services.analysis.batch import BatchResult, list_images
from guv_app.services.analysis.predictions import has_prediction, prediction_state, settings_hash
from guv_app.services.analysis.promote import PromoteResult
from guv_app.services.batch import PlaneSelection, SelectionError
from guv_app.services.engine.params import INFERENCE_PARAMS
from guv_app.views.analyzer.window import AnalyzerWindow

log = logging.getLogger(__name__)
# the inference settings the form shows (same table as `multicellpose predict`'s flags)
FORM_PARAMS = tuple(p for p in INFERENCE_PARAMS if p.name not in ("tile_overlap", "batch_size"))
LAST_DIR_KEY = "analyzer/last_dir"


class AnalyzerController(QtCore.QObject):
    """Owns one Analyzer window."""

    batchFinished = QtCore.pyqtSignal(object)  # BatchResult

    def __init__(self, window: AnalyzerWindow | None = None) -> None:
        super().__init__()
        self.window = window or AnalyzerWindow()
        self.images: list[Path] = []
        self.settings = app_settings()
        self.confirm: Callable[[str, str], bool] = self._confirm
        # promote over existing labels: "replace" / "add" / "fill" / None (keep)
        self.choose_promote: Callable[[str, str], str | None] = \
            lambda title, text: ask_promote_mode(self.window, title, text)
        self.editor = PredictionEditor(self)
        self.window.set_editor(self.editor.widget)
        self.editor.saved.connect(lambda _path: self._refresh_row(self.current_row()))
        self.measure = MeasureController(self.window, lambda: list(self.images),
                                         before_run=self.editor.leave, parent=self)
        self.tracks = TrackController(self.window, self.editor, parent=self)
        self.measure.finished.connect(
            lambda run: self.tracks.set_measurements(run.table, run.class_colors))
        self.links = LinkPlotController(self.window, parent=self)  # per linked object
        self.promotion = PromoteActions(  # choose_promote read at each promote: replaceable
            self.window, lambda: self.images, before=self.editor.leave,
            ask=lambda title, text: self.choose_promote(title, text), parent=self)
        self.measure.finished.connect(lambda run: self.links.set_measurements(run.table))
        w, inf, files = self.window, self.window.inference, self.window.files
        inf.set_params(FORM_PARAMS)
        self.prediction = BatchPrediction(self, parent=self)
        self.task = self.prediction.task
        self.prediction.finished.connect(self.batchFinished)
        inf.refreshModels.connect(self.refresh_models)
        self.catalog = default_catalog()  # shared: a model trained in Ctrl+T shows up here
        self.catalog.models_changed.connect(self._fill_models)
        files.openFolderRequested.connect(self.ask_folder)
        files.addFilesRequested.connect(self.ask_files)
        files.currentChanged.connect(self.show_row)
        w.close_guard = self.can_close
        self.refresh_models()

    # ------------------------------------------------------------------ models
    def refresh_models(self) -> None:
        """Re-read the registry through the shared catalog, then fill the model combo."""
        self.catalog.refresh()
        self._fill_models()

    def _fill_models(self, *_names) -> None:
        """Model combo from the catalog (built-ins first, then trained models)."""
        if sip.isdeleted(self.window):  # the window is gone: stop following the catalog
            with contextlib.suppress(TypeError, RuntimeError):
                self.catalog.models_changed.disconnect(self._fill_models)
            return
        metas = self.catalog.models
        tips = [f"{m.backbone}, {m.n_classes} class(es)"
                + (f": {', '.join(m.class_names[1:])}" if m.n_classes else "")
                + (f"\n{m.description}" if m.description else "")
                + (f"\nUnusable: {self.catalog.problem(m.name)}"
                   if self.catalog.problem(m.name) else "") for m in metas]
        self.window.inference.set_models([m.name for m in metas], tips)

    def segment_params(self):
        """(model name, engine SegmentParams, force) from the form."""
        from guv_app.services.engine.inference import SegmentParams

        s = self.window.inference.settings()
        params = SegmentParams(channels=s["channels"],
                               **{p.name: s[p.name] for p in FORM_PARAMS})
        return s["model"], params, s["force"]

    def plane_selection(self) -> PlaneSelection | None:
        """The Series / T / Z selection of the form (the CLI's syntax); None (and a message)
        when it does not parse."""
        try:
            return PlaneSelection.parse(**self.window.inference.plane_texts())
        except SelectionError as exc:
            self.window.show_message(str(exc))
            return None

    # ------------------------------------------------------------------ images
    def ask_folder(self) -> None:
        start = str(self.settings.value(LAST_DIR_KEY, str(Path.home())))
        folder = QtWidgets.QFileDialog.getExistingDirectory(self.window, "Open folder", start)
        if folder:
            self.open_folder(folder)

    def ask_files(self) -> None:
        start = str(self.settings.value(LAST_DIR_KEY, str(Path.home())))
        files, _ = QtWidgets.QFileDialog.getOpenFileNames(self.window, "Add images", start)
        if files:
            self.set_images([*self.images, *map(Path, files)])

    def open_folder(self, folder: str | os.PathLike) -> bool:
        """Show the images of ``folder``; a ``predict --out`` folder (with a run index and
        no images) shows the images its index lists, with their predictions."""
        from guv_app.services.measurement.labels import indexed_images, indexed_predictions

        try:
            images = list_images(folder)
            self.editor.indexed = indexed_predictions([folder])
            self.measure.predictions_dirs = [Path(folder)] if self.editor.indexed else []
            if not images:
                images = indexed_images(folder)
        except OSError as exc:
            self.window.show_message(f"Cannot open {folder}: {exc}")
            return False
        self.settings.setValue(LAST_DIR_KEY, str(folder))
        self.window.setWindowTitle(f"{Path(folder).name} — MultiCellPose Analyzer")
        self.set_images(images)
        if not images:
            self.window.show_message(f"{folder}: no image files in this folder")
        return True

    def set_images(self, images: Sequence[Path]) -> None:
        """Show these images (duplicates dropped, order kept) and open the first."""
        if not self.editor.leave():
            return
        seen: dict[Path, None] = {}
        for p in images:
            seen.setdefault(Path(p), None)
        self.images = list(seen)
        files = self.window.files
        files.set_files([p.name for p in self.images],
                        ["yes" if self._predicted(p) else "" for p in self.images])
        self.update_summary()
        if self.images:
            files.set_current(0)
            self.show_row(0)  # row 0 may have been current already: then no signal came
        else:
            self.editor.clear()

    def _predicted(self, image: Path) -> bool:
        """A prediction beside ``image`` or listed for it by the opened run index."""
        indexed = {key[0] for key in self.editor.indexed}
        return has_prediction(image) or str(Path(image).resolve()) in indexed

    def current_row(self) -> int:
        return self.window.files.table.currentRow()

    def show_row(self, row: int) -> None:
        """Show the image of ``row`` in the viewer (nothing to do when it is on screen)."""
        if 0 <= row < len(self.images) and self.images[row] != self.editor.path:
            if not self.editor.open(self.images[row]):
                self.window.show_message(self.editor.error or "cannot open image")
            self.window.tabs.setCurrentIndex(0)

    def _refresh_row(self, row: int) -> None:
        if 0 <= row < len(self.images):
            model, params, _ = self.segment_params()
            image = self.images[row]
            on_screen = self.editor.prediction_file() if image == self.editor.path else None
            state = prediction_state(image, settings_hash(model, params), on_screen)
            self.window.files.set_prediction(row, {"none": "", "current": "yes",
                                                   "other": "other settings"}.get(state, state))

    def update_summary(self) -> None:
        n = len(self.images)
        n_pred = sum(self._predicted(p) for p in self.images)
        self.window.files.summary.setText(f"{n} image(s) · {n_pred} predicted")

    # ------------------------------------------------------------------ batch
    @property
    def running(self) -> bool:
        return self.task.running

    @property
    def last_batch(self) -> BatchResult | None:
        """The last prediction run's result (:class:`.analyzer_prediction.BatchPrediction`)."""
        return self.prediction.last

    # ---------------------------------------------------------------- promote
    def promote_selected(self) -> PromoteResult | None:
        """Copy the selected images' predictions to training labels (asks first where
        labels exist; :class:`.analyzer_promote.PromoteActions`)."""
        return self.promotion.promote_selected()

    def undo_last_promote(self) -> list[str]:
        """Remove what the last promote wrote and put the replaced label files back."""
        return self.promotion.undo_last()

    @property
    def last_promote(self) -> PromoteResult | None:
        """The last promote's result (None before one, or after Undo promote)."""
        return self.promotion.last

    def _confirm(self, title: str, text: str) -> bool:
        Btn = QtWidgets.QMessageBox.StandardButton
        answer = QtWidgets.QMessageBox.question(self.window, title, text,
                                                Btn.Yes | Btn.No, Btn.No)
        return answer == Btn.Yes

    # ------------------------------------------------------------------ closing
    def can_close(self) -> bool:
        """Save pending edits and stop workers before the window closes."""
        self.editor.leave()
        for task in (self.task, self.measure.task, self.tracks.task):
            task.shutdown()
        return True

    def show(self) -> None:
        self.window.show()


def open_analyzer(path: str | os.PathLike | None = None) -> AnalyzerController:
    """Create, show and return an Analyzer (optionally on a folder); home-window factory."""
    from guv_app.controllers.engine_warmup import warm_up_engine_later

    ctl = AnalyzerController()
    ctl.show()
    warm_up_engine_later()  # torch + cellpose imported before the first Run
    if path is not None:
        ctl.open_folder(path)
    return ctl
