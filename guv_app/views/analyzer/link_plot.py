"""Scatter of one channel's measurement against another's, one point per linked object."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

_SET = re.compile(r"^(?P<column>.+)_set(?P<channel>\d+)$")
_NOT_PLOTTED = {"object_id", "class_id", "series", "t", "z", "link_id"}


def split_columns(table: dict[str, Any]) -> tuple[list[str], list[int]]:
    """(measurement names, label channels) of a per-link table's ``<column>_set<c>`` columns."""
    names: dict[str, None] = {}
    chans: set[int] = set()
    for key, values in table.items():
        m = _SET.match(key)
        if m and np.asarray(values).dtype.kind in "iuf" and m["column"] not in _NOT_PLOTTED:
            names.setdefault(m["column"], None)
            chans.add(int(m["channel"]))
    return list(names), sorted(chans)


class LinkPlotPanel(QtWidgets.QWidget):
    """x: a measurement of one channel's objects; y: one of another channel's objects;
    ``loadRequested`` asks for a CSV written by ``multicellpose measure``."""

    loadRequested = QtCore.pyqtSignal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        row = QtWidgets.QHBoxLayout()
        self.x = QtWidgets.QComboBox()
        self.x_set = QtWidgets.QComboBox()
        self.y = QtWidgets.QComboBox()
        self.y_set = QtWidgets.QComboBox()
        for label, w in (("x", self.x), ("of objects of", self.x_set), ("   y", self.y),
                         ("of objects of", self.y_set)):
            row.addWidget(QtWidgets.QLabel(label))
            row.addWidget(w)
        row.addStretch(1)
        self.count = QtWidgets.QLabel("")
        row.addWidget(self.count)
        self.load = QtWidgets.QPushButton("Load CSV…")
        self.load.setToolTip("results.csv or results_per_link.csv of 'multicellpose measure'")
        self.load.clicked.connect(self.loadRequested)
        row.addWidget(self.load)
        lay.addLayout(row)
        self.hint = QtWidgets.QLabel(
            "Measure label files whose objects are linked across channels (Trainer: Links "
            "menu) to compare, per linked object, one channel's objects with another's.")
        self.hint.setWordWrap(True)
        lay.addWidget(self.hint)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setObjectName("link_plot")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        lay.addWidget(self.plot, 1)
        self._table: dict[str, np.ndarray] = {}
        for w in (self.x, self.x_set, self.y, self.y_set):
            w.currentIndexChanged.connect(self.redraw)

    def set_table(self, table: dict[str, Any]) -> None:
        """Show a per-link table (``measurement.linked.per_link_table``); empty: the hint."""
        self._table = {k: np.asarray(v) for k, v in table.items()}
        names, chans = split_columns(self._table)
        self.hint.setVisible(not chans)
        default_x = "ch0_mean" if "ch0_mean" in names else (names[0] if names else "")
        other = chans[1] if len(chans) > 1 else (chans[0] if chans else 0)
        default_y = f"ch{other}_mean" if f"ch{other}_mean" in names else default_x
        for combo, items, default in (
                (self.x, names, default_x), (self.y, names, default_y),
                (self.x_set, [f"channel {c}" for c in chans], f"channel {chans[0]}" if chans else ""),
                (self.y_set, [f"channel {c}" for c in chans], f"channel {other}")):
            blocker = QtCore.QSignalBlocker(combo)
            old = combo.currentText()
            combo.clear()
            combo.addItems(items)
            combo.setCurrentIndex(max(combo.findText(old if old in items else default), 0))
            del blocker
        self.redraw()

    def columns(self) -> tuple[str, str]:
        """The per-link table columns on x and y."""
        xs, ys = self.x_set.currentText().split(" ")[-1], self.y_set.currentText().split(" ")[-1]
        return f"{self.x.currentText()}_set{xs}", f"{self.y.currentText()}_set{ys}"

    def points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(link ids, x, y) of the links with a finite value on both axes."""
        cx, cy = self.columns()
        if cx not in self._table or cy not in self._table:
            return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
        x = self._table[cx].astype(np.float64)
        y = self._table[cy].astype(np.float64)
        ok = np.isfinite(x) & np.isfinite(y)
        return np.asarray(self._table["link_id"])[ok], x[ok], y[ok]

    def redraw(self) -> None:
        self.plot.clear()
        ids, x, y = self.points()
        self.count.setText(f"{len(ids)} linked object(s)" if self._table else "")
        if not len(ids):
            return
        cx, cy = self.columns()
        item = self.plot.getPlotItem()
        item.setLabel("bottom", cx)
        item.setLabel("left", cy)
        self.plot.plot(x, y, pen=None, symbol="o", symbolSize=6, symbolPen=None,
                       symbolBrush=pg.mkBrush(0, 114, 178, 180), data=ids.tolist())
        self.plot.autoRange()

    def data_items(self) -> list[pg.PlotDataItem]:
        return list(self.plot.getPlotItem().listDataItems())
