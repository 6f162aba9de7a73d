"""The "Labels" chooser of the Trainer's image panel: the shared set or one channel's set."""

from __future__ import annotations

from PyQt6 import QtCore, QtWidgets

SHARED_ITEM = -1


class LabelSetBox(QtWidgets.QWidget):
    """A combo of label sets; ``chosen`` emits the channel index, -1 for the shared set."""

    chosen = QtCore.pyqtSignal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QtWidgets.QComboBox()
        self.combo.setObjectName("label_set_combo")
        self.combo.setToolTip("Which objects you label: one set shared by all channels, or "
                              "each channel's own set (Ctrl+Shift+L, Alt+0 … Alt+9)")
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QtWidgets.QLabel("Labels"))
        lay.addWidget(self.combo, 1)
        self.combo.activated.connect(lambda i: self.chosen.emit(int(self.combo.itemData(i))))

    def set_sets(self, items: list[tuple[int, str]], current: int) -> None:
        """``items``: (channel or -1, text) in order; ``current`` is selected (no signal)."""
        blocker = QtCore.QSignalBlocker(self.combo)
        self.combo.clear()
        for value, text in items:
            self.combo.addItem(text, value)
        self.combo.setCurrentIndex(max(self.combo.findData(current), 0))
        del blocker
