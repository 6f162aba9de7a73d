"""Batch prediction in the Analyzer: the images of the list predicted on a worker thread.

A module of its own because a prediction run is the Analyzer's long job with its own life:
it checks the form (model, Run on, planes) before anything starts, asks before replacing a
prediction corrected by hand, runs :func:`~guv_app.services.analysis.batch.predict_images`
here or on a Dask scheduler, shows each image's and plane's outcome in the file list as it
arrives, and ends with one line that counts files and planes done, failed, skipped and
cancelled.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

from PyQt6 import QtCore

from guv_app.controllers.run_on import scheduler_from_values
from guv_app.controllers.task_runner import Step, TaskRunner, last_step, step_reporter
from guv_app.services.analysis.batch import BatchResult, ImageStatus, predict_images
from guv_app.services.analysis.predictions import prediction_state
from guv_app.services.batch import PlaneSelection

log = logging.getLogger(__name__)


class AnalyzerParts(Protocol):
    """What a prediction run reaches of the Analyzer (a Protocol, so that the controller
    owns the run without an import cycle): the window, its image list (row order), the
    editor of the image on screen, the question callable, and the form readers."""

    window: Any
    images: list[Path]
    editor: Any

    def confirm(self, title: str, text: str) -> bool: ...
    def segment_params(self) -> tuple[str, Any, bool]: ...
    def plane_selection(self) -> PlaneSelection | None: ...
    def current_row(self) -> int: ...
    def update_summary(self) -> None: ...


class BatchPrediction(QtCore.QObject):
    """Owns the prediction worker of one Analyzer window; one run at a time."""

    finished = QtCore.pyqtSignal(object)  # BatchResult

    def __init__(self, ctl: AnalyzerParts, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.ctl = ctl
        self.window = ctl.window
        self.last: BatchResult | None = None
        self.task = TaskRunner(self, name="prediction")
        self.task.progress.connect(self._on_reports)
        self.task.finished.connect(self._on_batch_done)
        self.task.failed.connect(self._on_batch_error)
        inf = ctl.window.inference
        inf.runCurrent.connect(self.run_current)
        inf.runFolder.connect(self.run_folder)
        inf.cancelRequested.connect(self.cancel)

    def run_current(self) -> bool:
        """Predict the image on screen (always reruns; asks before replacing corrections)."""
        row = self.ctl.current_row()
        if not 0 <= row < len(self.ctl.images):
            return False
        image = self.ctl.images[row]
        on_screen = self.ctl.editor.prediction_file() if image == self.ctl.editor.path else None
        if prediction_state(image, path=on_screen) == "edited" and not self.ctl.confirm(
                "Replace corrected prediction?",
                f"The prediction of {image.name} was corrected by hand. Replace it with a "
                "new prediction?"):
            return False
        return self._start([row], force=True)

    def run_folder(self) -> bool:
        """Predict every image; skips those done with the same model and parameters."""
        _, _, force = self.ctl.segment_params()
        return self._start(list(range(len(self.ctl.images))), force=force)

    def _start(self, rows: list[int], *, force: bool) -> bool:
        if self.task.running or not rows or not self.ctl.editor.leave():
            return False
        model, params, _ = self.ctl.segment_params()
        if not model:
            self.window.show_message("Choose a model first")
            return False
        try:
            scheduler = scheduler_from_values(self.window.inference.settings())
        except ValueError as exc:
            self.window.show_message(str(exc))
            return False
        selection = self.ctl.plane_selection()
        if selection is None:
            return False
        images = [self.ctl.images[r] for r in rows]
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
        return next((i for i, p in enumerate(self.ctl.images) if p == path), -1)

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
            if self.ctl.images[row] == self.ctl.editor.path:
                self.ctl.editor.reload()

    def _on_batch_done(self, result: BatchResult) -> None:
        self.window.inference.set_running(False)
        self.last = result
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
        self.ctl.update_summary()
        failed = result.failures
        text = (f"{result.n_files} file(s), {len(result.planes)} plane(s): "
                f"{result.count('done')} done, {result.count('failed')} failed, "
                f"{result.count('skipped')} skipped"
                + (f", {result.count('cancelled')} cancelled" if result.cancelled else ""))
        self.window.inference.progress_label.setText(text)
        self.window.show_message(text + (f" — {failed[0]}" if failed else ""))
        self.finished.emit(result)

    def _on_batch_error(self, message: str) -> None:
        self.window.inference.set_running(False)
        self.window.inference.progress_label.setText(f"Prediction failed: {message}")
        self.window.show_message(f"Prediction failed: {message}")
