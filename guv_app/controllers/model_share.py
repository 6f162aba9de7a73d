"""Model menu entries to share models: export the selected model, import a model file.

"Export model…" writes the model selected in the model toolbar as a BioImage.IO package
(``*.zip``) or a Cellpose checkpoint (any other name), chosen by the file type in the save
dialog; "Import model…" adds a Cellpose checkpoint or BioImage.IO package to the registry
and selects it. Both run on a worker thread (a BioImage.IO export traces, validates and
tests the model: seconds to minutes) and report in the status bar; errors are one line in a
message box. The services are ``guv_app.services.export``, the same as the CLI's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PyQt6 import QtCore, QtGui, QtWidgets

from guv_app.controllers.model_catalog import ModelCatalog
from guv_app.controllers.task_runner import TaskRunner

log = logging.getLogger(__name__)

BIOIMAGEIO_FILTER = "BioImage.IO model package (*.zip)"
CELLPOSE_FILTER = "Cellpose 4 checkpoint (*)"
IMPORT_FILTER = "Models (*.zip *.pt *.pth *.yaml);;All files (*)"


class ModelShareActions(QtCore.QObject):
    """The two actions and their worker; ``current_model()`` names the selected model."""

    def __init__(self, window: QtWidgets.QMainWindow, catalog: ModelCatalog,
                 current_model: Callable[[], str],
                 on_imported: Callable[[str], None] | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.catalog = catalog
        self.current_model = current_model
        self.on_imported = on_imported
        self.export_action = QtGui.QAction("Export model…", window)
        self.export_action.setObjectName("action_export_model")
        self.export_action.setToolTip("Write the selected model as a BioImage.IO package or "
                                      "a Cellpose checkpoint")
        self.export_action.triggered.connect(lambda: self.export_model())
        self.import_action = QtGui.QAction("Import model…", window)
        self.import_action.setObjectName("action_import_model")
        self.import_action.setToolTip("Add a Cellpose checkpoint or BioImage.IO package to "
                                      "the models")
        self.import_action.triggered.connect(lambda: self.import_model())
        self.runner = TaskRunner(self, name="model-share")
        self.runner.finished.connect(self._done)
        self.runner.failed.connect(self._failed)

    def add_to(self, menu: QtWidgets.QMenu) -> None:
        menu.addAction(self.export_action)
        menu.addAction(self.import_action)

    def _busy(self) -> bool:
        if self.runner.running:
            self.window.statusBar().showMessage("An export or import is already running", 3000)
            return True
        return False

    def export_model(self, path: str | None = None, fmt: str | None = None) -> bool:
        """Ask where (unless ``path``) and export the selected model off-thread."""
        name = self.current_model()
        if not name or self._busy():
            return False
        if path is None:
            path, chosen = QtWidgets.QFileDialog.getSaveFileName(
                self.window, f"Export model {name}", f"{name}.zip",
                f"{BIOIMAGEIO_FILTER};;{CELLPOSE_FILTER}")
            if not path:
                return False
            fmt = "bioimageio" if chosen == BIOIMAGEIO_FILTER else "cellpose"
        fmt = fmt or ("bioimageio" if path.lower().endswith(".zip") else "cellpose")

        def job(report, cancel):
            if fmt == "bioimageio":
                from guv_app.services.export.bioimageio import export_bioimageio

                res = export_bioimageio(name, path, overwrite=True)
                return f"Exported {name} to {res.path} (BioImage.IO, model test {res.test})"
            from guv_app.services.export.cellpose_file import export_cellpose

            res = export_cellpose(name, path, overwrite=True)
            dropped = (f"; class head not exported ({', '.join(res.dropped_classes)})"
                       if res.dropped_classes else "")
            return f"Exported {name} to {res.path} (Cellpose checkpoint{dropped})"

        self.window.statusBar().showMessage(f"Exporting {name}…")
        self.runner.start(job)
        return True

    def import_model(self, path: str | None = None) -> bool:
        """Ask for a file (unless ``path``) and import it off-thread; selects it when done."""
        if self._busy():
            return False
        if path is None:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(
                self.window, "Import model", "", IMPORT_FILTER)
            if not path:
                return False

        def job(report, cancel):
            from guv_app.services.export.importing import import_model

            return import_model(path)

        self.window.statusBar().showMessage(f"Importing {Path(path).name}…")
        self.runner.start(job)
        return True

    def _done(self, result) -> None:
        if isinstance(result, str):
            self.window.statusBar().showMessage(result, 10000)
            return
        self.catalog.refresh()
        if self.on_imported is not None:
            self.on_imported(result.name)
        self.window.statusBar().showMessage(
            f"Imported {result.name} ({result.format}, {result.meta.backbone})", 10000)

    def _failed(self, message: str) -> None:
        self.window.statusBar().clearMessage()
        QtWidgets.QMessageBox.warning(self.window, "Model export/import", message)
