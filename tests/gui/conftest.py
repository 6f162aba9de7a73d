"""GUI test set-up: isolated QSettings, every mouse move delivered, Qt warnings fail tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

DSB = Path(__file__).resolve().parents[1] / "data" / "labelled" / "dsb2018"
_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Unexpected Qt warnings fail the GUI tests (only in this folder)."""
    for item in items:
        if _HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
            item.add_marker(pytest.mark.qt_log_ignore(
                "This plugin does not support", "QFont::", "propagateSizeHints"))


@pytest.fixture(autouse=True)
def isolated_qsettings(tmp_path):
    """Each test writes its QSettings (autosave toggle, last folder) under tmp_path."""
    from PyQt6.QtCore import QSettings

    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
            QSettings.setPath(fmt, scope, str(tmp_path / "qsettings"))
    yield


@pytest.fixture(autouse=True)
def every_mouse_move():
    """pyqtgraph drops moves < 10 ms apart; synthetic drags need all of them."""
    import pyqtgraph as pg

    old = pg.getConfigOption("mouseRateLimit")
    pg.setConfigOption("mouseRateLimit", -1)
    yield
    pg.setConfigOption("mouseRateLimit", old)


@pytest.fixture
def image_folder(tmp_path) -> Path:
    """Three real DSB2018 images (no labels yet) in a fresh folder."""
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("fluorescence_02903040e19d", "fluorescence_573e1480b500",
                 "histology_color_4cbd6c37f3a5"):
        shutil.copy2(DSB / "images" / f"{name}.png", folder / f"{name}.png")
    return folder


@pytest.fixture
def trainer(qtbot, image_folder):
    """A shown Trainer with the first image of ``image_folder`` open and autosave on."""
    from guv_app.controllers.trainer_controller import TrainerController

    ctl = TrainerController()
    qtbot.addWidget(ctl.window)
    ctl.window.resize(1000, 800)
    ctl.show()
    qtbot.waitExposed(ctl.window)
    assert ctl.files.open_path(image_folder / "fluorescence_02903040e19d.png")
    frame_region_on_screen(ctl, qtbot, (90, 280), (90, 270))
    yield ctl
    ctl.window.close()
    ctl.files.autosaver.shutdown()


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
