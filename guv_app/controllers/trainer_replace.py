"""Ask before labels a person drew are replaced wholesale (Accept a prediction, import).

One question, naming how many objects will be lost, and a copy of the label file on disk
(``X_seg.npy.bak``) before the replacement is saved over it. The replacement itself is one
undo step of the label document, so Ctrl+Z brings the objects back.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PyQt6 import QtWidgets

log = logging.getLogger(__name__)

REPLACE_TEXT = "Replace"
KEEP_TEXT = "Keep my labels"


def ask_replace(parent: QtWidgets.QWidget, title: str, text: str) -> bool:
    """Blocking question with explicit buttons; True only for Replace."""
    box = QtWidgets.QMessageBox(parent)
    box.setIcon(QtWidgets.QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(text)
    replace = box.addButton(REPLACE_TEXT, QtWidgets.QMessageBox.ButtonRole.DestructiveRole)
    keep = box.addButton(KEEP_TEXT, QtWidgets.QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    box.exec()
    return box.clickedButton() is replace


def confirm_replace(trainer: Any, what: str, n_new: int, ask=None) -> bool:
    """Whether ``what`` (e.g. "the prediction") may replace the open image's labels.

    ``trainer`` is a TrainerController. No question when there are no objects; otherwise
    the user is told how many objects will be lost and, when they agree, the label file
    on disk is copied to a backup first. ``ask(title, text) -> bool`` replaces the dialog.
    """
    from cellpose_io import seg_path_for
    from cellpose_io.label_sources import backup_copy

    n_old = trainer.doc.n_objects
    if n_old == 0:
        return True
    files = trainer.files
    name = files.path.name if files.path is not None else "this image"
    text = (f"{what.capitalize()} ({n_new} object(s)) replaces all {n_old} labelled object(s) "
            f"of {name}: {n_old} object(s) will be lost.\n\n"
            "The label file is kept as a .bak copy, and Ctrl+Z undoes the replacement.")
    ok = (ask or (lambda t, x: ask_replace(trainer.window, t, x)))("Replace labels?", text)
    if not ok:
        return False
    if files.path is not None:
        seg = seg_path_for(files.path, series=files.series)
        if Path(seg).exists():
            files.autosaver.wait()
            backup = backup_copy(seg)
            trainer.window.statusBar().showMessage(f"Previous labels kept as {backup.name}",
                                                   10000)
    return True
