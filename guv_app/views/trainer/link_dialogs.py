"""Auto-match by overlap: the IoU threshold and the channel pair, asked in one dialog."""

from __future__ import annotations

from collections.abc import Sequence

from PyQt6 import QtWidgets


class AutoMatchDialog(QtWidgets.QDialog):
    """IoU threshold (0.01-1) and the reference channel to match the active channel with."""

    def __init__(self, active: str, references: Sequence[tuple[str, int]], threshold: float,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Auto-match objects by overlap")
        form = QtWidgets.QFormLayout(self)
        form.addRow(QtWidgets.QLabel(
            f"Link each object of the {active} to the object of the other channel it "
            "overlaps best (optimal one-to-one pairs by intersection over union). Links "
            "between these two channels are replaced; one Ctrl+Z undoes it."))
        self.reference = QtWidgets.QComboBox()
        for text, channel in references:
            self.reference.addItem(text, channel)
        form.addRow("with", self.reference)
        self.threshold = QtWidgets.QDoubleSpinBox()
        self.threshold.setObjectName("iou_threshold")
        self.threshold.setRange(0.01, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setValue(threshold)
        self.threshold.setToolTip("Pairs overlapping less than this IoU stay unlinked")
        form.addRow("IoU threshold", self.threshold)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok).setText("Match")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.buttons = buttons
