"""A wait cursor around GUI-thread work that may take more than a blink (bulk edits)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from PyQt6 import QtCore, QtGui, QtWidgets


@contextlib.contextmanager
def busy_cursor() -> Iterator[None]:
    """Show the wait cursor while the block runs (nested uses are fine)."""
    QtWidgets.QApplication.setOverrideCursor(QtGui.QCursor(QtCore.Qt.CursorShape.WaitCursor))
    try:
        yield
    finally:
        QtWidgets.QApplication.restoreOverrideCursor()
