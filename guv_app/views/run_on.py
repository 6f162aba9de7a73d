""""Run on": this computer or a Dask scheduler — one small widget for the Ctrl+T dialog and
the Analyzer, so both offer the same choice with the same words."""

from __future__ import annotations

from PyQt6 import QtCore, QtWidgets

LOCAL = "local"
SCHEDULER = "scheduler"
PLACEHOLDER = "tcp://127.0.0.1:8786"
TOOLTIP = (
    "Where the work runs. 'Dask scheduler': a running `dask scheduler` with workers "
    "(e.g. on a GPU server). Use tls://HOST:PORT with the certificates of your Dask "
    "configuration, or an SSH tunnel (ssh -L 8786:localhost:8786 server) and "
    "tcp://127.0.0.1:8786. The workers must see the same folders (shared file system)."
)


class RunOnWidget(QtWidgets.QWidget):
    """A combo (this computer / Dask scheduler) and the scheduler's address."""

    changed = QtCore.pyqtSignal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.choice = QtWidgets.QComboBox()
        self.choice.setObjectName("run_on")
        self.choice.addItem("This computer", LOCAL)
        self.choice.addItem("Dask scheduler", SCHEDULER)
        self.choice.setToolTip(TOOLTIP)
        self.address = QtWidgets.QLineEdit()
        self.address.setObjectName("scheduler_address")
        self.address.setPlaceholderText(PLACEHOLDER)
        self.address.setToolTip(TOOLTIP)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.choice)
        lay.addWidget(self.address, 1)
        self.choice.currentIndexChanged.connect(self._update)
        self.choice.currentIndexChanged.connect(self.changed)
        self.address.textChanged.connect(self.changed)
        self._update()

    def _update(self) -> None:
        self.address.setEnabled(self.choice.currentData() == SCHEDULER)

    def values(self) -> dict:
        return {"run_on": self.choice.currentData(),
                "scheduler_address": self.address.text().strip()}

    def set_values(self, values: dict) -> None:
        i = self.choice.findData(values.get("run_on"))
        if i >= 0:
            self.choice.setCurrentIndex(i)
        if values.get("scheduler_address") is not None:
            self.address.setText(str(values["scheduler_address"]))
