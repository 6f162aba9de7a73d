"""Save screenshots of the Trainer on the bundled real sample (2 classes) for review.

    QT_QPA_PLATFORM=offscreen python scripts/screenshot_trainer.py [--out /tmp]

Writes trainer_classes.png (colour by class, one object selected, a contour being traced)
and trainer_outlines.png (instance colours, outlines only).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LANG", "C.UTF-8")
os.environ.setdefault("MULTICELLPOSE_HOME", tempfile.mkdtemp(prefix="mcp_shot_"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp")
    args = ap.parse_args()
    out = Path(args.out)
    from PyQt6 import QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    from guv_app.controllers.trainer_app import open_trainer
    from guv_app.gui_main import sample_paths

    ctl = open_trainer(sample_paths()[0])
    ctl.files.set_autosave(False)
    ctl.window.resize(1280, 860)
    for _ in range(5):
        app.processEvents()
    ctl.window.tool_panel.opacity.setValue(55)
    ctl.window.actions["color_by_class"].setChecked(True)
    ids = ctl.doc.object_ids()
    obj = int(ids[np.argmax([ctl.doc.area(int(i)) for i in ids])])  # the largest object
    ctl.doc.set_selection([obj])
    # show a contour in progress, as while tracing with the right button
    ctl.canvas._show_path([(40.0, 250.0), (60.0, 235.0), (85.0, 240.0), (95.0, 262.0)])
    ctl.on_cursor(200.0, 71.0)
    app.processEvents()
    shot1 = out / "trainer_classes.png"
    ctl.window.grab().save(str(shot1))
    ctl.canvas._show_path(None)
    ctl.doc.set_selection([])
    ctl.window.actions["color_by_class"].setChecked(False)
    ctl.window.tool_panel.mode.setCurrentText("outlines")
    ctl.window.tool_panel.opacity.setValue(100)
    app.processEvents()
    shot2 = out / "trainer_outlines.png"
    ctl.window.grab().save(str(shot2))
    print(shot1)
    print(shot2)
    ctl.window.close_guard = None
    ctl.files.autosaver.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
