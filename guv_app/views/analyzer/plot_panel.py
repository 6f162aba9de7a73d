"""Histogram of one measurement or scatter of two, coloured by class or by track (pyqtgraph)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

_FALLBACK = [(230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178),
             (213, 94, 0), (204, 121, 167), (120, 120, 120)]


class PlotPanel(QtWidgets.QWidget):
    """Pick a kind (histogram/scatter) and columns; ``exportRequested`` asks for a PNG."""

    exportRequested = QtCore.pyqtSignal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        row = QtWidgets.QHBoxLayout()
        self.kind = QtWidgets.QComboBox()
        self.kind.addItems(["histogram", "scatter"])
        self.x = QtWidgets.QComboBox()
        self.y = QtWidgets.QComboBox()
        self.bins = QtWidgets.QSpinBox()
        self.bins.setRange(2, 500)
        self.bins.setValue(30)
        self.color_by = QtWidgets.QComboBox()
        self.color_by.addItems(["class", "track"])
        self.color_by.model().item(1).setEnabled(False)  # until the table has tracks
        self.color_by.setToolTip("Colour by class, or by track once the table is tracked")
        self.export = QtWidgets.QPushButton("Export PNG…")
        self.export.clicked.connect(self.exportRequested)
        for label, w in (("Plot", self.kind), ("x", self.x), ("y", self.y),
                         ("bins", self.bins), ("colour by", self.color_by)):
            row.addWidget(QtWidgets.QLabel(label))
            row.addWidget(w)
        row.addStretch(1)
        row.addWidget(self.export)
        lay.addLayout(row)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setObjectName("measure_plot")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.plot.addLegend(offset=(-10, 10))
        lay.addWidget(self.plot, 1)
        self._table: dict[str, np.ndarray] = {}
        self._colors: dict[str, tuple[int, int, int]] = {}
        for w in (self.kind, self.x, self.y, self.color_by):
            w.currentIndexChanged.connect(self.redraw)
        self.bins.valueChanged.connect(self.redraw)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()

    def _kind_changed(self) -> None:
        scatter = self.kind.currentText() == "scatter"
        self.y.setEnabled(scatter)
        self.bins.setEnabled(not scatter)

    def set_table(self, table: dict[str, Any], class_colors: dict[str, tuple] | None = None,
                  default_x: str = "area") -> None:
        """Numeric columns become choices; ``class_colors`` maps class name -> RGB."""
        self._table = {k: np.asarray(v) for k, v in table.items()}
        self._colors = dict(class_colors or {})
        numeric = [k for k, v in self._table.items() if v.dtype.kind in "iuf"
                   and k not in ("object_id", "class_id", "track_id", "parent_track_id",
                                 "lineage_id")]
        tracked = "track_id" in self._table
        item = self.color_by.model().item(1)
        item.setEnabled(tracked)
        if not tracked and self.color_by.currentIndex() == 1:
            blocker = QtCore.QSignalBlocker(self.color_by)
            self.color_by.setCurrentIndex(0)
            del blocker
        for combo, default in ((self.x, default_x), (self.y, numeric[1] if len(numeric) > 1
                                                      else default_x)):
            blocker = QtCore.QSignalBlocker(combo)
            old = combo.currentText()
            combo.clear()
            combo.addItems(numeric)
            pick = old if old in numeric else default
            combo.setCurrentIndex(max(combo.findText(pick), 0))
            del blocker
        self.redraw()

    def _groups(self) -> list[tuple[str | None, np.ndarray, tuple[int, int, int]]]:
        """(legend name, row mask, colour) per class, or per track (no legend entries)."""
        if self.color_by.currentText() == "track" and "track_id" in self._table:
            from guv_app.views.analyzer.track_panel import N_TRACK_COLORS, track_color

            ids = np.asarray(self._table["track_id"], dtype=np.int64)
            buckets = np.where(ids > 0, ids % N_TRACK_COLORS, -1)  # one item per colour
            return [(None, buckets == b, track_color(int(b))) for b in np.unique(buckets)
                    if b >= 0]
        names = self._table.get("class_name")
        if names is None or not len(names):
            return []
        out = []
        for i, name in enumerate(sorted({str(n) for n in names})):
            color = self._colors.get(name) or _FALLBACK[i % len(_FALLBACK)]
            if tuple(color) == (0, 0, 0):
                color = _FALLBACK[-1]
            out.append((name, names.astype(str) == name, tuple(color)))
        return out

    def redraw(self) -> None:
        self.plot.clear()
        self.legend.clear()
        x = self._table.get(self.x.currentText())
        if x is None or not len(x):
            return
        x = x.astype(np.float64)
        plot_item = self.plot.getPlotItem()
        plot_item.setLabel("bottom", self.x.currentText())
        if self.kind.currentText() == "histogram":
            self._histogram(x)
            plot_item.setLabel("left", "objects")
        else:
            y = self._table[self.y.currentText()].astype(np.float64)
            self._scatter(x, y)
            plot_item.setLabel("left", self.y.currentText())
        self.plot.autoRange()

    def _histogram(self, x: np.ndarray) -> None:
        finite = x[np.isfinite(x)]
        if not len(finite):
            return
        lo, hi = float(finite.min()), float(finite.max())
        edges = np.linspace(lo, hi if hi > lo else lo + 1, self.bins.value() + 1)
        for name, mask, color in self._groups():
            counts, _ = np.histogram(x[mask & np.isfinite(x)], bins=edges)
            self.plot.plot(edges, counts, stepMode="center", fillLevel=0, name=name,
                           pen=pg.mkPen(color, width=1.5),
                           brush=pg.mkBrush(*color, 90))

    def _scatter(self, x: np.ndarray, y: np.ndarray) -> None:
        for name, mask, color in self._groups():
            self.plot.plot(x[mask], y[mask], pen=None, symbol="o", symbolSize=5, name=name,
                           symbolPen=None, symbolBrush=pg.mkBrush(*color, 160))

    def data_items(self) -> list[pg.PlotDataItem]:
        """The plotted series (one per class)."""
        return list(self.plot.getPlotItem().listDataItems())

    def render_image(self) -> QtGui.QImage:
        """The plot as an image, for the controller to save."""
        return self.plot.grab().toImage()
