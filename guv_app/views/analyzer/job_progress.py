"""The progress row every Analyzer job shows: a done/total bar and a wrapped message line."""

from __future__ import annotations

from PyQt6 import QtWidgets


class JobProgress:
    """A ``%v/%m`` progress bar and a message label added to ``layout``."""

    def __init__(self, layout: QtWidgets.QBoxLayout) -> None:
        self.bar = QtWidgets.QProgressBar()
        self.bar.setFormat("%v/%m")
        self.bar.setValue(0)
        self.label = QtWidgets.QLabel("")
        self.label.setWordWrap(True)
        layout.addWidget(self.bar)
        layout.addWidget(self.label)

    def show(self, done: int, total: int, message: str) -> None:
        """``done`` of ``total`` items (a total of 0 shows an empty bar), and ``message``."""
        self.bar.setMaximum(max(total, 1))
        self.bar.setValue(done)
        self.label.setText(message)
