"""Ctrl+T: the training dialog wired to ``run_training`` on a worker thread.

The controller turns dialog values into the training service's ``TrainConfig`` and
``DatasetOptions``, saves unsaved labels first (through a callable the Trainer provides),
runs the training in a :class:`TaskRunner`, and turns the service's progress events into
dialog updates. Whatever happens (success, cancel, any exception) the dialog returns to
its idle state with one message saying what happened.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path

from PyQt6 import QtCore, QtWidgets

from guv_app.controllers import training_format as fmt
from guv_app.controllers import training_settings
from guv_app.controllers.model_catalog import ModelCatalog, default_catalog, default_model
from guv_app.controllers.run_on import scheduler_from_values
from guv_app.controllers.task_runner import Step, TaskRunner, step_reporter
from guv_app.controllers.training_dataset import per_class_rows, summarize_folder
from guv_app.controllers.training_label_set import label_set_options, label_set_specs
from guv_app.services.datasets.builder import DatasetOptions
from guv_app.services.engine import registry
from guv_app.services.engine.errors import ModelNameError
from guv_app.services.training.config import TrainConfig
from guv_app.services.training.events import TrainEvent
from guv_app.services.training.params import ADVANCED_PARAMS, BASIC_PARAMS
from guv_app.views.training.dialog import TrainingDialog
from guv_app.views.training.fields import BIG, FieldSpec

log = logging.getLogger(__name__)


def _urgent(item) -> bool:
    return not (isinstance(item, TrainEvent) and item.kind == "step")


def parse_class_weights(text) -> str | list[float]:
    """'auto', 'none' or comma/space separated numbers (background first)."""
    if isinstance(text, list | tuple):
        return [float(v) for v in text]
    t = str(text).strip().lower()
    if t in ("", "auto"):
        return "auto"
    if t == "none":
        return "none"
    try:
        return [float(v) for v in re.split(r"[,\s;]+", t) if v]
    except ValueError as exc:
        raise ValueError(f"per-class weights: expected 'auto', 'none' or numbers, got {text!r}"
                         ) from exc


def config_from_values(values: dict) -> tuple[TrainConfig, DatasetOptions]:
    """Dialog values -> the service's settings; ``ValueError`` with a readable message."""
    known = set(TrainConfig.__dataclass_fields__)
    cfg = {k: v for k, v in values.items() if k in known}
    cfg["class_weights"] = parse_class_weights(cfg.get("class_weights", "auto"))
    config = TrainConfig.from_dict(cfg)
    if values.get("val_mode") == "folder":
        folder = str(values.get("val_folder") or "").strip()
        if not folder:
            raise ValueError("choose a validation folder, or validate on a share of the images")
        if not Path(folder).is_dir():
            raise ValueError(f"{folder}: validation folder does not exist")
        options = DatasetOptions(test_dir=Path(folder), seed=int(values.get("val_seed", 0)),
                                 **label_set_options(values))
    else:
        options = DatasetOptions(test_ratio=float(values.get("val_ratio", 0.2)),
                                 seed=int(values.get("val_seed", 0)),
                                 **label_set_options(values))
    from guv_app.services.training.runner import check_crop_size

    check_crop_size(config, options)  # a message before any data is prepared
    return config, options


def suggest_name(folder: Path | None, base: str) -> str:
    """``<folder>-<base>`` made registry-safe, with -2, -3 … until the name is free."""
    stem = re.sub(r"[^A-Za-z0-9._+-]+", "_", folder.name if folder else "model").strip("._-+")
    stem = f"{stem or 'model'}-{base}"[:90]
    return next_free_name(stem)


def next_free_name(stem: str) -> str:
    """``stem``, else ``stem-2``, ``stem-3`` … : the first name no model or kept run uses."""
    from guv_app.services.training.runner import is_name_unused

    if is_name_unused(stem):
        return stem
    k = 2
    while not is_name_unused(f"{stem}-{k}"):
        k += 1
    return f"{stem}-{k}"


def field_specs(params) -> tuple[FieldSpec, ...]:
    """The dialog's editors for settings of the one table (``services.training.params``)."""
    return tuple(FieldSpec(
        p.name, p.label or p.title, p.kind, p.help_text(),
        p.minimum if p.minimum is not None else 0,
        p.maximum if p.maximum is not None else BIG, p.step, p.decimals,
        p.special, p.choices, p.editable) for p in params)


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
        self._name_touched = self._name_touched or touched
        name = name.strip()
        try:
            registry.validate_name(name)
        except ModelNameError as exc:
            self.dialog.basic.set_name_status(False, str(exc) if name else "Enter a name")
            return False
        from guv_app.services.training.runner import interrupted_run

        if name in registry.BUILTIN_NAMES:
            self.dialog.basic.set_name_status(False, f"“{name}” is taken by a built-in model")
            return False
        run = interrupted_run(name)
        if not self.running:
            self.dialog.set_can_resume(run is not None)
        if run is not None:
            self.dialog.basic.set_name_status(
                True, f"“{name}” has an interrupted run ({run.describe()}): Start offers to "
                      "resume it")
        elif not registry.is_name_free(name):
            self.dialog.basic.set_name_status(
                True, f"“{name}” is taken by a saved model: Start asks whether to replace it "
                      "or use a new name")
        else:
            self.dialog.basic.set_name_status(True, "name is free")
        return True

    def ask_existing(self, name: str, run, taken: bool) -> str | None:
        """Blocking question for a name in use: "new", "resume", "replace" or None."""
        box = QtWidgets.QMessageBox(self.dialog)
        box.setIcon(QtWidgets.QMessageBox.Icon.Question)
        box.setWindowTitle("Name in use")
        what = (f"An interrupted run named “{name}” is kept ({run.describe()})."
                if run is not None else f"A model named “{name}” already exists.")
        box.setText(what + "\n\nUse a new name, "
                    + ("resume the interrupted run, " if run is not None else "")
                    + ("or replace it (the existing "
                       + ("checkpoint" if run is not None and not taken else "model")
                       + " is discarded)?"))
        answers = {box.addButton(f"Use {next_free_name(name)}",
                                 QtWidgets.QMessageBox.ButtonRole.AcceptRole): "new"}
        if run is not None:
            answers[box.addButton("Resume", QtWidgets.QMessageBox.ButtonRole.AcceptRole)] = (
                "resume")
        answers[box.addButton("Replace", QtWidgets.QMessageBox.ButtonRole.DestructiveRole)] = (
            "replace")
        box.addButton(QtWidgets.QMessageBox.StandardButton.Cancel)
        box.exec()
        return answers.get(box.clickedButton())

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
            self._show_resumed_curve(config.model_name)
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

        self.runner.start(job, urgent=_urgent)
        self.stateChanged.emit(True)
        return True

    def _show_resumed_curve(self, name: str) -> None:
        """The curve continues where the run stopped: keep this session's points, or draw
        the interrupted run's epoch losses (another session) before new steps arrive."""
        from guv_app.services.training.runner import interrupted_run

        p = self.dialog.progress
        if self._curve_of == name and p.n_points()["step"]:
            return
        p.clear()
        run = interrupted_run(name)
        for row in (run.rows if run is not None else []):
            p.add_epoch(int(row.get("epoch", 0)), row.get("train_loss"), row.get("val_loss"))

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
        p = self.dialog.progress
        xs: list[float] = []
        ys: list[float] = []
        lines: list[str] = []
        last_ev: TrainEvent | None = None
        for item in batch:
            self.events_seen += 1
            if isinstance(item, Step):  # building the training set
                p.set_progress(item.done, item.total,
                               f"Preparing the training data: {item.message} "
                               f"({item.done}/{item.total})")
                continue
            if not isinstance(item, TrainEvent):
                continue
            last_ev = item
            per_epoch = item.n_steps / max(item.n_epochs, 1)
            if item.kind == "step" and item.train_loss is not None:
                xs.append(item.step / max(per_epoch, 1e-9))
                ys.append(float(item.train_loss))
            elif item.kind == "epoch":
                p.add_epoch(item.epoch + 1, item.train_loss, item.val_loss)
                if item.val_loss is not None or item.metrics is not None:
                    p.set_metrics(fmt.metrics_html(item))
                lines.append(item.line())
            elif item.kind in ("start", "done", "cancelled", "validation", "checkpoint"):
                lines.append(f"{item.kind}: {item.message}" if item.message else item.kind)
        if xs:
            p.add_step_losses(xs, ys)
        if last_ev is not None:
            text = fmt.status_text(last_ev)
            if last_ev.kind == "done":
                text += " · evaluating and saving…"
            p.set_progress(last_ev.step, last_ev.n_steps, text)
        p.append_log(lines)

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
