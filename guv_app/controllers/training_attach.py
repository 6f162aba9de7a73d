"""Put training and models into a Trainer window from outside, through its public API.

:func:`attach_training` enables the Trainer's "Train model…" (Ctrl+T) and "Run model"
actions, adds a model toolbar whose selector follows the shared :class:`ModelCatalog`, and
shows a model's prediction as a preview layer over the image. "Accept" takes it into the
labels as ONE undoable step (the label document's ``accept_prediction``); from then on it is
ordinary labels, editable with every tool, and Ctrl+Z restores the labels from before.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

from guv_app.controllers.model_catalog import (
    LAST_USED_KEY,
    ModelCatalog,
    default_catalog,
    default_model,
)
from guv_app.controllers.model_share import ModelShareActions
from guv_app.controllers.task_runner import TaskRunner
from guv_app.controllers.trainer_replace import confirm_replace
from guv_app.controllers.training_controller import TrainingController
from guv_app.services.annotation.class_table import merge_classes  # noqa: F401 (re-export)
from guv_app.views.training.model_tools import ModelToolBar, PredictionLayer

log = logging.getLogger(__name__)


class TrainingHookup(QtCore.QObject):
    """Training dialog, model selector and prediction preview of one Trainer."""

    predictionReady = QtCore.pyqtSignal(object)  # SegmentResult
    predictionFailed = QtCore.pyqtSignal(str)

    def __init__(self, trainer: Any, catalog: ModelCatalog) -> None:
        super().__init__(trainer)
        self.trainer = trainer
        self.window = trainer.window
        self.catalog = catalog
        self.training: TrainingController | None = None
        self.prediction = None
        self._pred_token: tuple | None = None
        a = self.window.actions
        self.train_action: QtGui.QAction = a["train"]
        self.run_action: QtGui.QAction = a["run_model"]
        self.train_action.setText("Train model…")
        self.train_action.setEnabled(True)
        self.train_action.triggered.connect(self.open_training)
        self.run_action.setText("Run model on current image")
        self.run_action.setIconText("Run")
        self.run_action.setToolTip("Segment the current image with the selected model")
        self.run_action.setEnabled(True)
        self.run_action.triggered.connect(lambda: self.run_model())
        self.accept_action = QtGui.QAction("Accept prediction into labels", self.window)
        self.accept_action.setObjectName("action_accept_prediction")
        self.accept_action.setIconText("Accept")
        self.accept_action.setToolTip("Take the prediction into the labels: when there are "
                                      "labels, asks whether to replace them, add only new "
                                      "objects or fill unlabelled pixels (one undo step)")
        self.accept_action.setShortcut(QtGui.QKeySequence("Ctrl+Return"))
        self.accept_action.triggered.connect(self.accept_prediction)
        self.discard_action = QtGui.QAction("Discard prediction", self.window)
        self.discard_action.setObjectName("action_discard_prediction")
        self.discard_action.setIconText("Discard")
        self.discard_action.triggered.connect(self.discard_prediction)
        for act in (self.accept_action, self.discard_action):
            act.setEnabled(False)
            self.window.addAction(act)
        menu = _menu_of(self.train_action)
        self.share = ModelShareActions(self.window, self.catalog,
                                       lambda: self.toolbar.combo.currentText(),
                                       on_imported=lambda name: self.select_model(name))
        if menu is not None:
            menu.addSeparator()
            menu.addAction(self.accept_action)
            menu.addAction(self.discard_action)
            menu.addSeparator()
            self.share.add_to(menu)  # export/import beside the model selector's menu
        self.toolbar = ModelToolBar(self.run_action, self.accept_action, self.discard_action)
        self.window.addToolBar(self.toolbar)
        self.catalog.bind_combo(self.toolbar.combo)
        self.settings = trainer.files.settings
        self.select_model(default_model(self.catalog, self.settings.value(LAST_USED_KEY, "")))
        self.layer = PredictionLayer()
        trainer.canvas.vb.addItem(self.layer.item)
        self.predictor = TaskRunner(self, name="prediction")
        self.predictor.finished.connect(self._on_prediction)
        self.predictor.failed.connect(self._on_prediction_failed)
        trainer.doc.events.connect(self._on_doc_event)
        old_guard = self.window.close_guard
        self.window.close_guard = lambda: self._before_close() and (
            old_guard is None or old_guard())

    # --------------------------------------------------------------- training
    def open_training(self) -> TrainingController:
        """Ctrl+T: the training dialog for the folder of the current image."""
        if self.training is None:
            self.training = TrainingController(
                self.catalog, save_labels=self.save_labels, parent_widget=self.window,
                parent=self)
            self.training.runRequested.connect(self._run_trained)
            self.training.modelTrained.connect(self.select_model)
        path = self.trainer.files.path
        self.training.open(path.parent if path is not None else None)
        sets = getattr(self.trainer, "channels", None)  # train on the set being labelled
        if sets is not None and not self.training.running:
            from guv_app.controllers.training_label_set import SHARED_VALUE

            active = sets.sets.active
            self.training.dialog.advanced.editors["label_channel"].setValue(
                SHARED_VALUE if active is None else int(active))
        return self.training

    def save_labels(self) -> bool:
        """Write the current labels before training reads the folder (False: not saved)."""
        files = self.trainer.files
        if files.path is None:
            return True
        if files.is_dirty():  # a parked channel's label set counts too
            return bool(files.save())
        files.autosaver.wait()
        return True

    def select_model(self, name: str) -> None:
        combo = self.toolbar.combo
        i = combo.findText(name)
        if i >= 0:
            combo.setCurrentIndex(i)

    def _run_trained(self, name: str) -> None:
        self.select_model(name)
        self.run_model(name)
        self.window.raise_()
        self.window.activateWindow()

    # ------------------------------------------------------------- prediction
    def run_model(self, name: str | None = None) -> bool:
        """Segment the current plane with ``name`` (default: the selected model) off-thread."""
        name = name or self.toolbar.combo.currentText()
        planes = self.trainer.planes
        if planes is None or self.trainer.files.path is None:
            self.window.show_message("Open an image first.")
            return False
        if not name:
            self.window.show_message("Choose a model first.")
            return False
        if self.predictor.running:
            self.window.statusBar().showMessage("A prediction is already running", 3000)
            return False
        self._pred_token = self._token()
        image = np.array(planes, copy=True)

        def job(report, cancel: threading.Event):
            from guv_app.services.engine.inference import SegmentParams, segment

            return segment(image, name, SegmentParams(), cancel=cancel)

        self.toolbar.set_status(f"Running {name}…")
        self.run_action.setEnabled(False)
        self.predictor.start(job)
        return True

    def _token(self) -> tuple:
        f = self.trainer.files
        return (f.token, f.t, f.z, f.series, self.trainer.doc.shape)

    def _on_prediction(self, result) -> None:
        self.run_action.setEnabled(True)
        if self._pred_token != self._token():
            self.toolbar.set_status("Prediction dropped: the image changed meanwhile")
            return
        self.settings.setValue(LAST_USED_KEY, result.model_name)
        self.show_prediction(result)

    def show_prediction(self, result) -> None:
        """Preview a ``SegmentResult`` of the current image until accepted or discarded."""
        if tuple(result.masks.shape) != tuple(self.trainer.doc.shape):
            raise ValueError(f"prediction of shape {result.masks.shape} does not fit the "
                             f"image {self.trainer.doc.shape}")
        self.prediction = result
        self.layer.show(result.masks, result.classes, result.class_colors)
        n = result.n_objects
        self.toolbar.set_status(f"Prediction ({result.model_name}): {n} object(s)")
        self.accept_action.setEnabled(True)
        self.discard_action.setEnabled(True)
        self.predictionReady.emit(result)

    def _on_prediction_failed(self, message: str) -> None:
        self.run_action.setEnabled(True)
        self.toolbar.set_status("Prediction failed")
        self.window.show_message(f"The model could not segment this image: {message}")
        self.predictionFailed.emit(message)

    def accept_prediction(self) -> bool:
        """Take the prediction into the labels as one undo step; Ctrl+Z brings them back.

        When the plane has objects the user is asked first, naming how many a replacement
        loses, and may instead keep them frozen and add only the predicted objects that
        overlap none, or fill only unlabelled pixels (:func:`confirm_replace`,
        :mod:`guv_app.services.annotation.merge`); returns True once accepted.
        """
        r = self.prediction
        if r is None:
            return False
        return confirm_replace(self.trainer, "the prediction", r.n_objects,
                               lambda: self.accept_as(r, "replace"),
                               merge=lambda mode: self.accept_as(r, mode))

    def accept_as(self, r, mode: str) -> bool:
        """Take prediction ``r`` into the labels by merge ``mode`` (replace, add, fill)."""
        from guv_app.services.annotation.class_table import ClassTable
        from guv_app.services.annotation.merge import merge_into_document

        if r is not self.prediction:  # discarded or another image opened meanwhile
            return False
        doc = self.trainer.doc
        t = doc.class_table
        names, colors, classes = merge_classes(t.names, t.colors, list(r.class_names),
                                               list(r.class_colors), r.classes)
        table = None
        if names != list(t.names):
            table = ClassTable.from_lists(names, colors)
            if mode != "replace":  # classes keep their visibility
                table.visible = t.visible + [True] * (len(names) - len(t.names))
        try:
            result = merge_into_document(doc, r.masks, classes, table, mode=mode,
                                         name="accept prediction")
        except ValueError as exc:
            self.window.show_message(f"Cannot accept the prediction: {exc}")
            return False
        if mode == "replace":
            self._clear(f"Accepted {r.n_objects} object(s) (Ctrl+Z undoes)")
        else:
            undo = " (Ctrl+Z undoes)" if result.n_added else ""
            self._clear(f"Prediction: {result.summary()}{undo}")
        return True

    def discard_prediction(self) -> None:
        self._clear("Prediction discarded")

    def _clear(self, status: str = "") -> None:
        self.prediction = None
        self.layer.hide()
        self.accept_action.setEnabled(False)
        self.discard_action.setEnabled(False)
        self.toolbar.set_status(status)

    def _on_doc_event(self, ev) -> None:
        if ev.kind == "reset" and self.prediction is not None:  # another image was opened
            self._clear()

    # ----------------------------------------------------------------- closing
    def _before_close(self) -> bool:
        if self.training is not None and self.training.running:
            self.training.cancel()
        return True

    def shutdown(self, timeout_s: float = 60.0) -> bool:
        """Stop training and prediction and wait for their threads."""
        ok = self.predictor.shutdown(timeout_s)
        if self.training is not None:
            ok = self.training.shutdown(timeout_s) and ok
        return ok


def _menu_of(action: QtGui.QAction) -> QtWidgets.QMenu | None:
    for obj in action.associatedObjects():
        if isinstance(obj, QtWidgets.QMenu):
            return obj
    return None


def attach_training(trainer: Any, catalog: ModelCatalog | None = None) -> TrainingHookup:
    """Install Train (Ctrl+T), a model selector and Run/Accept/Discard into a Trainer.

    ``trainer`` is a ``TrainerController`` (or anything with ``window``, ``canvas``, ``doc``,
    ``files`` and ``planes`` like it). The hookup is parented to it and lives as long.
    """
    hookup = TrainingHookup(trainer, catalog or default_catalog())
    app = QtCore.QCoreApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(hookup.shutdown)
    return hookup
