"""The per-link table of the Trainer (a dock): one row per linked object."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PyQt6 import QtCore, QtWidgets


class LinkTableDock(QtWidgets.QDockWidget):
    """Rows of ``link_id``, each channel's mask id, IoU and centroids; activating a row
    (double click, Enter) emits its ``link_id`` (the controller selects and shows that
    object)."""

    linkActivated = QtCore.pyqtSignal(int)
    exportRequested = QtCore.pyqtSignal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Links", parent)
        self.setObjectName("dock_links")
        body = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(body)
        lay.setContentsMargins(2, 2, 2, 2)
        top = QtWidgets.QHBoxLayout()
        self.summary = QtWidgets.QLabel("")
        top.addWidget(self.summary, 1)
        self.export = QtWidgets.QPushButton("Export CSV…")
        self.export.clicked.connect(self.exportRequested)
        top.addWidget(self.export)
        lay.addLayout(top)
        self.table = QtWidgets.QTableWidget(0, 0)
        self.table.setObjectName("link_table")
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.cellActivated.connect(self._activated)  # double click or Enter
        lay.addWidget(self.table, 1)
        self.setWidget(body)
        self._ids: list[int] = []

    def set_table(self, table: dict[str, np.ndarray], columns: Sequence[str] | None = None) -> None:
        """Show the per-link table (``linking.link_table``)."""
        columns = list(columns or table.keys())
        n = len(table.get("link_id", ()))
        self._ids = [int(v) for v in table.get("link_id", [])]
        self.table.setSortingEnabled(False)
        self.table.clear()
        self.table.setColumnCount(len(columns))
        self.table.setRowCount(n)
        self.table.setHorizontalHeaderLabels(columns)
        for c, name in enumerate(columns):
            values = np.asarray(table[name])
            for r in range(n):
                v = values[r]
                text = f"{v:.3g}" if values.dtype.kind == "f" else str(v)
                if values.dtype.kind == "f" and not np.isfinite(v):
                    text = ""
                item = QtWidgets.QTableWidgetItem(text)
                if values.dtype.kind in "iuf":
                    item.setData(QtCore.Qt.ItemDataRole.UserRole, float(v))
                self.table.setItem(r, c, item)
        self.summary.setText(f"{n} linked object(s)")

    def rows(self) -> list[list[str]]:
        """The cells as shown (for tests and copy)."""
        return [[self.table.item(r, c).text() for c in range(self.table.columnCount())]
                for r in range(self.table.rowCount())]

    def _activated(self, row: int, _column: int) -> None:
        if 0 <= row < len(self._ids):
            self.linkActivated.emit(self._ids[row])
