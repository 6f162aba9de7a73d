"""File ▸ Import labels / Export labels / Export for Cellpose, and opening a ``_seg.npy``.

Formats and their rules live in :mod:`guv_app.services.annotation.exchange`. This module
holds what the three directions share: the file dialogs (which remember their folder), the
"open an image first" check, and the job runner that reads or writes a big file off the GUI
thread behind a progress dialog with Cancel. The directions themselves are parts of their
own: :mod:`~guv_app.controllers.trainer_label_import` (merge or replace, label a binary mask
as objects?), :mod:`~guv_app.controllers.trainer_label_export` (one plane, every labelled
plane, a Cellpose pair) and :mod:`~guv_app.controllers.trainer_seg_open` (a ``_seg.npy``
opens its image). It serves the Trainer and the Analyzer's prediction editor alike:
``image_path`` says which image the labels belong to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6 import QtCore, QtWidgets

from guv_app.controllers.task_runner import TaskRunner, last_step
from guv_app.controllers.trainer_label_export import LabelExport
from guv_app.controllers.trainer_label_import import LabelImport
from guv_app.controllers.trainer_seg_open import SegOpening
from guv_app.services.annotation.exchange import ExchangeError
from guv_app.views.busy import busy_cursor

if TYPE_CHECKING:
    from guv_app.controllers.trainer_parts import TrainerParts

log = logging.getLogger(__name__)
LAST_EXCHANGE_DIR = "trainer/last_exchange_dir"


class LabelExchange(QtCore.QObject):
    """Import/export actions of one Trainer window.

    Big files are read and written off the GUI thread (a 10,000-object RoiSet takes
    seconds), with a Cancel button: a cancelled import changes nothing, a cancelled export
    leaves no file (it is written under a temporary name and moved into place only when
    it was not cancelled).
    """

    ASYNC_BYTES = 2_000_000  # label files bigger than this are read off the GUI thread
    ASYNC_OBJECTS = 2000  # exports of more objects are written off the GUI thread

    def __init__(self, ctl: TrainerParts,
                 image_path: Callable[[], Path | None] | None = None) -> None:
        super().__init__(ctl)
        self.ctl = ctl
        self.window = ctl.window
        self.image_path = image_path or (lambda: ctl.files.path)
        self.dialog: QtWidgets.QFileDialog | None = None
        self.last_export: Path | None = None  # the file of the last export that finished
        self.runner = TaskRunner(self, name="label exchange")
        self.runner.finished.connect(self._job_finished)
        self.runner.failed.connect(self._job_failed)
        self.runner.progress.connect(self._on_progress)
        self._pending: dict | None = None
        self.progress: QtWidgets.QProgressDialog | None = None
        self.importer = LabelImport(self)
        self.exporter = LabelExport(self)
        self.seg_opening = SegOpening(self)
        a = self.window.actions
        a["import_labels"].triggered.connect(self.importer.ask_import)
        a["export_labels"].triggered.connect(self.exporter.ask_export)
        a["export_all_labels"].triggered.connect(self.exporter.ask_export_all)
        a["export_cellpose"].triggered.connect(self.exporter.ask_export_cellpose)

    # ------------------------------- what the Trainer, the Analyzer and tests call
    def import_path(self, path: Path, mode: str | None = None,
                    as_objects: bool | None = None) -> bool:
        """See :meth:`LabelImport.import_path`."""
        return self.importer.import_path(path, mode, as_objects)

    def export_path(self, path: Path) -> Path | None:
        """See :meth:`LabelExport.export_path`."""
        return self.exporter.export_path(path)

    def export_all(self, folder: Path, suffix: str) -> list[Path] | None:
        """See :meth:`LabelExport.export_all`."""
        return self.exporter.export_all(folder, suffix)

    def open_seg(self, seg_path: Path) -> bool:
        """See :meth:`SegOpening.open_seg`."""
        return self.seg_opening.open_seg(seg_path)

    # ------------------------------------------------------------------ dialogs
    def start_dir(self) -> str:
        """The folder the dialogs open in: the last one used, else the image's."""
        path = self.image_path()
        settings = self.ctl.files.settings
        return str(settings.value(LAST_EXCHANGE_DIR, str(path.parent if path else Path.home())))

    def file_dialog(self, title: str, *, save: bool, directory: bool = False,
                    filters: list[str] | None = None) -> QtWidgets.QFileDialog:
        """A window-modal file dialog (kept as ``self.dialog`` for tests and the caller)."""
        dlg = QtWidgets.QFileDialog(self.window, title, self.start_dir())
        Mode = QtWidgets.QFileDialog.FileMode
        if directory:
            dlg.setFileMode(Mode.Directory)
            dlg.setOption(QtWidgets.QFileDialog.Option.ShowDirsOnly, True)
        else:
            dlg.setFileMode(Mode.AnyFile if save else Mode.ExistingFile)
        if save:
            dlg.setAcceptMode(QtWidgets.QFileDialog.AcceptMode.AcceptSave)
        if filters:
            dlg.setNameFilters(filters)
        dlg.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dlg
        return dlg

    def remember_dir(self, path: Path) -> None:
        folder = path if path.is_dir() else path.parent
        self.ctl.files.settings.setValue(LAST_EXCHANGE_DIR, str(folder.absolute()))

    def need_image(self) -> bool:
        """True when an image is open; otherwise the user is told to open one."""
        if self.ctl.planes is None or self.image_path() is None:
            self.window.show_message("Open an image first.")
            return False
        return True

    # ------------------------------------------------------------ background
    def run(self, work, done, text: str, *, background: bool, fail: str = "",
            cleanup=None, job=None, steps: int = 0) -> bool:
        """``done(work())`` now (busy cursor), or with ``work`` on a worker thread behind a
        progress dialog whose Cancel drops the result (``cleanup`` then runs)."""
        if not background:
            try:
                with busy_cursor():
                    result = work()
            except ExchangeError as exc:
                self.window.show_message(f"{fail}{exc}")
                return False
            done(result)
            return True
        if self.runner.running:
            self.window.statusBar().showMessage(
                "Another import or export is still running", 4000)
            return False
        dlg = QtWidgets.QProgressDialog(text, "Cancel", 0, steps, self.window)  # 0: busy
        dlg.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        dlg.setMinimumDuration(0)
        dlg.setAutoClose(False)
        state = {"done": done, "cleanup": cleanup, "fail": fail, "cancelled": False,
                 "dialog": dlg}

        def cancel() -> None:
            state["cancelled"] = True
            self.runner.cancel()

        dlg.canceled.connect(cancel)
        self._pending = state
        self.progress = dlg
        self.runner.start(job if job is not None else (lambda _report, _cancel: work()))
        dlg.show()
        return True

    def _on_progress(self, batch: list) -> None:
        step = last_step(batch)
        if step is not None and self._pending is not None:
            dlg = self._pending["dialog"]
            dlg.setMaximum(step.total)
            dlg.setValue(step.done)
            dlg.setLabelText(f"Exported {step.message} ({step.done} of {step.total})")

    def _finish_job(self) -> dict | None:
        state, self._pending = self._pending, None
        if state is not None:
            dlg = state["dialog"]
            dlg.canceled.disconnect()
            dlg.close()
            if state["cancelled"] and state["cleanup"] is not None:
                state["cleanup"]()
        return state

    def _job_finished(self, result: object) -> None:
        state = self._finish_job()
        if state is None:
            return
        if state["cancelled"]:
            self.window.statusBar().showMessage("Cancelled: nothing was changed", 6000)
        else:
            state["done"](result)

    def _job_failed(self, message: str) -> None:
        state = self._finish_job()
        if state is not None and not state["cancelled"]:
            self.window.show_message(f"{state['fail']}{message}")
