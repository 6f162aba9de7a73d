"""Trainer GUI test set-up: every mouse move delivered (QSettings isolation and failing on
Qt warnings come from tests/conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from trainer_helpers import DSB, LIF, open_trainer


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
def trainer(qtbot, image_folder, wait_exposed):
    """A shown Trainer with the first image of ``image_folder`` open and autosave on."""
    ctl = open_trainer(qtbot, wait_exposed, image_folder / "fluorescence_02903040e19d.png",
                       region=((90, 280), (90, 270)))
    yield ctl
    ctl.window.close()
    ctl.files.autosaver.shutdown()




@pytest.fixture
def lif_file(tmp_path, data_dir) -> Path:
    """The 4-tile LIF (series of (T=2, Z=3, C=2, 64, 64) uint8) in a fresh folder."""
    folder = tmp_path / "lif"
    folder.mkdir()
    return Path(shutil.copy2(data_dir / "formats" / "lif" / LIF, folder / LIF))


@pytest.fixture(params=["nd2", "lif"])
def two_channel_sample(request, tmp_path, data_dir):
    """A two-channel sample copied to a fresh folder: the nd2 Z stack or the lif tile series."""
    name = "cluster.nd2" if request.param == "nd2" else LIF
    folder = tmp_path / request.param
    folder.mkdir()
    return shutil.copy2(data_dir / "formats" / request.param / name, folder / name)
