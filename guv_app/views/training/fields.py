"""Editable training parameters described as data: one spec per setting, one editor each.

The dialog does not know the training service's types; the controller hands it the field
specs (built from the one table of training settings, ``services.training.params``, that
``multicellpose train`` builds its flags from) and plain dicts (``{name: value}``) keyed by
``TrainConfig``'s field names, and reads them back the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from PyQt6 import QtWidgets

BIG = 1_000_000


@dataclass(frozen=True)
class FieldSpec:
    """How to edit one setting: ``kind`` is int, float, bool, choice or text."""

    name: str
    label: str
    kind: str
    tooltip: str
    minimum: float = 0
    maximum: float = BIG
    step: float = 1
    decimals: int = 3
    special: str = ""  # text shown at the minimum (e.g. "auto" for 0)
    choices: tuple[tuple[str, str], ...] = ()  # (value, text) for kind "choice"
    editable: bool = False  # choice combo accepts other text (device names)


def make_editor(spec: FieldSpec) -> QtWidgets.QWidget:
    """A widget for ``spec`` named ``field_<name>`` with its range and tooltip set."""
    if spec.kind == "int":
        w: QtWidgets.QWidget = QtWidgets.QSpinBox()
        w.setRange(int(spec.minimum), int(spec.maximum))
        w.setSingleStep(int(spec.step))
        if spec.special:
            w.setSpecialValueText(spec.special)
    elif spec.kind == "float":
        w = QtWidgets.QDoubleSpinBox()
        w.setDecimals(spec.decimals)
        w.setRange(float(spec.minimum), float(spec.maximum))
        w.setSingleStep(float(spec.step))
        if spec.special:
            w.setSpecialValueText(spec.special)
    elif spec.kind == "bool":
        w = QtWidgets.QCheckBox()
    elif spec.kind == "choice":
        w = QtWidgets.QComboBox()
        w.setEditable(spec.editable)
        for value, text in spec.choices:
            w.addItem(text, value)
    elif spec.kind == "text":
        w = QtWidgets.QLineEdit()
    else:  # pragma: no cover - specs are static
        raise ValueError(f"unknown field kind {spec.kind!r}")
    w.setObjectName(f"field_{spec.name}")
    w.setToolTip(spec.tooltip)
    return w


def read_editor(w: QtWidgets.QWidget, spec: FieldSpec):
    """The editor's value as plain Python (int, float, bool or str)."""
    if spec.kind == "int":
        return int(w.value())
    if spec.kind == "float":
        return float(w.value())
    if spec.kind == "bool":
        return bool(w.isChecked())
    if spec.kind == "choice":
        data = w.currentData()
        text = w.currentText().strip()
        if spec.editable and w.currentIndex() >= 0 and text != w.itemText(w.currentIndex()):
            return text
        return str(data) if data is not None else text
    return w.text().strip()


def write_editor(w: QtWidgets.QWidget, spec: FieldSpec, value) -> None:
    """Show ``value`` in the editor (out-of-range numbers are clamped by Qt)."""
    if spec.kind == "int":
        w.setValue(int(value))
    elif spec.kind == "float":
        w.setValue(float(value))
    elif spec.kind == "bool":
        w.setChecked(bool(value))
    elif spec.kind == "choice":
        i = w.findData(str(value))
        if i >= 0:
            w.setCurrentIndex(i)
        elif spec.editable:
            w.setEditText(str(value))
    else:
        if isinstance(value, list | tuple):
            value = ", ".join(f"{float(v):g}" for v in value)
        w.setText(str(value))
