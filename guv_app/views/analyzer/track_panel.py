"""The Tracks tab: tracking settings, the list of tracks (coloured by track) and a plot of
any measurement over time, per track or per class (mean ± SD). Layout and drawing only."""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

Qt = QtCore.Qt
PER_TRACK, PER_CLASS = "per track", "per class (mean ± SD)"


#: Distinct track colours; track k gets colour k mod N, so neighbouring ids always differ and
#: a plot draws one item per colour (not per track) however many tracks there are.
N_TRACK_COLORS = 24


def track_color(track_id: int) -> tuple[int, int, int]:
    """A stable colour per track id: golden-ratio hues over :data:`N_TRACK_COLORS`."""
    hue = ((int(track_id) % N_TRACK_COLORS) * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 0.9)
    return int(r * 255), int(g * 255), int(b * 255)


class TrackPanel(QtWidgets.QWidget):
    """Signals ask the controller to act; the controller fills the list and the plot."""

    loadRequested = QtCore.pyqtSignal()
    trackRequested = QtCore.pyqtSignal()
    exportRequested = QtCore.pyqtSignal()
    deleteRequested = QtCore.pyqtSignal()
    mergeRequested = QtCore.pyqtSignal()
    undoRequested = QtCore.pyqtSignal()
    redoRequested = QtCore.pyqtSignal()
    plotChanged = QtCore.pyqtSignal()
    colorImageToggled = QtCore.pyqtSignal(bool)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("track_panel")
        lay = QtWidgets.QHBoxLayout(self)
        side = QtWidgets.QVBoxLayout()
        form = QtWidgets.QFormLayout()
        self.max_distance = QtWidgets.QDoubleSpinBox()
        self.max_distance.setRange(0.5, 10000)
        self.max_distance.setValue(15.0)
        self.max_distance.setSuffix(" px")
        self.max_distance.setToolTip("Largest displacement of an object between frames")
        self.units = QtWidgets.QComboBox()
        self.units.addItem("px", "px")
        self.units.addItem("µm (calibrated centroids)", "um")
        self.units.model().item(1).setEnabled(False)  # until a table has µm columns
        self.units.currentIndexChanged.connect(
            lambda _: self.max_distance.setSuffix(" µm" if self.units.currentData() == "um"
                                                  else " px"))
        self.gap = QtWidgets.QSpinBox()
        self.gap.setRange(0, 100)
        self.gap.setToolTip("Frames an object may be missing and keep its track")
        self.area_weight = QtWidgets.QDoubleSpinBox()
        self.area_weight.setRange(0, 1000)
        self.area_weight.setToolTip("px of movement a change of area by a factor e is worth")
        self.intensity_weight = QtWidgets.QDoubleSpinBox()
        self.intensity_weight.setRange(0, 1000)
        self.intensity_weight.setToolTip(
            "px of movement a change of mean intensity (channel 0) by a factor e is worth")
        self.same_class = QtWidgets.QCheckBox("never link different classes")
        self.divisions = QtWidgets.QCheckBox("divisions (one object becomes two)")
        form.addRow("max distance", self.max_distance)
        form.addRow("distances in", self.units)
        form.addRow("gap closing (frames)", self.gap)
        form.addRow("area weight", self.area_weight)
        form.addRow("intensity weight", self.intensity_weight)
        form.addRow(self.same_class)
        form.addRow(self.divisions)
        side.addLayout(form)
        buttons = QtWidgets.QHBoxLayout()
        self.load = QtWidgets.QPushButton("Load table…")
        self.track = QtWidgets.QPushButton("Track")
        self.export = QtWidgets.QPushButton("Export…")
        self.track.setEnabled(False)
        self.export.setEnabled(False)
        for button, signal in ((self.load, self.loadRequested), (self.track, self.trackRequested),
                               (self.export, self.exportRequested)):
            button.clicked.connect(signal)
            buttons.addWidget(button)
        side.addLayout(buttons)
        self.status = QtWidgets.QLabel("Measure a time-lapse (or load a table) to track.")
        self.status.setWordWrap(True)
        side.addWidget(self.status)
        self.tracks = QtWidgets.QListWidget()
        self.tracks.setObjectName("track_list")
        self.tracks.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tracks.itemSelectionChanged.connect(self.plotChanged)
        side.addWidget(self.tracks, 1)
        edit = QtWidgets.QHBoxLayout()
        self.delete = QtWidgets.QPushButton("Delete track(s)")
        self.merge = QtWidgets.QPushButton("Merge tracks")
        self.delete.setToolTip("Remove the selected tracks from the table (Del)")
        self.merge.setToolTip("Join two selected tracks into the first one")
        self.delete.clicked.connect(self.deleteRequested)
        self.merge.clicked.connect(self.mergeRequested)
        edit.addWidget(self.delete)
        edit.addWidget(self.merge)
        side.addLayout(edit)
        self.color_image = QtWidgets.QCheckBox("colour objects by track in the Image tab")
        self.color_image.toggled.connect(self.colorImageToggled)
        side.addWidget(self.color_image)
        self._shortcut(QtGui.QKeySequence.StandardKey.Delete, self.deleteRequested, self.tracks)
        self._shortcut(QtGui.QKeySequence.StandardKey.Undo, self.undoRequested, self)
        self._shortcut(QtGui.QKeySequence.StandardKey.Redo, self.redoRequested, self)
        lay.addLayout(side)

        right = QtWidgets.QVBoxLayout()
        row = QtWidgets.QHBoxLayout()
        self.column = QtWidgets.QComboBox()
        self.mode = QtWidgets.QComboBox()
        self.mode.addItems([PER_TRACK, PER_CLASS])
        for label, widget in (("measurement", self.column), ("plot", self.mode)):
            row.addWidget(QtWidgets.QLabel(label))
            row.addWidget(widget)
            widget.currentIndexChanged.connect(self.plotChanged)
        row.addStretch(1)
        right.addLayout(row)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setObjectName("track_plot")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.plot.addLegend(offset=(-10, 10))
        right.addWidget(self.plot, 1)
        lay.addLayout(right, 1)

    def _shortcut(self, keys, signal, widget: QtWidgets.QWidget) -> None:
        action = QtGui.QAction(self)
        action.setShortcut(QtGui.QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(signal)
        widget.addAction(action)

    # ------------------------------------------------------------------ filling
    def set_tracks(self, rows: Sequence[tuple[int, str]]) -> None:
        """(track id, description) per track; keeps the selection of ids that remain."""
        keep = set(self.selected())
        blocker = QtCore.QSignalBlocker(self.tracks)
        self.tracks.clear()
        for track_id, text in rows:
            item = QtWidgets.QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, int(track_id))
            pixmap = QtGui.QPixmap(12, 12)
            pixmap.fill(QtGui.QColor(*track_color(track_id)))
            item.setIcon(QtGui.QIcon(pixmap))
            self.tracks.addItem(item)
            item.setSelected(int(track_id) in keep)
        del blocker
        self.plotChanged.emit()

    def selected(self) -> list[int]:
        """Selected track ids, in list order."""
        return [int(self.tracks.item(i).data(Qt.ItemDataRole.UserRole))
                for i in range(self.tracks.count()) if self.tracks.item(i).isSelected()]

    def set_columns(self, columns: Sequence[str], default: str = "area") -> None:
        blocker = QtCore.QSignalBlocker(self.column)
        old = self.column.currentText()
        self.column.clear()
        self.column.addItems(list(columns))
        pick = old if old in columns else default
        self.column.setCurrentIndex(max(self.column.findText(pick), 0))
        del blocker

    # ------------------------------------------------------------------ drawing
    def draw(self, curves, x_label: str, per_class_colors: dict[str, tuple] | None = None,
             highlight: Sequence[int] = ()) -> None:
        """Draw :class:`~guv_app.services.tracking.series.Series` curves.

        Per track: each track in its colour, selected tracks thicker. Per class: the mean
        line and a band of ± SD in the class colour.
        """
        self.plot.clear()
        self.legend.clear()
        item = self.plot.getPlotItem()
        item.setLabel("bottom", x_label)
        item.setLabel("left", self.column.currentText())
        if self.mode.currentText() != PER_CLASS:
            self._draw_tracks(curves, highlight)
        for k, series in enumerate(curves if self.mode.currentText() == PER_CLASS else ()):
            color = (per_class_colors or {}).get(series.name) or track_color(k + 1)
            upper = pg.PlotDataItem(series.x, series.y + series.spread, pen=None)
            lower = pg.PlotDataItem(series.x, series.y - series.spread, pen=None)
            self.plot.addItem(pg.FillBetweenItem(upper, lower, brush=pg.mkBrush(*color, 60)))
            self.plot.plot(series.x, series.y, pen=pg.mkPen(color, width=2),
                           symbol="o", symbolSize=5, symbolBrush=pg.mkBrush(*color),
                           name=f"{series.name} (n≤{int(series.n.max())})")
        self.plot.autoRange()

    def _draw_tracks(self, curves, highlight: Sequence[int]) -> None:
        """One line item per track colour (tracks joined with NaN breaks), then the
        highlighted tracks thicker and named in the legend."""
        buckets: dict[tuple[int, int, int], list] = {}
        chosen = []
        for series in curves:
            track_id = int(series.name.split()[-1])
            if track_id in highlight:
                chosen.append((track_id, series))
            else:
                buckets.setdefault(track_color(track_id), []).append(series)
        for color, group in buckets.items():
            x = np.concatenate([np.r_[s.x, np.nan] for s in group])
            y = np.concatenate([np.r_[s.y, np.nan] for s in group])
            self.plot.plot(x, y, connect="finite", pen=pg.mkPen(color, width=1.2),
                           symbol="o", symbolSize=3, symbolPen=None,
                           symbolBrush=pg.mkBrush(*color))
        for track_id, series in chosen:
            color = track_color(track_id)
            self.plot.plot(series.x, series.y, name=series.name, pen=pg.mkPen(color, width=3),
                           symbol="o", symbolSize=6, symbolPen=None,
                           symbolBrush=pg.mkBrush(*color))

    def data_items(self) -> list[pg.PlotDataItem]:
        return list(self.plot.getPlotItem().listDataItems())


def numeric_columns(table: dict[str, np.ndarray]) -> list[str]:
    """Columns worth plotting over time (numbers, not ids or the time itself)."""
    skip = {"object_id", "class_id", "track_id", "parent_track_id", "lineage_id", "t", "z",
            "series",
            "time_s", "track_age", "track_age_s"}
    return [k for k, v in table.items() if np.asarray(v).dtype.kind in "iuf" and k not in skip]
