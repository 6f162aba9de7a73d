"""Analyzer controller: image list, batch prediction on a worker, correction, promote.

Wires :class:`~guv_app.views.analyzer.window.AnalyzerWindow` to the Qt-free services
(:mod:`guv_app.services.analysis`, the engine registry) and composes the Trainer's editor
(:mod:`.analyzer_editor`) and the measurement side (:mod:`.analyzer_measure`). Questions to
the user go through ``self.confirm(title, text) -> bool`` so tests answer them by replacing
that callable instead of blocking on a dialog.
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
from guv_app.controllers.analyzer_tracks import TrackController
from guv_app.controllers.gui_settings import app_settings
from guv_app.controllers.model_catalog import default_catalog
from guv_app.controllers.promote_question import ask_promote_mode
from guv_app.controllers.run_on import scheduler_from_values
from guv_app.controllers.task_runner import Step, TaskRunner, last_step, step_reporter
from guv_app.services.analysis.batch import BatchResult, ImageStatus, list_images, predict_images
from guv_app.services.analysis.predictions import has_prediction, prediction_state, settings_hash
from guv_app.services.analysis.promote import (
    PromoteResult,
    promote,
    promote_conflicts,
    promote_summary,
    undo_promote,
)
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
        self.task = TaskRunner(self, name="prediction")
        self.task.progress.connect(self._on_reports)
        self.task.finished.connect(self._on_batch_done)
        self.task.failed.connect(self._on_batch_error)
        self.last_batch: BatchResult | None = None
        self.last_promote: PromoteResult | None = None
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
        self.measure.finished.connect(lambda run: self.links.set_measurements(run.table))
        w, inf, files = self.window, self.window.inference, self.window.files
        inf.set_params(FORM_PARAMS)
        inf.runCurrent.connect(self.run_current)
        inf.runFolder.connect(self.run_folder)
        inf.cancelRequested.connect(self.cancel)
        inf.refreshModels.connect(self.refresh_models)
        self.catalog = default_catalog()  # shared: a model trained in Ctrl+T shows up here
        self.catalog.models_changed.connect(self._fill_models)
        files.openFolderRequested.connect(self.ask_folder)
        files.addFilesRequested.connect(self.ask_files)
        files.promoteRequested.connect(self.promote_selected)
        files.undoPromoteRequested.connect(self.undo_last_promote)
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
        self._update_summary()
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

    def _update_summary(self) -> None:
        n = len(self.images)
        n_pred = sum(self._predicted(p) for p in self.images)
        self.window.files.summary.setText(f"{n} image(s) · {n_pred} predicted")

    # ------------------------------------------------------------------ batch
    @property
    def running(self) -> bool:
        return self.task.running

    def run_current(self) -> bool:
        """Predict the image on screen (always reruns; asks before replacing corrections)."""
        row = self.current_row()
        if not 0 <= row < len(self.images):
            return False
        image = self.images[row]
        on_screen = self.editor.prediction_file() if image == self.editor.path else None
        if prediction_state(image, path=on_screen) == "edited" and not self.confirm(
                "Replace corrected prediction?",
                f"The prediction of {image.name} was corrected by hand. Replace it with a "
                "new prediction?"):
            return False
        return self._start([row], force=True)

    def run_folder(self) -> bool:
        """Predict every image; skips those done with the same model and parameters."""
        _, _, force = self.segment_params()
        return self._start(list(range(len(self.images))), force=force)

    def _start(self, rows: list[int], *, force: bool) -> bool:
        if self.running or not rows or not self.editor.leave():
            return False
        model, params, _ = self.segment_params()
        if not model:
            self.window.show_message("Choose a model first")
            return False
        try:
            scheduler = scheduler_from_values(self.window.inference.settings())
        except ValueError as exc:
            self.window.show_message(str(exc))
            return False
        selection = self.plane_selection()
        if selection is None:
            return False
        images = [self.images[r] for r in rows]
        for r in rows:
            self.window.files.set_status(r, "queued")

        def job(report, cancel):
            kwargs = dict(force=force, selection=selection, progress=step_reporter(report),
                          cancel=cancel, on_image=report)
            if scheduler is None:
                return predict_images(images, model, params, **kwargs)
            from guv_app.services.distributed.executor import open_executor

            with open_executor(scheduler) as executor:  # the planes run on Dask workers
                return predict_images(images, model, params, executor=executor,
                                      write_on_worker=scheduler.workers_write, **kwargs)

        self.window.inference.set_running(True)
        self.window.inference.show_progress(0, len(images), f"loading model {model}…")
        self.task.start(job, urgent=lambda item: not isinstance(item, Step))
        return True

    def cancel(self) -> None:
        if self.task.running:
            self.task.cancel()
            self.window.inference.progress_label.setText("cancelling…")

    def _on_reports(self, batch: list) -> None:
        for item in batch:
            if isinstance(item, ImageStatus):
                self._on_image(item)
        step = last_step(batch)
        if step is not None:
            self.window.inference.show_progress(step.done, step.total, step.message)

    def _row_of(self, image: str) -> int:
        path = Path(image)
        return next((i for i, p in enumerate(self.images) if p == path), -1)

    def _on_image(self, status: ImageStatus) -> None:
        row = self._row_of(status.image)
        if row < 0:
            return
        text = status.reason or (f"{status.n_objects} objects in {status.seconds:.1f} s"
                                 if status.status == "done" else "")
        if not status.single or status.series:  # a plane of a movie / stack / series
            text = f"{status.label}: {text or status.status}"
        self.window.files.set_status(row, status.status, text)
        if status.status == "done":
            self.window.files.set_prediction(row, "yes")
            if self.images[row] == self.editor.path:
                self.editor.reload()

    def _on_batch_done(self, result: BatchResult) -> None:
        self.window.inference.set_running(False)
        self.last_batch = result
        for image, planes in result.by_image().items():  # one line per file
            row = self._row_of(image)
            if row < 0 or len(planes) == 1 and planes[0].status != "cancelled":
                continue
            status = next((s for s in ("failed", "cancelled", "done", "skipped")
                           if any(p.status == s for p in planes)), "done")
            counts = {s: sum(p.status == s for p in planes) for s in
                      ("done", "skipped", "failed", "cancelled")}
            self.window.files.set_status(row, status, f"{len(planes)} plane(s): " + ", ".join(
                f"{n} {s}" for s, n in counts.items() if n))
        self._update_summary()
        failed = result.failures
        text = (f"{result.n_files} file(s), {len(result.planes)} plane(s): "
                f"{result.count('done')} done, {result.count('failed')} failed, "
                f"{result.count('skipped')} skipped"
                + (f", {result.count('cancelled')} cancelled" if result.cancelled else ""))
        self.window.inference.progress_label.setText(text)
        self.window.show_message(text + (f" — {failed[0]}" if failed else ""))
        self.batchFinished.emit(result)

    def _on_batch_error(self, message: str) -> None:
        self.window.inference.set_running(False)
        self.window.inference.progress_label.setText(f"Prediction failed: {message}")
        self.window.show_message(f"Prediction failed: {message}")

    # ---------------------------------------------------------------- promote
    def promote_selected(self) -> PromoteResult | None:
        """Copy the selected images' predictions to training labels.

        Images that already have training labels are replaced only if the user agrees;
        otherwise they are kept and only the others are promoted.
        """
        rows = self.window.files.selected_rows()
        images = [self.images[r] for r in rows if 0 <= r < len(self.images)]
        if not images or not self.editor.leave():
            return None
        conflicts = promote_conflicts(images)
        overwrite: list[str] = []
        mode: str | None = None
        if conflicts:
            lost = sum(c.n_objects for c in conflicts)
            lines = "\n".join(c.describe() for c in conflicts[:10])
            more = f"\n… and {len(conflicts) - 10} more" if len(conflicts) > 10 else ""
            mode = self.choose_promote(
                "Replace training labels?",
                f"{len(conflicts)} image(s) already have training labels:\n{lines}{more}"
                f"\n\nReplacing them with the predictions loses {lost} labelled "
                "object(s) from the training set (the files are kept as .bak backups; "
                "Undo promote puts them back).\n"
                "No: keep them and promote only the other images.")
            if mode is not None:
                overwrite = [c.image for c in conflicts]
        result = promote(images, overwrite, mode or "replace")
        self.last_promote = result
        self.window.show_message("Promote: " + promote_summary(result))
        self.window.files.undo_promote.setEnabled(bool(result.written or result.backups))
        return result

    def undo_last_promote(self) -> list[str]:
        """Remove what the last promote wrote and put the replaced label files back."""
        result, self.last_promote = self.last_promote, None
        if result is None:
            return []
        restored = undo_promote(result)
        self.window.show_message(f"Promote undone: {len(restored)} label file(s) restored")
        self.window.files.undo_promote.setEnabled(False)
        return restored

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
