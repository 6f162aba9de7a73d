"""Browse and correct predictions with the Trainer's own viewer, tools and undo.

A :class:`~guv_app.controllers.trainer_controller.TrainerController` is composed, not
copied: its window (canvas, class/tool/channel panels, Edit and View menus) is embedded in
the Analyzer's Image tab, and its label document holds the prediction. The Trainer's file
session is never given a path, so it never reads or writes ``_seg.npy``; this class loads
the image and its ``_pred_seg.npy`` instead, and saves edits back to the prediction
(shortly after each edit, before switching images or planes, and on Ctrl+S). A multi-plane
file is browsed plane by plane with the Trainer's series / T / Z controls; each plane has
its own prediction file (``services.batch.Plane.file_for``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

from guv_app.controllers.trainer_controller import TrainerController
from guv_app.services.analysis.predictions import PRED_SUFFIX, save_edited_prediction
from guv_app.services.annotation import LabelEvent
from guv_app.services.batch import Plane

log = logging.getLogger(__name__)

# Trainer actions that act on the Trainer's own files: disabled inside the Analyzer
_FILE_ACTIONS = ("open", "save", "next", "prev", "autosave", "close", "run_model", "train")


class PredictionEditor(QtCore.QObject):
    """The embedded Trainer view editing one image's prediction."""

    saved = QtCore.pyqtSignal(object)  # Path of the written prediction file
    SAVE_DELAY_MS = 800

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.trainer = TrainerController()
        self.doc = self.trainer.doc
        w = self.trainer.window
        w.setWindowFlags(QtCore.Qt.WindowType.Widget)
        w.setAcceptDrops(False)
        for name in _FILE_ACTIONS:
            w.actions[name].setEnabled(False)
        bar = w.menuBar()
        for action in list(bar.actions()):  # keep Edit and View, drop File and Model
            if action.text() in ("File", "Model"):
                bar.removeAction(action)
        labels_menu = bar.addMenu("Labels")  # import/export stay reachable when embedded
        for name in ("import_labels", "export_labels", "export_cellpose"):
            labels_menu.addAction(w.actions[name])
        w.actions["export_all_labels"].setEnabled(False)
        self.trainer.exchange.image_path = lambda: self.path
        for name in ("undo", "redo", "select_none", "import_labels", "export_labels"):
            w.addAction(w.actions[name])
        self.save_action = QtGui.QAction("Save prediction", w)
        self.save_action.setShortcut(QtGui.QKeySequence("Ctrl+S"))
        self.save_action.triggered.connect(self.save)
        w.addAction(self.save_action)
        self.path: Path | None = None
        self.plane: Plane | None = None  # the plane on screen
        self.indexed: dict = {}  # plane key -> prediction file, from run indexes
        self.image = None  # its open cellpose_io.Image (series of the plane)
        self.error: str | None = None
        panel = w.channel_panel
        panel.planeChanged.connect(self.show_plane)
        panel.seriesChanged.connect(lambda series: self.show_plane(0, 0, series))
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.SAVE_DELAY_MS)
        self._timer.timeout.connect(self.save)
        self.doc.events.connect(self._on_doc_event)

    @property
    def widget(self) -> QtWidgets.QWidget:
        return self.trainer.window

    def show(self) -> None:
        self.trainer.window.show()

    # ------------------------------------------------------------------ loading
    def open(self, image: Path, series: int = 0, t: int = 0, z: int = 0) -> bool:
        """Show plane (series, t, z) of ``image`` with its prediction (empty labels when it
        has none)."""
        import cellpose_io

        if not self.leave():
            return False
        try:
            reader = cellpose_io.read_image(image, series)
            planes = reader.plane(t, z)
        except (cellpose_io.CellposeIOError, OSError, ValueError, IndexError) as exc:
            self.error = f"Cannot open {image.name}: {getattr(exc, 'reason', exc)}"
            self.path = self.plane = None
            self.doc.reset(np.zeros((1, 1), np.uint32))
            self.trainer.window.statusBar().showMessage(self.error)
            return False
        if self.image is not None:
            self.image.close()
        self.error = None
        self.path, self.image = Path(image), reader
        self.plane = Plane(str(image), series, t, z, reader.size_t, reader.size_z)
        panel = self.trainer.window.channel_panel
        panel.set_stack(list(reader.series_names), series, reader.size_t, reader.size_z)
        blockers = [QtCore.QSignalBlocker(w) for w in (panel.t, panel.z)]
        panel.t.setValue(t)
        panel.z.setValue(z)
        del blockers
        self._load_prediction(planes.shape[-2:])
        self.trainer.set_planes(planes, new_image=True)
        return True

    def clear(self) -> None:
        """Show nothing (the list is empty): no image of another folder stays on screen."""
        if not self.leave():
            return
        if self.image is not None:
            self.image.close()
        self.path = self.plane = self.image = self.error = None
        self.doc.reset(np.zeros((1, 1), np.uint32))
        self.trainer.set_planes(np.zeros((1, 1, 1), np.float32), new_image=True)

    def show_plane(self, t: int, z: int, series: int | None = None) -> bool:
        """Move to another plane of the open file (its own prediction); edits are saved."""
        if self.path is None or self.plane is None:
            return False
        series = self.plane.series if series is None else series
        if (series, t, z) == (self.plane.series, self.plane.t, self.plane.z):
            return True
        if series != self.plane.series:
            return self.open(self.path, series, t, z)
        if not self.leave():
            return False
        try:
            planes = self.image.plane(t, z)
        except (OSError, ValueError, IndexError) as exc:
            self.trainer.window.statusBar().showMessage(f"Cannot read plane t={t} z={z}: {exc}")
            return False
        self.plane = Plane(str(self.path), series, t, z, self.plane.size_t, self.plane.size_z)
        self._load_prediction(planes.shape[-2:])
        self.trainer.set_planes(planes, new_image=False)
        return True

    def prediction_file(self) -> Path | None:
        """The prediction file of the plane on screen: the one a run index lists for it
        (``predict --out`` elsewhere), else the one beside the image."""
        if self.plane is None:
            return None
        indexed = self.indexed.get(self.plane.key)
        return Path(indexed) if indexed is not None else self.plane.file_for(PRED_SUFFIX)

    def reload(self) -> None:
        """Re-read the prediction of the open plane (after a batch wrote a new one)."""
        if self.path is not None and self.image is not None and not self.doc.dirty:
            self._load_prediction((self.image.size_y, self.image.size_x))

    def _load_prediction(self, shape: tuple[int, int]) -> None:
        import cellpose_io

        pred = self.prediction_file()
        if pred is not None and pred.exists():
            try:
                self.doc.reset_from_seg(cellpose_io.load_seg(pred, shape))
                return
            except cellpose_io.CellposeIOError as exc:
                self.trainer.window.statusBar().showMessage(
                    f"Prediction of {self.path.name} cannot be read: {exc.reason}")
        self.doc.reset(np.zeros(shape, np.uint32), None, self.doc.class_table)

    # ------------------------------------------------------------------- saving
    def _on_doc_event(self, ev: LabelEvent) -> None:
        if ev.kind == "state" and self.doc.dirty and self.path is not None:
            self._timer.start()

    def save(self) -> Path | None:
        """Write the edited prediction now (atomic); None when there is nothing to save."""
        self._timer.stop()
        if self.path is None or not self.doc.dirty:
            return None
        t = self.doc.class_table
        version = self.doc.version
        try:
            out = save_edited_prediction(self.path, self.doc.masks.copy(), self.doc.classes,
                                         list(t.names), list(t.colors),
                                         target=self.prediction_file())
        except (OSError, ValueError, TypeError) as exc:
            self.trainer.window.show_message(f"Could not save the prediction of "
                                             f"{self.path.name}: {exc}")
            return None
        self.doc.mark_saved(version)
        self.trainer.window.statusBar().showMessage(f"Saved {out.name}", 3000)
        self.saved.emit(out)
        return out

    def leave(self) -> bool:
        """Before another image (or a batch touching this one): write pending edits."""
        if self.path is not None and self.doc.dirty:
            return self.save() is not None
        return True
