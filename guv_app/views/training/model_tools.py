"""The Trainer's model tools: a model selector toolbar and the prediction preview layer.

The preview draws a model's prediction as coloured outlines over the image (above the
labels) until the user accepts it into the labels or discards it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtGui, QtWidgets

from guv_app.views.trainer.overlay import outline_pixels

PREVIEW_COLOR = (255, 230, 0)


class ModelToolBar(QtWidgets.QToolBar):
    """Model: [combo] [Run] · prediction status [Accept] [Discard]."""

    def __init__(self, run_action: QtGui.QAction, accept_action: QtGui.QAction,
                 discard_action: QtGui.QAction, parent=None) -> None:
        super().__init__("Model", parent)
        self.setObjectName("model_toolbar")
        self.addWidget(QtWidgets.QLabel(" Model: "))
        self.combo = QtWidgets.QComboBox()
        self.combo.setObjectName("model_combo")
        self.combo.setMinimumContentsLength(16)
        self.combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setToolTip("Model used by 'Run model on current image'")
        self.addWidget(self.combo)
        self.addAction(run_action)
        self.addSeparator()
        self.status = QtWidgets.QLabel("")
        self.status.setObjectName("prediction_status")
        self.addWidget(self.status)
        self.addAction(accept_action)
        self.addAction(discard_action)

    def set_status(self, text: str) -> None:
        self.status.setText(f" {text} " if text else "")


class PredictionLayer:
    """Outlines of predicted objects in their class colour (yellow when unclassified)."""

    def __init__(self) -> None:
        self.item = pg.ImageItem(axisOrder="row-major")
        self.item.setZValue(15)
        self.item.setVisible(False)
        self.masks: np.ndarray | None = None

    def show(self, masks: np.ndarray, classes: np.ndarray | None,
             class_colors: list[tuple[int, int, int]] | None) -> None:
        masks = np.asarray(masks)
        n = int(masks.max()) + 1 if masks.size else 1
        lut = np.zeros((n, 4), np.uint8)
        lut[1:] = (*PREVIEW_COLOR, 255)
        if classes is not None and class_colors:
            cl = np.asarray(classes, np.int64)[:n]
            for k, col in enumerate(class_colors):
                if k == 0:
                    continue
                lut[: len(cl)][cl == k, :3] = col[:3]
        # one 1-D uint32 lookup (RGBA packed) instead of an (N, 4) fancy index: ~5x faster
        # on large images (shared notes), so masks appear as soon as the result arrives
        rgba32 = lut.view(np.uint32).ravel()[masks]
        rgba32 *= outline_pixels(masks)
        self.masks = masks
        self.item.setImage(rgba32.view(np.uint8).reshape(*masks.shape, 4), autoLevels=False,
                           levels=None)
        self.item.setVisible(True)

    def hide(self) -> None:
        self.masks = None
        self.item.setVisible(False)

    @property
    def visible(self) -> bool:
        return self.item.isVisible()


