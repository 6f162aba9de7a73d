"""The image canvas: image + label overlay, pan/zoom, and the mouse gestures of each tool.

It only reports gestures in image (view) coordinates through signals; what they do to the
labels is the controller's business. Pixel ``(row, col)`` covers ``[col, col+1) x
[row, row+1)`` in view coordinates.
"""

from __future__ import annotations

import enum
import math

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

from guv_app.views.trainer.overlay import LabelOverlay

Qt = QtCore.Qt


class Tool(str, enum.Enum):
    """What a left-button gesture does; right-click always traces a new object."""

    SELECT = "select"  # click selects (Ctrl deletes, Shift assigns class); drag pans
    BRUSH = "brush"
    ERASE = "erase"
    RECT_SELECT = "rect_select"
    LASSO_SELECT = "lasso_select"
    LASSO_DELETE = "lasso_delete"
    SPLIT = "split"
    REGION_RECT = "region_rect"  # training region: rectangle (outline, not an object)
    REGION_POLY = "region_poly"  # training region: freehand polygon


_RECT_TOOLS = {Tool.RECT_SELECT, Tool.REGION_RECT}
_SHAPE_TOOLS = {Tool.RECT_SELECT, Tool.LASSO_SELECT, Tool.LASSO_DELETE, Tool.SPLIT,
                Tool.REGION_RECT, Tool.REGION_POLY}
_BRUSH_TOOLS = {Tool.BRUSH, Tool.ERASE}


class _DrawViewBox(pg.ViewBox):
    """ViewBox that hands clicks and left drags to the canvas (no context menu)."""

    def __init__(self, canvas: LabelCanvas) -> None:
        super().__init__(invertY=True, lockAspect=True, enableMenu=False)
        self._canvas = canvas

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (Qt naming)
        if self._canvas._click(ev):
            ev.accept()
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton and self._canvas.tool != Tool.SELECT:
            ev.accept()
            self._canvas._drag(ev)
        else:
            super().mouseDragEvent(ev, axis)


class LabelCanvas(pg.GraphicsLayoutWidget):
    """Image canvas with tool gestures.

    Signals carry view coordinates: ``(N, 2)`` float arrays of ``(x, y)`` for shapes.
    """

    traceFinished = QtCore.pyqtSignal(object)
    traceAborted = QtCore.pyqtSignal()
    clicked = QtCore.pyqtSignal(float, float, object)  # x, y, Qt.KeyboardModifier
    strokeStarted = QtCore.pyqtSignal(float, float)
    strokeMoved = QtCore.pyqtSignal(float, float)
    strokeFinished = QtCore.pyqtSignal()
    shapeFinished = QtCore.pyqtSignal(str, object)  # tool value, points
    cursorMoved = QtCore.pyqtSignal(float, float)

    CLOSE_PX = 6.0  # a trace closes when it comes back this close (screen px) to its start

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground((24, 24, 28))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.ci.layout.setContentsMargins(0, 0, 0, 0)
        self.vb = _DrawViewBox(self)
        self.addItem(self.vb)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.vb.addItem(self.image_item)
        self.overlay = LabelOverlay()
        self.vb.addItem(self.overlay.item)
        self.path_item = pg.PlotCurveItem(pen=pg.mkPen((255, 255, 0), width=2, cosmetic=True))
        self.path_item.setZValue(20)
        self.vb.addItem(self.path_item)
        # training regions: dashed outlines (NaN-separated polygons), never label pixels
        self.region_item = pg.PlotCurveItem(
            pen=pg.mkPen((255, 140, 0), width=2, style=Qt.PenStyle.DashLine, cosmetic=True),
            connect="finite")
        self.region_item.setZValue(15)
        self.vb.addItem(self.region_item)
        self.brush_item = QtWidgets.QGraphicsEllipseItem()
        self.brush_item.setPen(pg.mkPen((255, 255, 255), width=1, cosmetic=True))
        self.brush_item.setZValue(30)
        self.brush_item.setVisible(False)
        self.vb.addItem(self.brush_item, ignoreBounds=True)
        self.tool = Tool.SELECT
        self.brush_radius = 4.0
        self._trace: list[tuple[float, float]] | None = None
        self._shape: list[tuple[float, float]] | None = None
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)

    # ------------------------------------------------------------------ content
    def set_image(self, rgb: np.ndarray, *, keep_view: bool = False) -> None:
        """Show an (H, W, 3) uint8 composite (already contrast-adjusted)."""
        self.image_item.setImage(np.ascontiguousarray(rgb), autoLevels=False)
        if not keep_view:
            self.fit()

    def set_regions(self, polygons: list[np.ndarray]) -> None:
        """Show training regions as closed outlines; ``polygons`` are (N, 2) x, y arrays."""
        if not polygons:
            self.region_item.setData([], [])
            return
        parts = []
        for p in polygons:
            p = np.asarray(p, np.float64)
            parts += [p, p[:1], np.full((1, 2), np.nan)]
        xy = np.concatenate(parts)
        self.region_item.setData(xy[:, 0], xy[:, 1], connect="finite")

    def fit(self) -> None:
        self.vb.autoRange(padding=0.01)

    def zoom(self, factor: float) -> None:
        self.vb.scaleBy((1 / factor, 1 / factor))

    def set_tool(self, tool: Tool | str) -> None:
        self.abort_shape()
        self.tool = Tool(tool)
        self.brush_item.setVisible(False)

    def set_brush_radius(self, radius: float) -> None:
        self.brush_radius = max(float(radius), 0.5)

    # -------------------------------------------------------- coordinate helpers
    def view_to_widget(self, x: float, y: float) -> QtCore.QPoint:
        """Viewport pixel position of view point (x, y) (valid once the widget is shown)."""
        scene = self.vb.mapViewToScene(QtCore.QPointF(x, y))
        return self.mapFromScene(scene)

    def _view_pos(self, scene_pos: QtCore.QPointF) -> tuple[float, float]:
        p = self.vb.mapSceneToView(scene_pos)
        return float(p.x()), float(p.y())

    def _pixels_per_unit(self) -> float:
        a = self.view_to_widget(0.0, 0.0)
        b = self.view_to_widget(100.0, 0.0)
        return max(abs(b.x() - a.x()) / 100.0, 1e-6)

    # -------------------------------------------------------------- tracing
    @property
    def tracing(self) -> bool:
        return self._trace is not None

    def _click(self, ev) -> bool:
        x, y = self._view_pos(ev.scenePos())
        if ev.button() == Qt.MouseButton.RightButton:
            if self._trace is None:
                self._trace = [(x, y)]
                self._show_path(self._trace)
            else:
                self._trace.append((x, y))
                self.finish_trace()
            return True
        if ev.button() != Qt.MouseButton.LeftButton or self._trace is not None:
            return False
        if self.tool in _BRUSH_TOOLS:
            self.strokeStarted.emit(x, y)
            self.strokeFinished.emit()
            return True
        self.clicked.emit(x, y, ev.modifiers())
        return True

    def finish_trace(self) -> None:
        """Close the current contour and report it (Enter / second right-click)."""
        pts, self._trace = self._trace, None
        self._show_path(None)
        if pts is not None and len(pts) >= 3:
            self.traceFinished.emit(np.asarray(pts, np.float64))
        elif pts is not None:
            self.traceAborted.emit()

    def abort_trace(self) -> None:
        if self._trace is not None:
            self._trace = None
            self._show_path(None)
            self.traceAborted.emit()

    def abort_shape(self) -> None:
        self._shape = None
        if self._trace is None:
            self._show_path(None)

    def _on_mouse_moved(self, scene_pos: QtCore.QPointF) -> None:
        x, y = self._view_pos(scene_pos)
        self.cursorMoved.emit(x, y)
        if self.tool in _BRUSH_TOOLS:
            r = self.brush_radius
            self.brush_item.setRect(QtCore.QRectF(x - r, y - r, 2 * r, 2 * r))
            self.brush_item.setVisible(True)
        if self._trace is None:
            return
        self._trace.append((x, y))
        x0, y0 = self._trace[0]
        close = self.CLOSE_PX / self._pixels_per_unit()
        if len(self._trace) > 3 and math.hypot(x - x0, y - y0) < close:
            travelled = np.hypot(*np.diff(np.asarray(self._trace), axis=0).T).sum()
            if travelled > 4 * close:
                self.finish_trace()
                return
        self._show_path(self._trace)

    def _show_path(self, pts: list[tuple[float, float]] | None) -> None:
        if not pts:
            self.path_item.setData([], [])
            return
        a = np.asarray(pts, np.float64)
        self.path_item.setData(a[:, 0], a[:, 1])

    # ---------------------------------------------------------------- drags
    def _drag(self, ev) -> None:
        x, y = self._view_pos(ev.scenePos())
        if self.tool in _BRUSH_TOOLS:
            if ev.isStart():
                x0, y0 = self._view_pos(ev.buttonDownScenePos())
                self.strokeStarted.emit(x0, y0)
            self.strokeMoved.emit(x, y)
            if ev.isFinish():
                self.strokeFinished.emit()
            return
        if self.tool not in _SHAPE_TOOLS:
            return
        if ev.isStart():
            self._shape = [self._view_pos(ev.buttonDownScenePos())]
        if self._shape is None:
            return
        if self.tool in _RECT_TOOLS:
            (x0, y0) = self._shape[0]
            self._shape = [(x0, y0), (x, y0), (x, y), (x0, y)]
        else:
            self._shape.append((x, y))
        closed = self._shape + ([self._shape[0]] if self.tool != Tool.SPLIT else [])
        self._show_path(closed)
        if ev.isFinish():
            pts, self._shape = self._shape, None
            self._show_path(None)
            self.shapeFinished.emit(self.tool.value, np.asarray(pts, np.float64))

    # ----------------------------------------------------------------- keys
    def keyPressEvent(self, ev: QtGui.QKeyEvent) -> None:  # noqa: N802
        if self._trace is not None and ev.key() == Qt.Key.Key_Escape:
            self.abort_trace()
            return
        if self._trace is not None and ev.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.finish_trace()
            return
        if self._shape is not None and ev.key() == Qt.Key.Key_Escape:
            self.abort_shape()
            return
        super().keyPressEvent(ev)

    def leaveEvent(self, ev: QtCore.QEvent) -> None:  # noqa: N802
        self.brush_item.setVisible(False)
        super().leaveEvent(ev)
