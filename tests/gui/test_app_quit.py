"""Quitting the app ends the process with exit status 0, never a crash.

Each case runs the real app (``guv_app.gui_main.main``, as ``multicellpose-gui`` does) in a
subprocess offscreen and quits it the way a user does: every open window is closed
(``close()`` sends the same close event as the title bar's button), the last one closing
ends the event loop. Before the shutdown order of :mod:`guv_app.controllers.app_shutdown`
about one quit in two ended in a segmentation fault (exit -11) while Qt and PyQt destroyed
the windows at interpreter exit; the crash depends on memory layout, so each case quits
several fresh processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Runs the real main(); a timer (started once the event loop runs) opens a window with a
# real click where asked, then closes every visible window after CLOSE_MS.
DRIVER = r"""
import sys
from PyQt6 import QtCore, QtWidgets
from PyQt6.QtTest import QTest
from guv_app.gui_main import main

click, close_ms = sys.argv[1], int(sys.argv[2])
app = QtWidgets.QApplication(sys.argv[:1])

def visible():
    return [w for w in QtWidgets.QApplication.topLevelWidgets() if w.isVisible()]

def close_all():
    windows = visible()
    print("closing", sorted(type(w).__name__ for w in windows), flush=True)
    for window in windows:
        window.close()

def start():
    if click != "-":
        button = next(w.buttons[click] for w in visible() if hasattr(w, "buttons"))
        QTest.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)
    QtCore.QTimer.singleShot(close_ms, close_all)

QtCore.QTimer.singleShot(0, start)
code = main(sys.argv[3:])
print("event loop ended", code, flush=True)
sys.exit(code)
"""


def _quit_app(tmp_path: Path, click: str, close_ms: int, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen",
           "HOME": str(tmp_path), "MULTICELLPOSE_HOME": str(tmp_path / "mcp"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "PYTHONFAULTHANDLER": "1"}
    return subprocess.run([sys.executable, "-c", DRIVER, click, str(close_ms), *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("close_ms", [200, 200, 200, 2500])
def test_closing_the_trainer_on_the_sample_exits_cleanly(tmp_path, close_ms):
    """The README's run command (Trainer on the bundled sample), closed right after the
    image is shown, and once while the engine is imported in the background."""
    out = _quit_app(tmp_path, "-", close_ms, "--sample")
    assert "closing ['TrainerWindow']" in out.stdout, out.stdout + out.stderr[-2000:]
    assert out.returncode == 0, f"exit {out.returncode}\n{out.stderr[-3000:]}"
    assert "event loop ended 0" in out.stdout


@pytest.mark.parametrize("repeat", range(3))
def test_closing_home_and_analyzer_windows_exits_cleanly(tmp_path, repeat):
    out = _quit_app(tmp_path, "analyzer", 300)
    assert "AnalyzerWindow" in out.stdout, out.stdout + out.stderr[-2000:]
    assert out.returncode == 0, f"exit {out.returncode}\n{out.stderr[-3000:]}"
    assert "event loop ended 0" in out.stdout
