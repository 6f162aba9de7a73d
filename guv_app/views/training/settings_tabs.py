"""Basic and Advanced tabs of the training dialog: every training setting, with tooltips."""

from __future__ import annotations

from PyQt6 import QtCore, QtWidgets

from guv_app.views.run_on import RunOnWidget
from guv_app.views.training.fields import (
    FieldSpec,
    make_editor,
    read_editor,
    write_editor,
)


class _FieldForm(QtWidgets.QWidget):
    """A form of :class:`FieldSpec` editors with ``values()`` / ``set_values()``."""

    changed = QtCore.pyqtSignal()

    def __init__(self, specs: tuple[FieldSpec, ...], parent=None) -> None:
        super().__init__(parent)
        self.specs = {s.name: s for s in specs}
        self.form = QtWidgets.QFormLayout(self)
        self.form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.editors: dict[str, QtWidgets.QWidget] = {}

    def _add_fields(self, specs: tuple[FieldSpec, ...]) -> None:
        for spec in specs:
            w = make_editor(spec)
            label = QtWidgets.QLabel(spec.label)
            label.setToolTip(spec.tooltip)
            self.form.addRow(label, w)
            self.editors[spec.name] = w

    def values(self) -> dict:
        return {n: read_editor(w, self.specs[n]) for n, w in self.editors.items()}

    def set_values(self, values: dict) -> None:
        for name, value in values.items():
            if name in self.editors and value is not None:
                write_editor(self.editors[name], self.specs[name], value)


class BasicTab(_FieldForm):
    """Model name (checked live), base model, mode + blocks, epochs."""

    nameEdited = QtCore.pyqtSignal(str)
    baseModelChanged = QtCore.pyqtSignal(str)

    def __init__(self, specs: tuple[FieldSpec, ...] = (), parent=None) -> None:
        super().__init__(specs, parent)
        self.model_name = QtWidgets.QLineEdit()
        self.model_name.setObjectName("field_model_name")
        self.model_name.setToolTip("Name of the new model in the model list (letters, digits, "
                                   ". _ + -). It must not be taken yet.")
        self.model_name.textEdited.connect(self.nameEdited)
        self.name_status = QtWidgets.QLabel()
        self.name_status.setObjectName("name_status")
        self.name_status.setWordWrap(True)
        self.base_model = QtWidgets.QComboBox()
        self.base_model.setObjectName("field_base_model")
        self.base_model.setToolTip("Model to start from: a built-in one (cpsam = Cellpose-SAM, "
                                   "tiny = small test backbone) or any model you trained.")
        self.base_model.currentTextChanged.connect(self.baseModelChanged)
        self.form.addRow("Model name", self.model_name)
        self.form.addRow("", self.name_status)
        self.form.addRow("Base model", self.base_model)
        self._add_fields(specs)
        self.run_on = RunOnWidget()
        self.form.addRow("Run on", self.run_on)
        if "mode" in self.editors:
            self.editors["mode"].currentIndexChanged.connect(self._mode_changed)

    def _mode_changed(self) -> None:
        head_only = self.editors["mode"].currentData() == "head"
        if "blocks" in self.editors:
            self.editors["blocks"].setEnabled(not head_only)

    def set_base_models(self, names: list[str], current: str | None = None) -> None:
        keep = current or self.base_model.currentText()
        blocker = QtCore.QSignalBlocker(self.base_model)
        self.base_model.clear()
        self.base_model.addItems(names)
        i = self.base_model.findText(keep)
        self.base_model.setCurrentIndex(i if i >= 0 else 0)
        del blocker

    def set_name_status(self, ok: bool, text: str) -> None:
        color = "#2a7a2a" if ok else "#b00020"
        self.name_status.setText(f"<span style='color:{color}'>{text}</span>" if text else "")

    def values(self) -> dict:
        out = super().values()
        out["model_name"] = self.model_name.text().strip()
        out["base_model"] = self.base_model.currentText()
        out.update(self.run_on.values())
        return out

    def set_values(self, values: dict) -> None:
        super().set_values(values)
        self.run_on.set_values(values)
        if values.get("model_name") is not None:
            self.model_name.setText(str(values["model_name"]))
        if values.get("base_model"):
            i = self.base_model.findText(str(values["base_model"]))
            if i >= 0:
                self.base_model.setCurrentIndex(i)


class AdvancedTab(QtWidgets.QScrollArea):
    """Every other training parameter, in a scrollable form."""

    def __init__(self, specs: tuple[FieldSpec, ...] = (), parent=None) -> None:
        super().__init__(parent)
        self.inner = _FieldForm(specs)
        self.inner._add_fields(specs)
        self.setWidget(self.inner)
        self.setWidgetResizable(True)
        self.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)

    @property
    def editors(self) -> dict[str, QtWidgets.QWidget]:
        return self.inner.editors

    def values(self) -> dict:
        return self.inner.values()

    def set_values(self, values: dict) -> None:
        self.inner.set_values(values)
