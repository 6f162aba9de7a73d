"""Analyzer GUI tests: isolated QSettings, Qt warnings fail, a small folder of real images."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DSB = Path(__file__).resolve().parents[1] / "data" / "labelled" / "dsb2018"
IMAGES = ("fluorescence_02903040e19d", "fluorescence_573e1480b500",
          "histology_color_4cbd6c37f3a5")
_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
            item.add_marker(pytest.mark.qt_log_ignore(
                "This plugin does not support", "QFont::", "propagateSizeHints"))


@pytest.fixture(autouse=True)
def _analyzer_qsettings(tmp_path):
    from PyQt6.QtCore import QSettings

    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
            QSettings.setPath(fmt, scope, str(tmp_path / "qsettings"))


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def analyzer_folder(tmp_path) -> Path:
    folder = tmp_path / "experiment"
    folder.mkdir()
    for name in IMAGES:
        shutil.copy2(DSB / "images" / f"{name}.png", folder / f"{name}.png")
    return folder


@pytest.fixture
def analyzer(qtbot):
    from guv_app.controllers.analyzer_controller import AnalyzerController

    ctl = AnalyzerController()
    qtbot.addWidget(ctl.window)
    ctl.window.resize(1400, 850)
    ctl.show()
    qtbot.waitExposed(ctl.window)
    yield ctl
    ctl.can_close()
    ctl.window.close()


def tiny_settings(ctl) -> None:
    """The seeded ``tiny`` model finds objects on these images with these settings."""
    inf = ctl.window.inference
    inf.model.setCurrentIndex(inf.model.findText("tiny"))
    inf.cellprob_threshold.setValue(-2.0)
    inf.flow_threshold.setValue(0.0)
    inf.min_size.setValue(30)
