"""Dialog for "Export labels of all labelled planes": a folder and a format."""

from __future__ import annotations

from PyQt6 import QtCore, QtWidgets


class ExportAllDialog(QtWidgets.QDialog):
    """Choose the output folder and the format; ``chosen(folder, suffix)`` on OK."""

    chosen = QtCore.pyqtSignal(str, str)

    def __init__(self, parent: QtWidgets.QWidget | None, folder: str,
                 formats: list[tuple[str, str]]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export labels of all labelled planes")
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        form = QtWidgets.QFormLayout(self)
        self.folder = QtWidgets.QLineEdit(folder)
        browse = QtWidgets.QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        form.addRow("Folder", row)
        self.format = QtWidgets.QComboBox()
        for label, suffix in formats:
            self.format.addItem(label, suffix)
        form.addRow("Format", self.format)
        form.addRow(QtWidgets.QLabel(
            "One file per labelled plane, named after its image (series as _s<k>)."))
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.buttons = buttons

    def _browse(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Export into", self.folder.text())
        if path:
            self.folder.setText(path)

    def accept(self) -> None:
        folder = self.folder.text().strip()
        if not folder:
            return
        super().accept()
        self.chosen.emit(folder, str(self.format.currentData()))
