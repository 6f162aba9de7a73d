"""A form generated from a parameter schema: one field per typed parameter.

The schema items are duck-typed (``name``, ``type`` in int/float/bool/choice/str,
``default``, ``minimum``, ``maximum``, ``choices``, ``help``), which is what measurement
plugins' ``ParamSpec`` provide, so this view needs no import of the plugin layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PyQt6 import QtCore, QtWidgets

_BIG = 1e9


class ParamForm(QtWidgets.QWidget):
    """Editable values for a schema; ``values()`` returns them typed, keyed by name."""

    changed = QtCore.pyqtSignal()

    def __init__(self, schema: Sequence[Any], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.schema = list(schema)
        self.fields: dict[str, QtWidgets.QWidget] = {}
        lay = QtWidgets.QFormLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for spec in self.schema:
            widget = self._field(spec)
            widget.setObjectName(f"param_{spec.name}")
            widget.setToolTip(getattr(spec, "help", "") or "")
            label = QtWidgets.QLabel(spec.name.replace("_", " "))
            label.setToolTip(widget.toolTip())
            lay.addRow(label, widget)
            self.fields[spec.name] = widget
        if not self.schema:
            lay.addRow(QtWidgets.QLabel("(no parameters)"))

    def _field(self, spec: Any) -> QtWidgets.QWidget:
        kind = spec.type
        if kind == "bool":
            w = QtWidgets.QCheckBox()
            w.setChecked(bool(spec.default))
            w.toggled.connect(self.changed)
        elif kind == "choice":
            w = QtWidgets.QComboBox()
            for choice in spec.choices:
                w.addItem(str(choice), choice)
            w.setCurrentIndex(list(spec.choices).index(spec.default))
            w.currentIndexChanged.connect(self.changed)
        elif kind == "int":
            w = QtWidgets.QSpinBox()
            w.setRange(int(max(spec.minimum if spec.minimum is not None else -_BIG, -2**31 + 1)),
                       int(min(spec.maximum if spec.maximum is not None else _BIG, 2**31 - 1)))
            w.setValue(int(spec.default))
            w.valueChanged.connect(self.changed)
        elif kind == "float":
            w = QtWidgets.QDoubleSpinBox()
            w.setDecimals(3)
            w.setRange(spec.minimum if spec.minimum is not None else -_BIG,
                       spec.maximum if spec.maximum is not None else _BIG)
            w.setValue(float(spec.default))
            w.valueChanged.connect(self.changed)
        else:
            w = QtWidgets.QLineEdit(str(spec.default))
            w.textChanged.connect(self.changed)
        return w

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for spec in self.schema:
            w = self.fields[spec.name]
            if isinstance(w, QtWidgets.QCheckBox):
                out[spec.name] = w.isChecked()
            elif isinstance(w, QtWidgets.QComboBox):
                out[spec.name] = w.currentData()
            elif isinstance(w, QtWidgets.QSpinBox | QtWidgets.QDoubleSpinBox):
                out[spec.name] = w.value()
            else:
                out[spec.name] = w.text()
        return out

    def set_value(self, name: str, value: Any) -> None:
        w = self.fields[name]
        if isinstance(w, QtWidgets.QCheckBox):
            w.setChecked(bool(value))
        elif isinstance(w, QtWidgets.QComboBox):
            w.setCurrentIndex(max(w.findData(value), 0))
        elif isinstance(w, QtWidgets.QSpinBox | QtWidgets.QDoubleSpinBox):
            w.setValue(value)
        else:
            w.setText(str(value))
