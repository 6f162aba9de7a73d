"""The images of the open folder with the prediction and last-run status of each."""

from __future__ import annotations

from PyQt6 import QtCore, QtGui, QtWidgets

# status word -> colour of the status cell
STATUS_COLORS = {
    "done": (0, 140, 60), "skipped": (90, 90, 160), "failed": (200, 30, 30),
    "cancelled": (160, 110, 0), "running": (0, 100, 200), "queued": (120, 120, 120),
}


class FileList(QtWidgets.QWidget):
    """A table (image, prediction, status) plus the folder/file buttons and promote."""

    openFolderRequested = QtCore.pyqtSignal()
    addFilesRequested = QtCore.pyqtSignal()
    promoteRequested = QtCore.pyqtSignal()
    undoPromoteRequested = QtCore.pyqtSignal()
    currentChanged = QtCore.pyqtSignal(int)

    COLUMNS = ("Image", "Prediction", "Status")

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        buttons = QtWidgets.QHBoxLayout()
        self.open_folder = QtWidgets.QPushButton("Open folder…")
        self.add_files = QtWidgets.QPushButton("Add files…")
        self.open_folder.clicked.connect(self.openFolderRequested)
        self.add_files.clicked.connect(self.addFilesRequested)
        buttons.addWidget(self.open_folder)
        buttons.addWidget(self.add_files)
        lay.addLayout(buttons)
        self.table = QtWidgets.QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("file_table")
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(
            QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.currentCellChanged.connect(lambda row, *_: self.currentChanged.emit(row))
        self.table.setMinimumHeight(160)
        lay.addWidget(self.table, 1)
        self.summary = QtWidgets.QLabel("No folder open")
        lay.addWidget(self.summary)
        self.promote = QtWidgets.QPushButton("Promote selected to training labels")
        self.promote.setToolTip("Copy the predictions of the selected images to their "
                                "_seg.npy training labels (asks before replacing any)")
        self.promote.clicked.connect(self.promoteRequested)
        self.undo_promote = QtWidgets.QPushButton("Undo promote")
        self.undo_promote.setToolTip("Remove the labels the last promote wrote and put the "
                                     "replaced label files back")
        self.undo_promote.setEnabled(False)
        self.undo_promote.clicked.connect(self.undoPromoteRequested)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.promote, 1)
        row.addWidget(self.undo_promote)
        lay.addLayout(row)

    def set_files(self, names: list[str], predictions: list[str]) -> None:
        self.table.setRowCount(len(names))
        for row, (name, pred) in enumerate(zip(names, predictions, strict=True)):
            item = QtWidgets.QTableWidgetItem(name)
            item.setToolTip(name)
            self.table.setItem(row, 0, item)
            self.table.setItem(row, 1, QtWidgets.QTableWidgetItem(pred))
            self.table.setItem(row, 2, QtWidgets.QTableWidgetItem(""))

    def set_prediction(self, row: int, text: str) -> None:
        self.table.item(row, 1).setText(text)

    def set_status(self, row: int, status: str, reason: str = "") -> None:
        item = self.table.item(row, 2)
        item.setText(status)
        item.setToolTip(reason)
        name = self.table.item(row, 0)
        name.setToolTip(name.text() + (f"\n{status}: {reason}" if reason else ""))
        color = STATUS_COLORS.get(status)
        item.setForeground(QtGui.QBrush(QtGui.QColor(*color)) if color else QtGui.QBrush())

    def status(self, row: int) -> str:
        return self.table.item(row, 2).text()

    def selected_rows(self) -> list[int]:
        rows = {i.row() for i in self.table.selectionModel().selectedRows()}
        if not rows and self.table.currentRow() >= 0:
            rows = {self.table.currentRow()}
        return sorted(rows)

    def set_current(self, row: int) -> None:
        self.table.setCurrentCell(row, 0)
