"""Helpers for the Trainer GUI tests (a unique module name: test folders share sys.path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DSB = Path(__file__).resolve().parents[1] / "data" / "labelled" / "dsb2018"
LIF = "PR2729_frameOrderCombinedScanTypes.lif"  # tests/data/formats/lif: 4 tiles as series


def frame_region_on_screen(ctl, qtbot, xr, yr) -> None:
    """Zoom so the image region the tests draw in lies on the (offscreen) screen.

    QTest mouse moves are clamped to the screen (800x800 offscreen, 400x400 logical at
    QT_SCALE_FACTOR=2), so the drawn region must map inside it; zooming in also keeps the
    rounding of mouse positions to screen pixels well below one image pixel.
    """
    from PyQt6.QtCore import QPoint

    ctl.window.move(0, 0)
    qtbot.wait(10)
    screen = ctl.window.screen().availableGeometry()
    vp = ctl.canvas.viewport()
    origin = vp.mapToGlobal(QPoint(0, 0))
    room_w = min(vp.width(), screen.right() - origin.x()) - 10
    room_h = min(vp.height(), screen.bottom() - origin.y()) - 10
    per_px = max((xr[1] - xr[0]) / room_w, (yr[1] - yr[0]) / room_h)
    ctl.canvas.vb.setRange(xRange=(xr[0], xr[0] + per_px * vp.width()),
                           yRange=(yr[0], yr[0] + per_px * vp.height()), padding=0)
    qtbot.wait(20)


def real_mask(name: str) -> np.ndarray:
    import tifffile

    return tifffile.imread(DSB / "masks" / f"{name}.tif").astype(np.uint32)


def open_trainer(qtbot, wait_exposed, path=None, region=None, size=(1000, 800)):
    """A shown Trainer (optionally with ``path`` open and ``region`` = (x range, y range)
    framed on screen): the set-up every Trainer test shares."""
    from guv_app.controllers.trainer_controller import TrainerController

    ctl = TrainerController()
    qtbot.addWidget(ctl.window)
    if size is not None:
        ctl.window.resize(*size)
    ctl.show()
    wait_exposed(ctl.window)
    if path is not None:
        assert ctl.files.open_path(path)
    if region is not None:
        frame_region_on_screen(ctl, qtbot, *region)
    return ctl


def press(ctl, qtbot, k, mods=None) -> None:
    """A real key press on the canvas of the Trainer ``ctl``, its window made active first
    (a closed question box leaves no window active, and shortcuts need one)."""
    from PyQt6 import QtWidgets
    from trainer_gestures import key

    if QtWidgets.QApplication.activeWindow() is not ctl.window:
        ctl.window.activateWindow()
        qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is ctl.window)
    ctl.canvas.setFocus()
    if mods is None:
        key(ctl.canvas, k)
    else:
        key(ctl.canvas, k, mods)


def draw_object(ctl, qtbot, pts) -> int:
    """Trace the polygon ``pts`` (image x, y) with the mouse; the id of the object then at
    its centre (0: nothing was made there)."""
    from trainer_gestures import trace

    with qtbot.waitSignal(ctl.canvas.traceFinished):
        trace(ctl.canvas, pts)
    x, y = np.mean(np.asarray(pts), axis=0)
    return int(ctl.doc.masks[int(y), int(x)])
