"""Model choice, inference parameters, run buttons and progress of batch prediction.

The parameter editors are built from the setting descriptions the controller passes to
:meth:`InferencePanel.set_params` (``INFERENCE_PARAMS``: range, unit, default, help), the
table ``multicellpose predict`` builds its flags from, so both offer the same settings.
"""

from __future__ import annotations

from typing import Any

from PyQt6 import QtCore, QtGui, QtWidgets

from guv_app.views.analyzer.job_progress import JobProgress
from guv_app.views.run_on import RunOnWidget


def param_spin(spec) -> QtWidgets.QAbstractSpinBox:
    """A spin box for a ``Param`` (services.params): limited to its range, showing its
    unit, default and help.

    A setting whose None means "auto" shows ``auto`` at 0 (the spin box minimum).
    """
    if spec.kind == "int":
        w = QtWidgets.QSpinBox()
        w.setRange(int(spec.minimum or 0), int(min(spec.maximum or 2**31 - 1, 2**31 - 1)))
    else:
        w = QtWidgets.QDoubleSpinBox()
        w.setDecimals(spec.decimals)
        top = spec.maximum if spec.maximum is not None else 1e9
        if spec.below_max:
            top -= 10 ** -spec.decimals
        w.setRange(spec.minimum if spec.minimum is not None else -1e9, top)
        w.setSingleStep(spec.step)
    if spec.unit:
        w.setSuffix(f" {spec.unit}")
    if spec.auto:
        w.setSpecialValueText("auto")
    w.setValue(0 if spec.default is None else spec.default)
    w.setToolTip(spec.help_text())
    return w


def param_editor(spec) -> QtWidgets.QWidget:
    """The editor of a ``Param``: a combo box (values as item data) for a choice, else
    :func:`param_spin`."""
    if spec.kind != "choice":
        return param_spin(spec)
    w = QtWidgets.QComboBox()
    for value, text in spec.choices:
        w.addItem(text, value)
    w.setCurrentIndex(max(w.findData(spec.default), 0))
    w.setToolTip(spec.help_text())
    return w


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

        self.form = form = QtWidgets.QFormLayout()
        self.params: list = []  # setting descriptions shown above the channels field
        self.channels = QtWidgets.QLineEdit()
        self.channels.setPlaceholderText("model default, e.g. 0,1")
        self.channels.setValidator(QtGui.QRegularExpressionValidator(
            QtCore.QRegularExpression(r"^\s*(\d+\s*(,\s*\d+\s*){0,2})?$")))
        self.channels.setToolTip("Image channels fed to the model, in order (up to 3)")
        self.channels.setObjectName("channels")
        form.addRow("channels", self.channels)
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

    def set_params(self, specs) -> None:
        """One editor per setting description, named and titled after it (``self.<name>``)."""
        for k, spec in enumerate(specs):
            w = param_editor(spec)
            w.setObjectName(spec.name)
            setattr(self, spec.name, w)
            self.form.insertRow(len(self.params) + k, spec.title, w)
        self.params = [*self.params, *specs]

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
        out: dict[str, Any] = {"model": self.model.currentText()}
        for spec in self.params:
            w = getattr(self, spec.name)
            if isinstance(w, QtWidgets.QComboBox):
                out[spec.name] = w.currentData()
                continue
            value = w.value()
            out[spec.name] = None if spec.auto and value == 0 else value
        out["channels"] = [int(c) for c in text.split(",") if c.strip()] if text else None
        out["force"] = self.force.isChecked()
        out.update(self.run_on.values())
        return out

    def plane_texts(self) -> dict[str, str]:
        """The plane selection as typed: ``{"series": .., "t": .., "z": ..}`` ("" = all)."""
        return {axis: field.text().strip() for axis, field in self.plane_fields.items()}

    def set_running(self, running: bool) -> None:
        self.run_current.setEnabled(not running)
        self.run_folder.setEnabled(not running)
        self.cancel.setEnabled(running)

    def show_progress(self, done: int, total: int, message: str) -> None:
        self.job.show(done, total, message)
