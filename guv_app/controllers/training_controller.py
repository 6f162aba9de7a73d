"""Ctrl+T: the training dialog wired to ``run_training`` on a worker thread.

The controller turns dialog values into the training service's ``TrainConfig`` and
``DatasetOptions`` (:mod:`.training_values`), checks the model name (:mod:`.training_names`),
saves unsaved labels first (through a callable the Trainer provides), runs the training in a
:class:`TaskRunner`, and draws the service's progress events on the dialog
(:mod:`.training_progress`). Whatever happens (success, cancel, any exception) the dialog
returns to its idle state with one message saying what happened.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from PyQt6 import QtCore, QtWidgets

from guv_app.controllers import training_format as fmt
from guv_app.controllers import training_settings
from guv_app.controllers.model_catalog import ModelCatalog, default_catalog, default_model
from guv_app.controllers.run_on import scheduler_from_values
from guv_app.controllers.task_runner import TaskRunner, step_reporter
from guv_app.controllers.training_dataset import per_class_rows, summarize_folder
from guv_app.controllers.training_label_set import label_set_options, label_set_specs
from guv_app.controllers.training_names import (
    ask_name_in_use,
    name_status,
    next_free_name,
    suggest_name,
)
from guv_app.controllers.training_progress import is_urgent, show_events, show_resumed_curve
from guv_app.controllers.training_values import config_from_values, field_specs
from guv_app.services.datasets.builder import DatasetOptions
from guv_app.services.engine import registry
from guv_app.services.training.params import ADVANCED_PARAMS, BASIC_PARAMS
from guv_app.views.training.dialog import TrainingDialog

log = logging.getLogger(__name__)


class TrainingController(QtCore.QObject):
    """Owns the training dialog and its worker; one run at a time."""

    modelTrained = QtCore.pyqtSignal(str)
    runRequested = QtCore.pyqtSignal(str)  # "Run on current image" with this model
    stateChanged = QtCore.pyqtSignal(bool)  # running

    def __init__(self, catalog: ModelCatalog | None = None, *, folder: Path | None = None,
                 save_labels: Callable[[], bool] | None = None,
                 parent_widget: QtWidgets.QWidget | None = None,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog or default_catalog()
        self.folder = Path(folder) if folder else None
        self.save_labels = save_labels
        self.runner = TaskRunner(self, name="training")
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self.last_outcome = None
        self.last_error = ""
        self.trained_model = ""
        self.summary = None
        self.events_seen = 0
        self._name_touched = False
        self._curve_of = ""  # model name whose curve the progress panel shows
        self.dialog = TrainingDialog(parent_widget, basic_fields=field_specs(BASIC_PARAMS),
                                     advanced_fields=field_specs(ADVANCED_PARAMS)
                                     + label_set_specs())
        d = self.dialog
        d.startRequested.connect(self.start)
        d.resumeRequested.connect(self.resume)
        d.cancelRequested.connect(self.cancel)
        d.runOnImageRequested.connect(lambda: self.runRequested.emit(self.trained_model))
        d.closing.connect(self._on_closing)
        d.basic.nameEdited.connect(self.check_name)
        d.basic.baseModelChanged.connect(self._base_changed)
        d.dataset.changeFolderRequested.connect(self._ask_folder)
        d.dataset.browseValFolderRequested.connect(self._ask_val_folder)
        d.advanced.editors["label_channel"].valueChanged.connect(
            lambda _v: self.running or self.refresh_summary())
        self.catalog.bind_combo(d.basic.base_model)
        d.set_values(training_settings.load_values())
        combo = d.basic.base_model  # offline: start from a model that can run (tiny)
        start = default_model(self.catalog, combo.currentText())
        if start != combo.currentText() and combo.findText(start) >= 0:
            combo.setCurrentIndex(combo.findText(start))

    @property
    def running(self) -> bool:
        return self.runner.running

    # ------------------------------------------------------------------ opening
    def open(self, folder: Path | None = None) -> TrainingDialog:
        """Show the dialog for ``folder`` (default: the one set before)."""
        if self.running:  # a run is on: show it as it is
            pass
        elif folder is not None:
            self.set_folder(folder)
        else:
            self.refresh_summary()
        if not self.running and not self._name_touched:
            self._suggest()
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        return self.dialog

    def set_folder(self, folder: Path | str | None) -> None:
        self.folder = Path(folder) if folder else None
        self.refresh_summary()
        if not self._name_touched and not self.running:
            self._suggest()

    def refresh_summary(self) -> None:
        panel = self.dialog.dataset
        panel.set_folder(str(self.folder) if self.folder else "")
        if self.folder is None:
            self.summary = None
            panel.set_summary(0, 0, [], [], "Open an image in the Trainer, or choose a folder.")
            return
        try:  # counted on the label set training will take
            options = DatasetOptions(**label_set_options(self.dialog.values()))
        except ValueError:
            options = None
        self.summary = s = summarize_folder(self.folder, options)
        note = s.error or ("" if s.n_labelled else "No labelled images yet: label some "
                           "objects and save (Ctrl+S) first.")
        extra = [f"{name}: {warning}" for name, warning in s.notes]
        if s.n_region_objects or s.region_files:
            extra.append(f"Training regions: {s.n_file_regions + s.n_region_objects} "
                         "(training learns only inside them)")
        note = " · ".join([n for n in (note, *extra) if n])
        panel.set_summary(s.n_labelled, s.n_images, per_class_rows(s), s.skipped, note)

    def _suggest(self) -> None:
        base = self.dialog.basic.base_model.currentText() or "model"
        self.dialog.basic.model_name.setText(suggest_name(self.folder, base))
        self.check_name(self.dialog.basic.model_name.text(), touched=False)

    def _base_changed(self, _name: str) -> None:
        if not self._name_touched and not self.running:
            self._suggest()

    def check_name(self, name: str, touched: bool = True) -> bool:
        """Show whether ``name`` can be used (:func:`.training_names.name_status`); Resume
        is offered when it holds an interrupted run. ``touched``: typed by the user (then
        the name is no longer replaced by suggestions)."""
        self._name_touched = self._name_touched or touched
        status = name_status(name)
        if status.usable and not self.running:
            self.dialog.set_can_resume(status.run is not None)
        self.dialog.basic.set_name_status(status.usable, status.message)
        return status.usable

    def ask_existing(self, name: str, run, taken: bool) -> str | None:
        """Blocking question for a name in use: "new", "resume", "replace" or None."""
        return ask_name_in_use(self.dialog, name, run, taken)

    def _ask_folder(self) -> None:
        dlg = QtWidgets.QFileDialog(self.dialog, "Folder of labelled images",
                                    str(self.folder or Path.home()))
        dlg.setFileMode(QtWidgets.QFileDialog.FileMode.Directory)
        dlg.fileSelected.connect(self.set_folder)
        dlg.open()

    def _ask_val_folder(self) -> None:
        dlg = QtWidgets.QFileDialog(self.dialog, "Folder of labelled validation images",
                                    str(self.folder or Path.home()))
        dlg.setFileMode(QtWidgets.QFileDialog.FileMode.Directory)
        dlg.fileSelected.connect(self.dialog.dataset.val_folder.setText)
        dlg.open()

    # -------------------------------------------------------------------- run
    def resume(self) -> bool:
        """Continue the interrupted run named in the dialog (Resume button)."""
        return self.start(resume=True)

    def start(self, resume: bool = False) -> bool:
        """Validate, save unsaved labels, then train on the worker thread.

        A name used by a saved model or an interrupted run is never reused silently: the
        user chooses a new name, to resume, or to replace (:meth:`ask_existing`).
        """
        from guv_app.services.training.runner import interrupted_run

        if self.running:
            return False
        d = self.dialog
        d.clear_message()
        values = d.values()
        overwrite = False
        try:
            if self.folder is None:
                raise ValueError("no folder: open an image in the Trainer or choose a folder")
            config, options = config_from_values(values)
            scheduler = scheduler_from_values(values)
            if not self.check_name(config.model_name, touched=self._name_touched):
                raise ValueError(f"model name {config.model_name!r} is not usable or taken")
            run = interrupted_run(config.model_name)
            taken = not registry.is_name_free(config.model_name)
            if resume and run is None:
                raise ValueError(f"there is no interrupted run named {config.model_name!r}")
            if not resume and (run is not None or taken):
                answer = self.ask_existing(config.model_name, run, taken)
                if answer is None:
                    d.progress.append_log(["Not started: the name is in use"])
                    return False
                if answer == "new":
                    config.model_name = next_free_name(config.model_name)
                    d.basic.model_name.setText(config.model_name)
                    self.check_name(config.model_name)
                resume, overwrite = answer == "resume", answer == "replace"
        except ValueError as exc:
            self._on_failed(str(exc))
            return False
        if self.save_labels is not None and not self.save_labels():
            self._on_failed("the current labels could not be saved; training was not started")
            return False
        self.refresh_summary()  # now includes what was just saved
        training_settings.save_values(values)
        self.last_outcome, self.last_error, self.events_seen = None, "", 0
        if resume:
            show_resumed_curve(d.progress, config.model_name, self._curve_of)
        else:
            d.progress.clear()
        d.set_can_run_on_image(False)
        d.set_can_resume(False)
        d.progress.set_progress(0, 0, "Preparing the training data…", busy=True)
        where = f" on {scheduler.describe()}" if scheduler is not None else ""
        d.progress.append_log([f"{'Resuming' if resume else 'Training'} {config.model_name} "
                               f"from {config.base_model} ({config.mode}) on {self.folder}"
                               f"{where}"])
        d.set_running(True)
        folder = self.folder

        def job(report, cancel: threading.Event):
            dataset_progress = step_reporter(report)
            if scheduler is not None:  # the same run on a Dask worker, same events
                from guv_app.services.distributed.cluster import open_client
                from guv_app.services.distributed.training import train_on_cluster

                with open_client(scheduler) as client:
                    return train_on_cluster(client, folder.resolve(), config, options,
                                            progress=report, cancel=cancel,
                                            dataset_progress=dataset_progress)
            from guv_app.services.training.runner import run_training

            return run_training(folder, config, options, progress=report, cancel=cancel,
                                resume=resume, overwrite=overwrite,
                                dataset_progress=dataset_progress)

        self.runner.start(job, urgent=is_urgent)
        self.stateChanged.emit(True)
        return True

    def cancel(self) -> None:
        if not self.running:
            return
        self.runner.cancel()
        self.dialog.set_cancelling()
        self.dialog.progress.append_log(["Cancelling: stopping after the current step…"])

    def shutdown(self, timeout_s: float = 60.0) -> bool:
        """Cancel and wait for the worker (window closing, tests)."""
        return self.runner.shutdown(timeout_s)

    # ------------------------------------------------------------- progress
    def _on_progress(self, batch: list) -> None:
        self.events_seen += len(batch)
        show_events(self.dialog.progress, batch)

    def _on_finished(self, outcome) -> None:
        d = self.dialog
        if outcome.result is not None:  # saved (or checkpointed): do not keep the trained
            outcome.result.net = None  # network alive (1.2 GB for vit_l) beside the one Run loads
        self.last_outcome = outcome
        d.set_running(False)
        self._curve_of = outcome.model_name
        if outcome.cancelled:
            d.show_info(fmt.cancel_html(outcome))
            d.progress.append_log([d.message_text().replace("\n", " ")])
            d.set_can_resume(outcome.result.steps_done > 0)
        else:
            self.trained_model = outcome.model_name
            self.catalog.refresh()
            r = outcome.result
            d.progress.set_progress(r.steps_done, max(r.steps_done, 1),
                                    f"Done: {r.epochs_done} epoch(s), {r.steps_done} step(s)")
            d.show_info(fmt.summary_html(outcome))
            d.set_can_run_on_image(True, outcome.model_name)
            d.progress.append_log([f"saved model {outcome.model_name} in {outcome.model_dir}"])
            self._name_touched = False
            self._suggest()
            self.modelTrained.emit(outcome.model_name)
        self.stateChanged.emit(False)

    def _on_failed(self, message: str) -> None:
        d = self.dialog
        self.last_error = message
        d.set_running(False)
        d.progress.set_progress(0, 1, "Stopped: see the message below")
        d.show_error(message)
        d.progress.append_log([f"error: {message}"])
        self.stateChanged.emit(False)

    def _on_closing(self) -> None:
        if self.running:
            self.cancel()
