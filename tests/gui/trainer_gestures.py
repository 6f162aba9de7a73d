"""Real mouse/key events on the Trainer canvas (QTest on the viewport)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PyQt6 import QtCore
from PyQt6.QtTest import QTest

Qt = QtCore.Qt
NoMod = Qt.KeyboardModifier.NoModifier


def vp_point(canvas, x: float, y: float) -> QtCore.QPoint:
    return canvas.view_to_widget(x, y)


def densify(pts: Sequence[tuple[float, float]], step: float = 3.0, closed: bool = False):
    """Intermediate points every ``step`` view units, like a hand moving the mouse."""
    pts = list(pts) + ([pts[0]] if closed else [])
    out = [pts[0]]
    for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:], strict=True):
        n = max(int(np.hypot(x1 - x0, y1 - y0) / step), 1)
        for k in range(1, n + 1):
            out.append((x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n))
    return out


def click(canvas, x, y, button=Qt.MouseButton.LeftButton, mods=NoMod) -> None:
    QTest.mouseClick(canvas.viewport(), button, mods, vp_point(canvas, x, y))


def trace(canvas, pts, *, close_by: str = "right_click") -> None:
    """Right-click, move along the outline, then close (right-click, Enter or return)."""
    vp = canvas.viewport()
    dense = densify(pts, closed=close_by == "return")
    QTest.mouseClick(vp, Qt.MouseButton.RightButton, NoMod, vp_point(canvas, *dense[0]))
    for x, y in dense[1:]:
        QTest.mouseMove(vp, vp_point(canvas, x, y))
    if close_by == "right_click":
        QTest.mouseClick(vp, Qt.MouseButton.RightButton, NoMod, vp_point(canvas, *dense[-1]))
    elif close_by == "enter":
        QTest.keyClick(canvas, Qt.Key.Key_Return)
    elif close_by == "escape":
        QTest.keyClick(canvas, Qt.Key.Key_Escape)


def drag(canvas, pts, mods=NoMod, closed: bool = False) -> None:
    """Left-button drag through the points."""
    vp = canvas.viewport()
    dense = densify(pts, closed=closed)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, mods, vp_point(canvas, *dense[0]))
    for x, y in dense[1:]:
        QTest.mouseMove(vp, vp_point(canvas, x, y))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, mods, vp_point(canvas, *dense[-1]))


def key(widget, k, mods=NoMod) -> None:
    QTest.keyClick(widget, k, mods)


def screen_rgb(widget, canvas, x: float, y: float) -> tuple[int, int, int]:
    """Colour on screen at view point (x, y) of a fresh grab (device pixels!)."""
    img = widget.grab().toImage()
    p = canvas.view_to_widget(x, y)
    p = canvas.viewport().mapTo(widget, p)
    dpr = img.devicePixelRatio()
    c = img.pixelColor(int(p.x() * dpr), int(p.y() * dpr))
    return c.red(), c.green(), c.blue()
