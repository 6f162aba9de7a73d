"""A read-only table view over a dict of equal-length columns (the measurement table)."""

from __future__ import annotations

from typing import Any

import numpy as np
from PyQt6 import QtCore, QtWidgets

Qt = QtCore.Qt


class ColumnsModel(QtCore.QAbstractTableModel):
    """Rows of ``{column: 1-D array}``; numbers right-aligned, floats shown to 4 digits."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._columns: list[str] = []
        self._data: dict[str, np.ndarray] = {}
        self._n = 0

    def set_table(self, table: dict[str, Any]) -> None:
        self.beginResetModel()
        self._columns = list(table)
        self._data = {k: np.asarray(v) for k, v in table.items()}
        self._n = len(next(iter(self._data.values()))) if self._data else 0
        self.endResetModel()

    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    def rowCount(self, parent=QtCore.QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else self._n

    def columnCount(self, parent=QtCore.QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: QtCore.QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        column = self._data[self._columns[index.column()]]
        if role == Qt.ItemDataRole.DisplayRole:
            value = column[index.row()]
            if column.dtype.kind == "f":
                return "" if value != value else f"{float(value):.4g}"
            return str(value)
        if role == Qt.ItemDataRole.TextAlignmentRole and column.dtype.kind in "iuf":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self._columns[section] if section < len(self._columns) else None
        return str(section + 1)


class ResultsTable(QtWidgets.QTableView):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("results_table")
        self.results = ColumnsModel(self)
        self.setModel(self.results)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setDefaultSectionSize(20)
        self.horizontalHeader().setStretchLastSection(False)

    def set_table(self, table: dict[str, Any]) -> None:
        self.results.set_table(table)
        self.resizeColumnsToContents()
