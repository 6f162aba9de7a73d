"""``multicellpose-gui``: the home window (Trainer / Analyzer) or a file opened directly.

Windows are registered by name as ``"module:function"`` strings, imported only when the
user picks one, so start-up stays fast (no torch, no pyqtgraph for the home window). A
window factory takes no argument, shows its window and returns an object that keeps it
alive; a factory for a file takes the path. Another part of the app adds its window with
``register_window("analyzer", "guv_app.controllers.analyzer_controller:open_analyzer")``
or simply by providing that module (the default entry below).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

WINDOWS: dict[str, tuple[str, str]] = {
    # name: (button text, "module:callable")
    "trainer": ("Trainer — label cells and train models",
                "guv_app.controllers.trainer_app:open_trainer"),
    "analyzer": ("Analyzer — segment and measure experiments",
                 "guv_app.controllers.analyzer_controller:open_analyzer"),
}
_T0 = time.perf_counter()


def register_window(name: str, target: str, text: str | None = None) -> None:
    """Add or replace a home-window entry (``target`` = ``"module:callable"``)."""
    WINDOWS[name] = (text or WINDOWS.get(name, (name.title(), ""))[0], target)


def resolve(target: str) -> Callable[..., Any]:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def sample_paths() -> tuple[Path, Path]:
    """Bundled sample image and labels copied to a writable folder (so saving works)."""
    from guv_app.paths import cache_dir

    src = Path(__file__).parent / "data"
    dst = cache_dir() / "sample"
    dst.mkdir(parents=True, exist_ok=True)
    image, seg = dst / "sample.png", dst / "sample_seg.npy"
    if not image.exists():
        shutil.copy2(src / image.name, image)
    if not seg.exists():  # re-saved so its ``filename`` names the copy (Cellpose GUI uses it)
        import dataclasses

        import cellpose_io

        data = cellpose_io.load_seg(src / seg.name)
        cellpose_io.write_seg(dataclasses.replace(data, filename=str(image)), seg)
    return image, seg


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="multicellpose-gui", description=__doc__.splitlines()[0])
    p.add_argument("path", nargs="?", help="image or folder to open in the Trainer")
    p.add_argument("--sample", action="store_true", help="open the bundled sample image")
    p.add_argument("--quit-after-show", action="store_true", help=argparse.SUPPRESS)
    return p


def _home_window(keep: list[Any]):
    from PyQt6 import QtWidgets

    win = QtWidgets.QWidget()
    win.setWindowTitle("MultiCellPose")
    lay = QtWidgets.QVBoxLayout(win)
    title = QtWidgets.QLabel("<h2>MultiCellPose</h2>")
    lay.addWidget(title)
    win.buttons = {}
    for name, (text, target) in WINDOWS.items():
        b = QtWidgets.QPushButton(text)
        b.setObjectName(f"open_{name}")
        b.setMinimumHeight(48)

        def _open(_=False, target=target, name=name) -> None:
            try:
                factory = resolve(target)
            except (ImportError, AttributeError) as exc:
                log.info("window %s not available: %s", name, exc)
                box = QtWidgets.QMessageBox(
                    QtWidgets.QMessageBox.Icon.Information, "MultiCellPose",
                    f"The {name} window is not available in this installation.",
                    parent=win)
                win.message_box = box
                box.open()  # never exec(): the home window stays responsive
                return
            keep.append(factory())

        b.clicked.connect(_open)
        win.buttons[name] = b
        lay.addWidget(b)
    win.resize(420, 80 + 60 * len(WINDOWS))
    return win


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("LANG", "C.UTF-8")
    from PyQt6 import QtCore, QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("MultiCellPose")
    app.setOrganizationName("MultiCellPose")
    keep: list[Any] = []
    opening = bool(args.sample or args.path)
    if opening:
        path = sample_paths()[0] if args.sample else Path(args.path)
        ctl = resolve(WINDOWS["trainer"][1])(path, defer=True)
        keep.append(ctl)
    else:
        home = _home_window(keep)
        home.show()
        keep.append(home)
    if args.quit_after_show:  # used by benchmarks/bench_startup.py
        def _shown() -> None:
            print(f"shown {time.perf_counter() - _T0:.4f} torch={'torch' in sys.modules}",
                  flush=True)
            if opening:  # the deferred open runs next; report when the image is on screen
                QtCore.QTimer.singleShot(0, _loaded)
            else:
                app.quit()

        def _loaded() -> None:
            print(f"loaded {time.perf_counter() - _T0:.4f} torch={'torch' in sys.modules}",
                  flush=True)
            app.quit()

        QtCore.QTimer.singleShot(0, _shown)
    from guv_app.controllers.app_shutdown import shut_down_gui

    try:
        return app.exec()
    finally:  # closed windows are left to the process exit: destroying them could crash
        shut_down_gui(keep)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
