"""Analyzer GUI tests: isolated QSettings, Qt warnings fail, a small folder of real images."""

from __future__ import annotations

from pathlib import Path

import pytest

IMAGES = ("fluorescence_02903040e19d", "fluorescence_573e1480b500",
          "histology_color_4cbd6c37f3a5")


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def analyzer_folder(dsb_folder) -> Path:
    return dsb_folder(IMAGES, "experiment")


@pytest.fixture
def analyzer(qtbot, wait_exposed):
    from guv_app.controllers.analyzer_controller import AnalyzerController

    ctl = AnalyzerController()
    qtbot.addWidget(ctl.window)
    ctl.window.resize(1400, 850)
    ctl.show()
    wait_exposed(ctl.window)
    yield ctl
    ctl.can_close()
    ctl.window.close()
