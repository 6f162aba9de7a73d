"""Model choice, inference parameters, run buttons and progress of batch prediction."""

from __future__ import annotations

from typing import Any

from PyQt6 import QtCore, QtGui, QtWidgets

from guv_app.views.analyzer.job_progress import JobProgress
from guv_app.views.run_on import RunOnWidget


class InferencePanel(QtWidgets.QGroupBox):
    """Settings as plain values (``settings()``); the controller turns them into params."""

    runCurrent = QtCore.pyqtSignal()
    runFolder = QtCore.pyqtSignal()
    cancelRequested = QtCore.pyqtSignal()
    refreshModels = QtCore.pyqtSignal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Predict", parent)
        lay = QtWidgets.QVBoxLayout(self)
        row = QtWidgets.QHBoxLayout()
        self.model = QtWidgets.QComboBox()
        self.model.setObjectName("model_combo")
        self.model.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
        refresh = QtWidgets.QToolButton()
        refresh.setText("↻")
        refresh.setToolTip("Reload the list of models")
        refresh.clicked.connect(self.refreshModels)
        row.addWidget(QtWidgets.QLabel("Model"))
        row.addWidget(self.model, 1)
        row.addWidget(refresh)
        lay.addLayout(row)

        form = QtWidgets.QFormLayout()
        self.diameter = self._spin(0, 10000, 0, 1, "auto",
                                   "Typical object diameter in pixels (auto: the model's)")
        self.flow_threshold = self._spin(0, 10, 0.4, 0.05, None,
                                         "Flow error threshold (0 turns the check off)")
        self.cellprob_threshold = self._spin(-10, 10, 0.0, 0.5, None,
                                             "Cell probability threshold (lower: more pixels)")
        self.niter = QtWidgets.QSpinBox()
        self.niter.setRange(0, 10000)
        self.niter.setSpecialValueText("auto")
        self.niter.setToolTip("Flow-following iterations (auto: 200 scaled by diameter)")
        self.min_size = QtWidgets.QSpinBox()
        self.min_size.setRange(0, 100000)
        self.min_size.setValue(15)
        self.min_size.setToolTip("Objects smaller than this many pixels are removed")
        self.channels = QtWidgets.QLineEdit()
        self.channels.setPlaceholderText("model default, e.g. 0,1")
        self.channels.setValidator(QtGui.QRegularExpressionValidator(
            QtCore.QRegularExpression(r"^\s*(\d+\s*(,\s*\d+\s*){0,2})?$")))
        self.channels.setToolTip("Image channels fed to the model, in order (up to 3)")
        for name, w in (("diameter", self.diameter), ("flow threshold", self.flow_threshold),
                        ("cellprob threshold", self.cellprob_threshold), ("niter", self.niter),
                        ("min size", self.min_size), ("channels", self.channels)):
            w.setObjectName(name.replace(" ", "_"))
            form.addRow(name, w)
        self.run_on = RunOnWidget()
        form.addRow("run on", self.run_on)
        lay.addLayout(form)
        planes = QtWidgets.QHBoxLayout()  # the CLI's --series / --t / --z, same syntax
        self.plane_fields: dict[str, QtWidgets.QLineEdit] = {}
        for axis, tip in (("series", "Series to use, e.g. 0 or 1-3 (empty: all)"),
                          ("t", "Time points, e.g. 0-99 or ::10 for every 10th (empty: all)"),
                          ("z", "Z slices, e.g. 5 or 0-9 (empty: all)")):
            field = QtWidgets.QLineEdit()
            field.setObjectName(f"plane_{axis}")
            field.setPlaceholderText("all")
            field.setToolTip(tip + "; predict and measure use every selected plane")
            planes.addWidget(QtWidgets.QLabel("S" if axis == "series" else axis.upper()))
            planes.addWidget(field, 1)
            self.plane_fields[axis] = field
        lay.addWidget(QtWidgets.QLabel("Planes"))
        lay.addLayout(planes)
        self.force = QtWidgets.QCheckBox("Re-run images already predicted with these settings")
        lay.addWidget(self.force)

        buttons = QtWidgets.QHBoxLayout()
        self.run_current = QtWidgets.QPushButton("Run current")
        self.run_folder = QtWidgets.QPushButton("Run folder")
        self.cancel = QtWidgets.QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.run_current.clicked.connect(self.runCurrent)
        self.run_folder.clicked.connect(self.runFolder)
        self.cancel.clicked.connect(self.cancelRequested)
        for b in (self.run_current, self.run_folder, self.cancel):
            buttons.addWidget(b)
        lay.addLayout(buttons)
        self.job = JobProgress(lay)
        self.progress, self.progress_label = self.job.bar, self.job.label

    def _spin(self, lo, hi, value, step, special, tip) -> QtWidgets.QDoubleSpinBox:
        w = QtWidgets.QDoubleSpinBox()
        w.setRange(lo, hi)
        w.setDecimals(2)
        w.setSingleStep(step)
        w.setValue(value)
        if special:
            w.setSpecialValueText(special)
        w.setToolTip(tip)
        return w

    def set_models(self, names: list[str], tips: list[str], current: str | None = None) -> None:
        blocker = QtCore.QSignalBlocker(self.model)
        previous = current or self.model.currentText()
        self.model.clear()
        for name, tip in zip(names, tips, strict=True):
            self.model.addItem(name)
            self.model.setItemData(self.model.count() - 1, tip,
                                   QtCore.Qt.ItemDataRole.ToolTipRole)
        index = self.model.findText(previous)
        self.model.setCurrentIndex(index if index >= 0 else 0)
        del blocker

    def settings(self) -> dict[str, Any]:
        """Plain values: ``None`` means 'auto' / model default."""
        text = self.channels.text().strip()
        return {
            "model": self.model.currentText(),
            "diameter": self.diameter.value() or None,
            "flow_threshold": self.flow_threshold.value(),
            "cellprob_threshold": self.cellprob_threshold.value(),
            "niter": self.niter.value() or None,
            "min_size": self.min_size.value(),
            "channels": [int(c) for c in text.split(",") if c.strip()] if text else None,
            "force": self.force.isChecked(),
            **self.run_on.values(),
        }

    def plane_texts(self) -> dict[str, str]:
        """The plane selection as typed: ``{"series": .., "t": .., "z": ..}`` ("" = all)."""
        return {axis: field.text().strip() for axis, field in self.plane_fields.items()}

    def set_running(self, running: bool) -> None:
        self.run_current.setEnabled(not running)
        self.run_folder.setEnabled(not running)
        self.cancel.setEnabled(running)

    def show_progress(self, done: int, total: int, message: str) -> None:
        self.job.show(done, total, message)
