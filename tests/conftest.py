"""Shared test set-up: offscreen Qt, isolated app home and settings, data paths."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

# Must be set before any QApplication exists (Qt aborts without a display otherwise).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LANG", "C.UTF-8")
os.environ.setdefault("OMP_NUM_THREADS", "2")

DATA = Path(__file__).parent / "data"
_TESTS = Path(__file__).resolve().parent


def _is_gui_test(path: Path) -> bool:
    """GUI tests live in folders named ``gui*`` (views driven through pytest-qt)."""
    rel = Path(path).resolve().relative_to(_TESTS)
    return bool(rel.parts) and rel.parts[0].startswith("gui")


def pytest_collection_modifyitems(config, items):
    """Unexpected Qt warnings fail the GUI tests."""
    for item in items:
        if _is_gui_test(item.path):
            item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
            item.add_marker(pytest.mark.qt_log_ignore(
                "This plugin does not support", "QFont::", "propagateSizeHints"))


@pytest.fixture(autouse=True)
def _isolated_qsettings(request, tmp_path):
    """GUI tests write their QSettings (autosave toggle, last folder, dialog values) under
    tmp_path, never into the user's real settings."""
    if _is_gui_test(request.node.path):
        from PyQt6.QtCore import QSettings

        for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
            for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
                QSettings.setPath(fmt, scope, str(tmp_path / "qsettings"))
    yield


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own MULTICELLPOSE_HOME: registry, settings and caches."""
    home = tmp_path_factory.mktemp("mcp_home")
    monkeypatch.setenv("MULTICELLPOSE_HOME", str(home))
    monkeypatch.setenv("CELLPOSE_LOCAL_MODELS_PATH", str(home / "cellpose_models"))
    yield home


@pytest.fixture
def data_dir() -> Path:
    return DATA


DSB = DATA / "labelled" / "dsb2018"


@pytest.fixture
def dsb_folder(tmp_path) -> Callable[[Iterable[str], str], Path]:
    """``dsb_folder(stems, name)``: a new folder ``tmp_path/name`` holding copies of the real
    DSB2018 test images ``<stem>.png`` (tests/data/labelled/dsb2018/images)."""
    def make(stems: Iterable[str], name: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        for stem in stems:
            shutil.copy2(DSB / "images" / f"{stem}.png", folder / f"{stem}.png")
        return folder

    return make


_WATCHDOG: list = []


@pytest.fixture(autouse=True)
def _modal_watchdog(request):
    """A modal box left open (e.g. "save changes?" when a failed test's window is closed at
    teardown) would hang the whole run with nobody to answer it. Once GUI tests run, a timer
    rejects any modal widget that stays open for more than 5 s."""
    if _is_gui_test(request.node.path) and not _WATCHDOG:
        import time

        from PyQt6 import QtCore, QtWidgets

        request.getfixturevalue("qapp")
        seen: dict[int, float] = {}

        def check() -> None:
            box = QtWidgets.QApplication.activeModalWidget()
            if box is None:
                seen.clear()
                return
            first = seen.setdefault(id(box), time.monotonic())
            if time.monotonic() - first > 5.0 and isinstance(box, QtWidgets.QDialog):
                box.reject()

        timer = QtCore.QTimer()
        timer.setInterval(500)
        timer.timeout.connect(check)
        timer.start()
        _WATCHDOG.append(timer)
    yield


@pytest.fixture
def wait_exposed(qtbot):
    """Wait until an already shown window is exposed (mapping view -> screen coordinates is
    only right after that). ``qtbot.waitExposed`` only works as a context manager around
    ``show()``; called plainly it returns at once."""

    def wait(widget, timeout: int = 5000) -> None:
        def exposed() -> bool:
            handle = widget.windowHandle()
            return handle is not None and handle.isExposed()

        qtbot.waitUntil(exposed, timeout=timeout)

    return wait
