"""What the training will use: folder, labelled images, objects per class, skipped files,
and how validation images are chosen (a seeded split, or a separate folder)."""

from __future__ import annotations

import html

from PyQt6 import QtCore, QtWidgets


class DatasetPanel(QtWidgets.QGroupBox):
    changeFolderRequested = QtCore.pyqtSignal()
    browseValFolderRequested = QtCore.pyqtSignal()

    def __init__(self, parent=None) -> None:
        super().__init__("Training data", parent)
        lay = QtWidgets.QVBoxLayout(self)
        row = QtWidgets.QHBoxLayout()
        self.folder = QtWidgets.QLabel("(no folder)")
        self.folder.setObjectName("dataset_folder")
        self.folder.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder.setWordWrap(True)
        self.change = QtWidgets.QPushButton("Change…")
        self.change.setToolTip("Train on another folder of labelled images")
        self.change.clicked.connect(self.changeFolderRequested)
        row.addWidget(self.folder, 1)
        row.addWidget(self.change)
        lay.addLayout(row)
        self.summary = QtWidgets.QLabel()
        self.summary.setObjectName("dataset_summary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(QtCore.Qt.TextFormat.RichText)
        lay.addWidget(self.summary)
        self.skipped = QtWidgets.QListWidget()
        self.skipped.setObjectName("dataset_skipped")
        self.skipped.setMaximumHeight(80)
        self.skipped.setToolTip("Images left out of training, and why")
        lay.addWidget(self.skipped)
        lay.addWidget(self._validation_box())

    def _validation_box(self) -> QtWidgets.QWidget:
        box = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(box)
        grid.setContentsMargins(0, 0, 0, 0)
        self.val_split = QtWidgets.QRadioButton("Validate on")
        self.val_split.setObjectName("val_split")
        self.val_split.setChecked(True)
        self.val_ratio = QtWidgets.QSpinBox()
        self.val_ratio.setObjectName("val_ratio")
        self.val_ratio.setRange(0, 90)
        self.val_ratio.setSuffix(" % of images")
        self.val_ratio.setToolTip("Share of the labelled images kept aside for validation "
                                  "(0 = no validation, no AP at the end)")
        self.val_seed = QtWidgets.QSpinBox()
        self.val_seed.setObjectName("val_seed")
        self.val_seed.setRange(0, 2**31 - 1)
        self.val_seed.setPrefix("seed ")
        self.val_seed.setToolTip("The same seed picks the same validation images")
        self.val_folder_choice = QtWidgets.QRadioButton("Validation folder")
        self.val_folder_choice.setObjectName("val_folder_choice")
        self.val_folder = QtWidgets.QLineEdit()
        self.val_folder.setObjectName("val_folder")
        self.val_folder.setPlaceholderText("folder of labelled validation images")
        self.val_browse = QtWidgets.QPushButton("…")
        self.val_browse.setToolTip("Choose the validation folder")
        self.val_browse.clicked.connect(self.browseValFolderRequested)
        grid.addWidget(self.val_split, 0, 0)
        grid.addWidget(self.val_ratio, 0, 1)
        grid.addWidget(self.val_seed, 0, 2, 1, 2)
        grid.addWidget(self.val_folder_choice, 1, 0)
        grid.addWidget(self.val_folder, 1, 1, 1, 2)
        grid.addWidget(self.val_browse, 1, 3)
        self.val_split.toggled.connect(self._sync_enabled)
        self._sync_enabled()
        return box

    def _sync_enabled(self) -> None:
        split = self.val_split.isChecked()
        self.val_ratio.setEnabled(split)
        self.val_seed.setEnabled(split)
        self.val_folder.setEnabled(not split)
        self.val_browse.setEnabled(not split)

    # ------------------------------------------------------------------ content
    def set_folder(self, text: str) -> None:
        self.folder.setText(text or "(no folder: open an image in the Trainer first)")

    def set_summary(self, n_labelled: int, n_images: int, per_class: list[tuple[str, int]],
                    skipped: list[tuple[str, str]], note: str = "") -> None:
        """Labelled/total images, objects per class name, skipped (file, reason)."""
        lines = [f"<b>{n_labelled}</b> labelled image(s) of {n_images}"]
        if per_class:
            parts = ", ".join(f"{html.escape(n)}: <b>{c}</b>" for n, c in per_class)
            lines.append(f"Objects per class: {parts}")
        if note:
            lines.append(f"<i>{html.escape(note)}</i>")
        self.summary.setText("<br>".join(lines))
        self.skipped.clear()
        for name, reason in skipped:
            self.skipped.addItem(f"{name}: {reason}")
        self.skipped.setVisible(bool(skipped))

    def values(self) -> dict:
        return {
            "val_mode": "split" if self.val_split.isChecked() else "folder",
            "val_ratio": self.val_ratio.value() / 100.0,
            "val_seed": self.val_seed.value(),
            "val_folder": self.val_folder.text().strip(),
        }

    def set_values(self, values: dict) -> None:
        if "val_ratio" in values:
            self.val_ratio.setValue(int(round(float(values["val_ratio"]) * 100)))
        if "val_seed" in values:
            self.val_seed.setValue(int(values["val_seed"]))
        if "val_folder" in values:
            self.val_folder.setText(str(values["val_folder"] or ""))
        if values.get("val_mode") == "folder":
            self.val_folder_choice.setChecked(True)
        elif "val_mode" in values:
            self.val_split.setChecked(True)
