"""Arrow keys move the selected objects of the Trainer (1 px; Shift: 10 px).

Keys act on the selection when there is one, as in napari: with objects selected the
arrows move them, and Left/Right go back to their other meaning (previous / next image)
once nothing is selected. This works by accepting Qt's ShortcutOverride for the arrows on
the canvas while objects are selected, so the File menu's Left/Right shortcuts keep their
keys (and their rows in Help ▸ Keyboard shortcuts).

Each key press is one undo step; a held key (auto-repeat) is coalesced into the step of
its first press, so one Ctrl+Z puts the objects back where the key went down. A move that
would overlap another object or leave the image is refused and the status bar says why
(:func:`guv_app.services.annotation.move.move_objects`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from PyQt6 import QtCore, QtGui

from guv_app.services.annotation.move import MoveOutcome, move_objects

log = logging.getLogger(__name__)

Qt = QtCore.Qt
BIG_STEP = 10  # px with Shift, the common habit (ImageJ, napari's shapes, QuPath)
_DIRECTIONS = {  # key code -> (rows, columns)
    Qt.Key.Key_Left.value: (0, -1),
    Qt.Key.Key_Right.value: (0, 1),
    Qt.Key.Key_Up.value: (-1, 0),
    Qt.Key.Key_Down.value: (1, 0),
}
_ALLOWED_MODS = Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier
HELP_ROW = ("Arrow keys / Shift+arrow (objects selected)",
            f"Move the selected objects by 1 / {BIG_STEP} px (Left/Right change image when "
            "nothing is selected)")


@dataclass
class _Hold:
    """The move of a key being held: its total offset and the document version after it."""

    key: int
    dy: int
    dx: int
    version: int


class SelectionNudge(QtCore.QObject):
    """Moves ``trainer.doc.selected`` with the arrow keys pressed on ``trainer.canvas``."""

    def __init__(self, trainer: Any) -> None:
        super().__init__(trainer)
        self.trainer = trainer
        self._hold: _Hold | None = None
        self.last: MoveOutcome | None = None
        canvas = trainer.canvas
        for widget in (canvas, canvas.viewport()):
            widget.installEventFilter(self)
        trainer.doc.events.connect(self._on_doc_event)

    def _on_doc_event(self, ev) -> None:
        if ev.kind == "reset":  # another image or plane: a held key starts afresh
            self._hold = None

    def _direction(self, ev: QtGui.QKeyEvent) -> tuple[int, int] | None:
        d = _DIRECTIONS.get(int(ev.key()))
        if d is None or ev.modifiers() & ~_ALLOWED_MODS:
            return None
        if not self.trainer.doc.selected:
            return None
        step = BIG_STEP if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1
        return d[0] * step, d[1] * step

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:  # noqa: N802
        kind = ev.type()
        if kind == QtCore.QEvent.Type.ShortcutOverride:
            if self._direction(ev) is not None:  # type: ignore[arg-type]
                ev.accept()  # the key comes to the canvas, not to Left/Right = next image
                return True
            return False
        if kind == QtCore.QEvent.Type.KeyPress:
            d = self._direction(ev)  # type: ignore[arg-type]
            if d is None:
                return False
            self.nudge(*d, key=ev.key(), repeat=ev.isAutoRepeat())  # type: ignore[attr-defined]
            return True
        return False

    def nudge(self, dy: int, dx: int, *, key: int = 0, repeat: bool = False) -> MoveOutcome:
        """Move the selection by (``dy``, ``dx``) px; a ``repeat`` of the same held ``key``
        joins the undo step of the previous move."""
        doc = self.trainer.doc
        ids = sorted(doc.selected)
        hold = self._hold
        joined = (repeat and hold is not None and hold.key == key
                  and hold.version == doc.version and doc.can_undo)
        if joined:
            # replace the hold's step by one move from where the key went down
            doc.undo()
            out = move_objects(doc, ids, hold.dy + dy, hold.dx + dx)
            if out.moved:
                hold.dy, hold.dx = hold.dy + dy, hold.dx + dx
            else:
                doc.redo()
            doc.set_selection(ids)
        else:
            out = move_objects(doc, ids, dy, dx)
            hold = _Hold(key, dy, dx, 0) if out.moved else None
        if hold is not None:
            hold.version = doc.version
        self._hold = hold
        self.last = out
        bar = self.trainer.window.statusBar()
        if out.moved:
            total = (hold.dy, hold.dx) if hold is not None else (dy, dx)
            bar.showMessage(f"Moved {len(ids)} object(s) by x={total[1]:+d}, y={total[0]:+d} "
                            "px (Ctrl+Z undoes)", 3000)
        else:
            bar.showMessage(out.reason, 5000)
        return out
