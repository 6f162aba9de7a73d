"""Input habits every form should have, installed once for the whole application.

* The mouse wheel over a spin box, combo box or slider that does not have the keyboard
  focus scrolls the form around it instead of silently changing the value (Qt's default
  changes it, which users trip over while scrolling a side panel or a settings dialog).
* Lists and non-editable combo boxes inside windows that ask for it (property
  ``noTypeAhead``) do not jump to an entry when a letter is typed: in the Trainer a letter
  is a tool key, and type-ahead silently changed the current class.
"""

from __future__ import annotations

from PyQt6 import QtCore, QtWidgets

_VALUE_WIDGETS = (QtWidgets.QAbstractSpinBox, QtWidgets.QComboBox, QtWidgets.QAbstractSlider)
NO_TYPE_AHEAD = "noTypeAhead"


def _wants_no_type_ahead(widget: QtWidgets.QWidget) -> bool:
    w: QtWidgets.QWidget | None = widget
    while w is not None:
        if w.property(NO_TYPE_AHEAD):
            return True
        w = w.parentWidget()
    return False


class InputGuard(QtCore.QObject):
    """Application event filter implementing the two habits above."""

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:  # noqa: N802
        kind = ev.type()
        if kind == QtCore.QEvent.Type.Wheel and isinstance(obj, _VALUE_WIDGETS):
            if not obj.hasFocus():
                parent = obj.parentWidget()
                if parent is not None:  # the form (or its scroll area) gets the wheel
                    QtCore.QCoreApplication.sendEvent(parent, ev)
                return True
        elif kind == QtCore.QEvent.Type.KeyPress and isinstance(
                obj, (QtWidgets.QAbstractItemView, QtWidgets.QComboBox)):
            if isinstance(obj, QtWidgets.QComboBox) and obj.isEditable():
                return False
            text = ev.text()
            mods = ev.modifiers() & ~QtCore.Qt.KeyboardModifier.KeypadModifier
            if (text and text.isprintable() and not text.isspace()
                    and mods in (QtCore.Qt.KeyboardModifier.NoModifier,
                                 QtCore.Qt.KeyboardModifier.ShiftModifier)
                    and _wants_no_type_ahead(obj)):
                return True  # no type-ahead search
        return False


_guard: InputGuard | None = None


def install_input_guards() -> None:
    """Install the guard on the running QApplication (idempotent)."""
    global _guard
    app = QtWidgets.QApplication.instance()
    if app is None or _guard is not None:
        return
    _guard = InputGuard(app)
    app.installEventFilter(_guard)
