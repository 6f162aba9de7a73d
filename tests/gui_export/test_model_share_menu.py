"""Model menu: Import model… and Export model… clicked in the Trainer's menu bar."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from PyQt6 import QtCore, QtWidgets
from PyQt6.QtTest import QTest

torch = pytest.importorskip("torch")
pytest.importorskip("bioimageio.core")

Qt = QtCore.Qt
SAMPLE = Path(__file__).resolve().parents[2] / "guv_app" / "data" / "sample.png"


def _click_menu_item(qtbot, window: QtWidgets.QMainWindow, menu_title: str, item: str) -> None:
    """Open ``menu_title`` in the menu bar and click ``item`` with the mouse."""
    bar = window.menuBar()
    menu = next(a.menu() for a in bar.actions() if a.text() == menu_title)
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton,
                     pos=bar.actionGeometry(menu.menuAction()).center())
    qtbot.waitUntil(menu.isVisible, timeout=5000)
    action = next(a for a in menu.actions() if a.text() == item)
    QTest.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())


def test_import_then_export_from_the_model_menu(qtbot, tmp_path, monkeypatch):
    from guv_app.controllers.model_catalog import ModelCatalog
    from guv_app.controllers.model_share import BIOIMAGEIO_FILTER
    from guv_app.controllers.trainer_controller import TrainerController
    from guv_app.controllers.training_attach import attach_training
    from guv_app.services.engine import registry
    from guv_app.services.engine.network import build_network

    checkpoint = tmp_path / "lab-nuclei.pt"
    torch.save(build_network("tiny", 0, seed=9).state_dict(), checkpoint)
    package = tmp_path / "shared.zip"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName",
                        lambda *a, **k: (str(checkpoint), ""))
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(package), BIOIMAGEIO_FILTER))
    shown = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a: shown.append(a[2]))

    ctl = TrainerController()
    qtbot.addWidget(ctl.window)
    ctl.show()
    assert ctl.files.open_path(SAMPLE)
    hook = attach_training(ctl, ModelCatalog())
    share = hook.share
    try:
        with qtbot.waitSignal(share.runner.finished, timeout=60_000):
            _click_menu_item(qtbot, ctl.window, "Model", "Import model…")
        assert shown == []
        assert hook.toolbar.combo.currentText() == "lab-nuclei"  # listed and selected
        assert registry.get_model_meta("lab-nuclei").extra["imported"]["format"] == "cellpose"

        with qtbot.waitSignal(share.runner.finished, timeout=300_000):
            _click_menu_item(qtbot, ctl.window, "Model", "Export model…")
        assert shown == []
        assert "model test passed" in ctl.window.statusBar().currentMessage()
        with zipfile.ZipFile(package) as zf:
            assert {"rdf.yaml", "weights.torchscript", "cover.png"} <= set(zf.namelist())
    finally:
        share.runner.wait()
        ctl.files.set_autosave(False)
