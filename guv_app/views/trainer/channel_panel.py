"""Image display controls: series, Z, T, and per-channel colour/contrast/visibility."""

from __future__ import annotations

from PyQt6 import QtCore, QtWidgets

from guv_app.views.trainer.composite import CHANNEL_COLORS, ChannelDisplay

_STEPS = 1000


class _ChannelRow(QtWidgets.QWidget):
    changed = QtCore.pyqtSignal()

    def __init__(self, name: str, disp: ChannelDisplay, vmin: float, vmax: float) -> None:
        super().__init__()
        # slider span: the plane's value range (a constant channel still gets a unit span)
        self.vmin, self.vmax = float(vmin), float(vmax) if vmax > vmin else float(vmin) + 1.0
        self.visible = QtWidgets.QCheckBox(name)
        self.visible.setChecked(disp.visible)
        self.color = QtWidgets.QComboBox()
        self.color.addItems(list(CHANNEL_COLORS))
        self.color.setCurrentText(disp.color)
        self.low = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.high = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        for s, v in ((self.low, disp.low), (self.high, disp.high)):
            s.setRange(0, _STEPS)
            s.setValue(self._to_step(v))
            s.valueChanged.connect(self.changed)
        self.visible.toggled.connect(self.changed)
        self.color.currentTextChanged.connect(self.changed)
        self.low.setToolTip(f"{name}: display minimum")
        self.high.setToolTip(f"{name}: display maximum")
        lay = QtWidgets.QGridLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setVerticalSpacing(1)
        lay.addWidget(self.visible, 0, 0)
        lay.addWidget(self.color, 0, 1)
        sliders = QtWidgets.QHBoxLayout()
        sliders.setSpacing(4)
        for text, slider in (("min", self.low), ("max", self.high)):
            label = QtWidgets.QLabel(text)
            label.setFixedWidth(label.fontMetrics().horizontalAdvance(text) + 4)
            sliders.addWidget(label)
            sliders.addWidget(slider, 1)
        lay.addLayout(sliders, 1, 0, 1, 2)

    def _to_step(self, v: float) -> int:
        step = (v - self.vmin) / (self.vmax - self.vmin) * _STEPS
        return int(round(min(max(step, 0), _STEPS)))

    def _from_step(self, s: int) -> float:
        return self.vmin + s / _STEPS * (self.vmax - self.vmin)

    def display(self) -> ChannelDisplay:
        lo, hi = self._from_step(self.low.value()), self._from_step(self.high.value())
        return ChannelDisplay(self.color.currentText(), lo, max(hi, lo + 1e-9),
                              self.visible.isChecked())


class ChannelPanel(QtWidgets.QGroupBox):
    """Emits ``displayChanged`` with the list of ChannelDisplay; plane/series choices."""

    displayChanged = QtCore.pyqtSignal(object)
    autoContrastRequested = QtCore.pyqtSignal()
    planeChanged = QtCore.pyqtSignal(int, int)  # t, z
    seriesChanged = QtCore.pyqtSignal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Image", parent)
        self.series = QtWidgets.QComboBox()
        self.z = QtWidgets.QSpinBox()
        self.t = QtWidgets.QSpinBox()
        self.z.setToolTip("Z plane (Page Up / Page Down)")
        self.t.setToolTip("Time point (, and .)")
        self.auto = QtWidgets.QPushButton("Auto contrast")
        self.auto.clicked.connect(self.autoContrastRequested)
        form = QtWidgets.QHBoxLayout()
        form.addWidget(QtWidgets.QLabel("Series"))
        form.addWidget(self.series, 1)
        form.addWidget(QtWidgets.QLabel("Z"))
        form.addWidget(self.z)
        form.addWidget(QtWidgets.QLabel("T"))
        form.addWidget(self.t)
        self.rows_box = QtWidgets.QVBoxLayout()
        self.rows_box.setSpacing(2)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.setSpacing(3)
        lay.addLayout(form)
        lay.addLayout(self.rows_box)
        lay.addWidget(self.auto)
        self.rows: list[_ChannelRow] = []
        self.series.currentIndexChanged.connect(self.seriesChanged)
        self.z.valueChanged.connect(lambda _: self.planeChanged.emit(self.t.value(), self.z.value()))
        self.t.valueChanged.connect(lambda _: self.planeChanged.emit(self.t.value(), self.z.value()))

    def set_stack(self, series_names: list[str], series: int, size_t: int, size_z: int) -> None:
        blockers = [QtCore.QSignalBlocker(w) for w in (self.series, self.z, self.t)]
        self.series.clear()
        self.series.addItems(series_names or ["0"])
        self.series.setCurrentIndex(series)
        self.series.setEnabled(len(series_names) > 1)
        self.z.setRange(0, max(size_z - 1, 0))
        self.t.setRange(0, max(size_t - 1, 0))
        self.z.setValue(0)  # a new image or series starts at its first plane
        self.t.setValue(0)
        self.z.setEnabled(size_z > 1)
        self.t.setEnabled(size_t > 1)
        del blockers

    def set_channels(
        self, names: list[str], displays: list[ChannelDisplay], ranges: list[tuple[float, float]]
    ) -> None:
        for row in self.rows:
            self.rows_box.removeWidget(row)
            row.deleteLater()
        self.rows = []
        for name, disp, (lo, hi) in zip(names, displays, ranges, strict=True):
            row = _ChannelRow(name, disp, lo, hi)
            row.changed.connect(self._emit)
            self.rows_box.addWidget(row)
            self.rows.append(row)

    def displays(self) -> list[ChannelDisplay]:
        return [r.display() for r in self.rows]

    def _emit(self) -> None:
        self.displayChanged.emit(self.displays())
