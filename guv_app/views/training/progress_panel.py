"""Live training feedback: progress bar with epoch and ETA, loss curves, metrics, a log.

Updates arrive in batches (the controller throttles them), so each call may carry many
points; curves are re-set from growing arrays, which stays cheap for thousands of points.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtWidgets

TRAIN_STEP_COLOR = (120, 160, 220)
TRAIN_COLOR = (31, 90, 200)
VAL_COLOR = (230, 110, 20)


class ProgressPanel(QtWidgets.QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.status = QtWidgets.QLabel("Not started")
        self.status.setObjectName("progress_status")
        self.bar = QtWidgets.QProgressBar()
        self.bar.setObjectName("progress_bar")
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        lay.addWidget(self.status)
        lay.addWidget(self.bar)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setObjectName("loss_plot")
        self.plot.setMinimumHeight(220)
        pi = self.plot.getPlotItem()
        pi.setLabel("bottom", "epoch")
        pi.setLabel("left", "loss")
        pi.showGrid(x=True, y=True, alpha=0.2)
        pi.setMenuEnabled(False)
        pi.addLegend(offset=(-10, 10), brush=pg.mkBrush(255, 255, 255, 210),
                     pen=pg.mkPen(200, 200, 200))
        self.step_curve = pi.plot([], [], pen=pg.mkPen(TRAIN_STEP_COLOR, width=1),
                                  name="train (per step)")
        self.train_curve = pi.plot([], [], pen=pg.mkPen(TRAIN_COLOR, width=2), symbol="o",
                                   symbolSize=7, symbolBrush=TRAIN_COLOR,
                                   name="train (epoch mean)")
        self.val_curve = pi.plot([], [], pen=pg.mkPen(VAL_COLOR, width=2), symbol="s",
                                 symbolSize=7, symbolBrush=VAL_COLOR, name="validation")
        lay.addWidget(self.plot, 3)
        self.metrics = QtWidgets.QLabel("Validation metrics appear after the first validation.")
        self.metrics.setObjectName("val_metrics")
        self.metrics.setWordWrap(True)
        lay.addWidget(self.metrics)
        self.log = QtWidgets.QPlainTextEdit()
        self.log.setObjectName("training_log")
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        self.log.setMinimumHeight(90)
        lay.addWidget(self.log, 1)
        self.clear()

    def clear(self) -> None:
        self._steps: tuple[list[float], list[float]] = ([], [])
        self._train: tuple[list[float], list[float]] = ([], [])
        self._val: tuple[list[float], list[float]] = ([], [])
        for curve in (self.step_curve, self.train_curve, self.val_curve):
            curve.setData([], [])
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setFormat("%p%")
        self.status.setText("Not started")
        self.metrics.setText("Validation metrics appear after the first validation.")
        self.log.clear()

    # ----------------------------------------------------------------- updates
    def set_progress(self, done: int, total: int, text: str, *, busy: bool = False) -> None:
        """``busy`` shows a moving bar (unknown length: loading, preparing data)."""
        if busy:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, max(int(total), 1))
            self.bar.setValue(min(int(done), max(int(total), 1)))
        self.status.setText(text)

    def add_step_losses(self, x: list[float], y: list[float]) -> None:
        """Per-step training losses at fractional epochs ``x`` (1-based)."""
        if not x:
            return
        self._steps[0].extend(x)
        self._steps[1].extend(y)
        self.step_curve.setData(np.asarray(self._steps[0]), np.asarray(self._steps[1]))

    def add_epoch(self, epoch: float, train_loss: float | None, val_loss: float | None) -> None:
        if train_loss is not None:
            self._train[0].append(epoch)
            self._train[1].append(train_loss)
            self.train_curve.setData(np.asarray(self._train[0]), np.asarray(self._train[1]))
        if val_loss is not None:
            self._val[0].append(epoch)
            self._val[1].append(val_loss)
            self.val_curve.setData(np.asarray(self._val[0]), np.asarray(self._val[1]))

    def set_metrics(self, html_text: str) -> None:
        self.metrics.setText(html_text)

    def append_log(self, lines: list[str]) -> None:
        if lines:
            self.log.appendPlainText("\n".join(lines))

    def n_points(self) -> dict[str, int]:
        """How many points each curve shows (tests, status)."""
        return {"step": len(self._steps[0]), "train": len(self._train[0]),
                "val": len(self._val[0])}


