"""Opening the Trainer on an image imports torch and cellpose in the background a moment
after the window is shown (so the first Run does not pay for it), never before it is shown;
no model is built."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import sys, time
    from PyQt6 import QtCore, QtWidgets
    app = QtWidgets.QApplication(sys.argv[:1])
    from guv_app.gui_main import WINDOWS, resolve, sample_paths
    ctl = resolve(WINDOWS["trainer"][1])(sample_paths()[0])
    print("shown torch", "torch" in sys.modules, flush=True)
    from guv_app.controllers.engine_warmup import warm_up_thread
    deadline = time.monotonic() + 120
    while warm_up_thread() is None and time.monotonic() < deadline:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
    warm_up_thread().join(120)
    from guv_app.services.engine.loading import load_count
    print("later torch", "torch" in sys.modules, "cellpose.dynamics" in sys.modules,
          "loads", load_count(), flush=True)
    ctl.files.autosaver.shutdown()
    ctl.window.close_guard = None
    ctl.window.close()
    import os
    os._exit(0)  # the exit-time teardown of Qt + torch is not what this test is about
""")


def test_engine_imported_in_background_after_the_window(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen",
           "MULTICELLPOSE_HOME": str(tmp_path / "mcp"), "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert "shown torch False" in lines
    assert "later torch True True loads 0" in lines
