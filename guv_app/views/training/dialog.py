"""The Ctrl+T training dialog: data on the left, settings below it, live progress on the right.

The dialog is passive: it shows what the controller gives it and reports button presses as
signals. Its only state is "running or not", which greys out the settings while a run is on.
"""

from __future__ import annotations

import html

from PyQt6 import QtCore, QtGui, QtWidgets

from guv_app.views.training.dataset_panel import DatasetPanel
from guv_app.views.training.progress_panel import ProgressPanel
from guv_app.views.training.settings_tabs import AdvancedTab, BasicTab

Qt = QtCore.Qt


class TrainingDialog(QtWidgets.QDialog):
    startRequested = QtCore.pyqtSignal()
    cancelRequested = QtCore.pyqtSignal()
    resumeRequested = QtCore.pyqtSignal()
    runOnImageRequested = QtCore.pyqtSignal()
    closing = QtCore.pyqtSignal()

    def __init__(self, parent: QtWidgets.QWidget | None = None, *,
                 basic_fields: tuple = (), advanced_fields: tuple = ()) -> None:
        """``basic_fields`` / ``advanced_fields``: the FieldSpecs of the two settings tabs."""
        super().__init__(parent)
        self.setWindowTitle("Train a model")
        self.setObjectName("training_dialog")
        self.setModal(False)
        self.resize(1100, 760)
        self.dataset = DatasetPanel()
        self.basic = BasicTab(tuple(basic_fields))
        self.advanced = AdvancedTab(tuple(advanced_fields))
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(self.basic, "Basic")
        self.tabs.addTab(self.advanced, "Advanced")
        left = QtWidgets.QWidget()
        left_lay = QtWidgets.QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        left_lay.addWidget(self.dataset)
        left_lay.addWidget(self.tabs, 1)
        left.setMinimumWidth(400)
        left.setMaximumWidth(480)
        self.progress = ProgressPanel()
        top = QtWidgets.QHBoxLayout()
        top.addWidget(left)
        top.addWidget(self.progress, 1)

        self.message = QtWidgets.QLabel()
        self.message.setObjectName("training_message")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.RichText)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setVisible(False)
        self.start_button = QtWidgets.QPushButton("Start training")
        self.start_button.setObjectName("start_button")
        self.start_button.setDefault(True)
        self.resume_button = QtWidgets.QPushButton("Resume training")
        self.resume_button.setObjectName("resume_button")
        self.resume_button.setToolTip("Continue the cancelled run from its checkpoint")
        self.resume_button.clicked.connect(self.resumeRequested)
        self.cancel_button = QtWidgets.QPushButton("Cancel training")
        self.cancel_button.setObjectName("cancel_button")
        self.run_button = QtWidgets.QPushButton("Run on current image")
        self.run_button.setObjectName("run_on_image_button")
        self.run_button.setToolTip("Segment the Trainer's current image with the new model")
        self.close_button = QtWidgets.QPushButton("Close")
        self.close_button.setObjectName("close_button")
        self.start_button.clicked.connect(self.startRequested)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.run_button.clicked.connect(self.runOnImageRequested)
        self.close_button.clicked.connect(self.close)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addStretch(1)
        buttons.addWidget(self.resume_button)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)

        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(top, 1)
        lay.addWidget(self.message)
        lay.addLayout(buttons)
        self.running = False
        self.run_button.setVisible(False)
        self.resume_button.setVisible(False)
        self.set_running(False)

    # ------------------------------------------------------------------- state
    def set_running(self, running: bool) -> None:
        """Grey out the settings during a run; only Cancel (and Close) stay active."""
        self.running = bool(running)
        for w in (self.dataset, self.basic, self.advanced):
            w.setEnabled(not running)
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.cancel_button.setText("Cancel training")
        if running:
            self.run_button.setVisible(False)
            self.resume_button.setVisible(False)

    def set_cancelling(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")

    def set_can_resume(self, can: bool) -> None:
        self.resume_button.setVisible(bool(can))

    def set_can_run_on_image(self, can: bool, model_name: str = "") -> None:
        if model_name:
            self.run_button.setText(f"Run {model_name} on current image")
        self.run_button.setVisible(bool(can))
        self.run_button.updateGeometry()

    # ---------------------------------------------------------------- messages
    def show_error(self, text: str) -> None:
        """One readable message in red; the dialog stays usable."""
        self.message.setStyleSheet("QLabel { color: #b00020; background: #fdecee; "
                                   "border: 1px solid #f3b7bf; padding: 6px; }")
        self.message.setText(f"<b>Training failed:</b> {html.escape(text)}")
        self.message.setVisible(True)

    def show_info(self, html_text: str) -> None:
        self.message.setStyleSheet("QLabel { color: #1b3d1b; background: #eef7ee; "
                                   "border: 1px solid #b9dbb9; padding: 6px; }")
        self.message.setText(html_text)
        self.message.setVisible(True)

    def clear_message(self) -> None:
        self.message.clear()
        self.message.setVisible(False)

    def message_text(self) -> str:
        """The message as plain text (tests, accessibility)."""
        doc = QtGui.QTextDocument()
        doc.setHtml(self.message.text())
        return doc.toPlainText()

    # --------------------------------------------------------------- settings
    def values(self) -> dict:
        out = self.advanced.values()
        out.update(self.basic.values())
        out.update(self.dataset.values())
        return out

    def set_values(self, values: dict) -> None:
        self.basic.set_values(values)
        self.advanced.set_values(values)
        self.dataset.set_values(values)

    # ---------------------------------------------------------------- Qt events
    def closeEvent(self, ev: QtGui.QCloseEvent) -> None:  # noqa: N802
        self.closing.emit()
        super().closeEvent(ev)

    def keyPressEvent(self, ev: QtGui.QKeyEvent) -> None:  # noqa: N802
        if ev.key() == Qt.Key.Key_Escape:  # Esc closes like Close (never cancels silently)
            self.close()
            return
        super().keyPressEvent(ev)
