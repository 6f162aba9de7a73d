"""Measurement settings: plugins (each with its generated form), label source, run, export."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PyQt6 import QtCore, QtWidgets

from guv_app.views.analyzer.job_progress import JobProgress
from guv_app.views.analyzer.param_form import ParamForm

Qt = QtCore.Qt


class MeasurePanel(QtWidgets.QGroupBox):
    measureRequested = QtCore.pyqtSignal()
    cancelRequested = QtCore.pyqtSignal()
    exportCsvRequested = QtCore.pyqtSignal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Measure", parent)
        lay = QtWidgets.QVBoxLayout(self)
        self.plugins = QtWidgets.QListWidget()
        self.plugins.setObjectName("plugin_list")
        self.plugins.setMaximumHeight(120)
        self.plugins.setToolTip("Tick the plugins to run; select one to edit its parameters")
        lay.addWidget(self.plugins)
        self.form_title = QtWidgets.QLabel("")
        lay.addWidget(self.form_title)
        self.forms = QtWidgets.QStackedWidget()
        lay.addWidget(self.forms)
        self._forms: dict[str, ParamForm] = {}
        self.plugins.currentRowChanged.connect(self._show_form)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("labels"))
        self.labels = QtWidgets.QComboBox()
        self.labels.addItem("prediction, else training labels", "auto")
        self.labels.addItem("predictions only", "pred")
        self.labels.addItem("training labels only", "seg")
        row.addWidget(self.labels, 1)
        lay.addLayout(row)
        buttons = QtWidgets.QHBoxLayout()
        self.measure = QtWidgets.QPushButton("Measure folder")
        self.cancel = QtWidgets.QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.export_csv = QtWidgets.QPushButton("Export CSV…")
        self.export_csv.setEnabled(False)
        self.measure.clicked.connect(self.measureRequested)
        self.cancel.clicked.connect(self.cancelRequested)
        self.export_csv.clicked.connect(self.exportCsvRequested)
        for b in (self.measure, self.cancel, self.export_csv):
            buttons.addWidget(b)
        lay.addLayout(buttons)
        self.job = JobProgress(lay)
        self.progress, self.status = self.job.bar, self.job.label
        lay.addStretch(1)

    def set_plugins(self, plugins: Sequence[tuple[str, str, Sequence[Any], str | None]],
                    checked: Sequence[str] = ("shape", "intensity")) -> None:
        """(name, description, params schema, error or None) per plugin; broken ones greyed."""
        self.plugins.clear()
        while self.forms.count():
            self.forms.removeWidget(self.forms.widget(0))
        self._forms.clear()
        for name, description, schema, error in plugins:
            item = QtWidgets.QListWidgetItem(name if error is None else f"{name} (broken)")
            item.setData(Qt.ItemDataRole.UserRole, name)
            if error is None:
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if name in checked
                                   else Qt.CheckState.Unchecked)
                item.setToolTip(description)
                form = ParamForm(schema)
            else:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                item.setToolTip(error)
                form = ParamForm([])
            self.plugins.addItem(item)
            self._forms[name] = form
            self.forms.addWidget(form)
        if self.plugins.count():
            self.plugins.setCurrentRow(0)

    def _show_form(self, row: int) -> None:
        if 0 <= row < self.forms.count():
            self.forms.setCurrentIndex(row)
            name = self.plugins.item(row).data(Qt.ItemDataRole.UserRole)
            self.form_title.setText(f"<b>{name}</b> parameters")
            for i in range(self.forms.count()):  # the stack takes the height of the shown form
                policy = QtWidgets.QSizePolicy.Policy
                self.forms.widget(i).setSizePolicy(
                    policy.Preferred, policy.Preferred if i == row else policy.Ignored)

    def form(self, name: str) -> ParamForm:
        return self._forms[name]

    def set_checked(self, names: Sequence[str]) -> None:
        for i in range(self.plugins.count()):
            item = self.plugins.item(i)
            if item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
                on = item.data(Qt.ItemDataRole.UserRole) in names
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def checked(self) -> list[str]:
        out = []
        for i in range(self.plugins.count()):
            item = self.plugins.item(i)
            if (item.flags() & Qt.ItemFlag.ItemIsUserCheckable
                    and item.checkState() == Qt.CheckState.Checked):
                out.append(item.data(Qt.ItemDataRole.UserRole))
        return out

    def params(self) -> dict[str, dict[str, Any]]:
        """Form values of the checked plugins."""
        return {name: self._forms[name].values() for name in self.checked()}

    def set_running(self, running: bool) -> None:
        self.measure.setEnabled(not running)
        self.cancel.setEnabled(running)

    def show_progress(self, done: int, total: int, message: str) -> None:
        self.job.show(done, total, message)
