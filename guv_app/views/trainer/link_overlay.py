"""What the Trainer draws for links across channels: another channel's objects as outlines,
a line between the centroids of each linked pair, and a ring on a pending pick."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore

from guv_app.views.trainer.overlay import outline_pixels

REFERENCE_COLOR = (255, 215, 0)  # outlines of the reference channel's objects
LINK_COLOR = (255, 64, 255)  # lines between linked centroids


class LinkOverlay:
    """Three canvas items, added once to the canvas' view box (:meth:`attach`)."""

    def __init__(self) -> None:
        self.outlines = pg.ImageItem(axisOrder="row-major")
        self.outlines.setZValue(12)  # above the labels (10), below paths (20)
        self.lines = pg.PlotCurveItem(pen=pg.mkPen(LINK_COLOR, width=2, cosmetic=True),
                                      connect="pairs")
        self.lines.setZValue(18)
        self.pick = pg.ScatterPlotItem(size=14, pen=pg.mkPen(LINK_COLOR, width=2),
                                       brush=None, symbol="o")
        self.pick.setZValue(19)
        self._segments = np.zeros((0, 2, 2))

    def attach(self, view_box: pg.ViewBox) -> None:
        for item in (self.outlines, self.lines, self.pick):
            view_box.addItem(item, ignoreBounds=True)

    def set_reference(self, masks: np.ndarray | None, visible: bool = True) -> None:
        """Outline every object of ``masks`` (H, W) (None: nothing)."""
        if masks is None or not masks.size:
            self.outlines.clear()
            self.outlines.setVisible(False)
            return
        rgba = np.zeros((*masks.shape, 4), np.uint8)
        edge = outline_pixels(np.asarray(masks))
        rgba[edge] = (*REFERENCE_COLOR, 255)
        self.outlines.setImage(rgba, autoLevels=False, levels=None)
        self.outlines.setVisible(visible)

    def set_outlines_visible(self, on: bool) -> None:
        self.outlines.setVisible(bool(on))

    def set_lines(self, start: np.ndarray, end: np.ndarray) -> None:
        """One line per row from ``start[k]`` to ``end[k]`` ((N, 2) x, y in image px)."""
        start = np.asarray(start, np.float64).reshape(-1, 2)
        end = np.asarray(end, np.float64).reshape(-1, 2)
        ok = np.isfinite(start).all(1) & np.isfinite(end).all(1)
        self._segments = np.stack([start[ok], end[ok]], axis=1)
        if not len(self._segments):
            self.lines.setData([], [])
            return
        xy = self._segments.reshape(-1, 2) + 0.5  # pixel centres
        self.lines.setData(xy[:, 0], xy[:, 1], connect="pairs")

    @property
    def segments(self) -> np.ndarray:
        """(N, 2, 2): the drawn lines as ((x0, y0), (x1, y1)) in image px."""
        return self._segments.copy()

    def set_pick(self, xy: tuple[float, float] | None) -> None:
        self.pick.setData([] if xy is None else [{"pos": QtCore.QPointF(xy[0] + 0.5,
                                                                         xy[1] + 0.5)}])
