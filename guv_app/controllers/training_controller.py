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
from guv_app.services.datasets.builder import DatasetOptions
from guv_app.services.engine import registry
from guv_app.services.engine.errors import ModelNameError
from guv_app.services.training.config import TrainConfig
from guv_app.services.training.events import TrainEvent
from guv_app.views.training.dialog import TrainingDialog

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
        options = DatasetOptions(test_dir=Path(folder), seed=int(values.get("val_seed", 0)))
    else:
        options = DatasetOptions(test_ratio=float(values.get("val_ratio", 0.2)),
                                 seed=int(values.get("val_seed", 0)))
    return config, options


def suggest_name(folder: Path | None, base: str) -> str:
    """``<folder>-<base>`` made registry-safe, with -2, -3 … until the name is free."""
    stem = re.sub(r"[^A-Za-z0-9._+-]+", "_", folder.name if folder else "model").strip("._-+")
    stem = f"{stem or 'model'}-{base}"[:90]
    if registry.is_name_free(stem):
        return stem
    k = 2
    while not registry.is_name_free(f"{stem}-{k}"):
        k += 1
    return f"{stem}-{k}"


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
        self.dialog = TrainingDialog(parent_widget)
        d = self.dialog
        d.startRequested.connect(self.start)
        d.cancelRequested.connect(self.cancel)
        d.runOnImageRequested.connect(lambda: self.runRequested.emit(self.trained_model))
        d.closing.connect(self._on_closing)
        d.basic.nameEdited.connect(self.check_name)
        d.basic.baseModelChanged.connect(self._base_changed)
        d.dataset.changeFolderRequested.connect(self._ask_folder)
        d.dataset.browseValFolderRequested.connect(self._ask_val_folder)
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
        self.summary = s = summarize_folder(self.folder)
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
        if not registry.is_name_free(name):
            self.dialog.basic.set_name_status(False, f"“{name}” is taken: choose another name")
            return False
        self.dialog.basic.set_name_status(True, "name is free")
        return True

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
    def start(self) -> bool:
        """Validate, save unsaved labels, then train on the worker thread."""
        if self.running:
            return False
        d = self.dialog
        d.clear_message()
        values = d.values()
        try:
            if self.folder is None:
                raise ValueError("no folder: open an image in the Trainer or choose a folder")
            config, options = config_from_values(values)
            scheduler = scheduler_from_values(values)
            if not self.check_name(config.model_name, touched=self._name_touched):
                raise ValueError(f"model name {config.model_name!r} is not usable or taken")
        except ValueError as exc:
            self._on_failed(str(exc))
            return False
        if self.save_labels is not None and not self.save_labels():
            self._on_failed("the current labels could not be saved; training was not started")
            return False
        self.refresh_summary()  # now includes what was just saved
        training_settings.save_values(values)
        self.last_outcome, self.last_error, self.events_seen = None, "", 0
        d.progress.clear()
        d.set_can_run_on_image(False)
        d.progress.set_progress(0, 0, "Preparing the training data…", busy=True)
        where = f" on {scheduler.describe()}" if scheduler is not None else ""
        d.progress.append_log([f"Training {config.model_name} from {config.base_model} "
                               f"({config.mode}) on {self.folder}{where}"])
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
                                dataset_progress=dataset_progress)

        self.runner.start(job, urgent=_urgent)
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
        self.last_outcome = outcome
        d.set_running(False)
        if outcome.cancelled:
            d.show_info(fmt.cancel_html(outcome))
            d.progress.append_log([d.message_text().replace("\n", " ")])
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
