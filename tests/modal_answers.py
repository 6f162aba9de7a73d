"""Answer the next modal question box with a real mouse click (shared by the GUI tests)."""

from __future__ import annotations


def answer_modal(qtbot, button_text: str) -> list[str]:
    """Click the button whose text starts with ``button_text`` on the next modal question
    (a real mouse click); the question's text is appended to the returned list."""
    from PyQt6 import QtCore, QtWidgets

    seen: list[str] = []

    def click_it():
        box = QtWidgets.QApplication.activeModalWidget()
        if box is None:
            QtCore.QTimer.singleShot(20, click_it)
            return
        seen.append(box.text())
        button = next(b for b in box.buttons() if b.text().replace("&", "").startswith(
            button_text))
        qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)

    QtCore.QTimer.singleShot(0, click_it)
    return seen
