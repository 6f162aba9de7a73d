"""Class list: pick the current class, add / rename / recolour / remove, show/hide, counts.

Dialogs are opened with ``open()`` (not ``exec()``): the window never blocks on them, and
tests can fill and accept ``panel.dialog``.
"""

from __future__ import annotations

from PyQt6 import QtCore, QtGui, QtWidgets

Qt = QtCore.Qt


def _swatch(rgb: tuple[int, int, int]) -> QtGui.QIcon:
    pm = QtGui.QPixmap(14, 14)
    pm.fill(QtGui.QColor(*rgb))
    return QtGui.QIcon(pm)


class ClassPanel(QtWidgets.QGroupBox):
    """Rows are class ids (row 0 = objects without a class)."""

    currentClassChanged = QtCore.pyqtSignal(int)
    addRequested = QtCore.pyqtSignal(str)
    renameRequested = QtCore.pyqtSignal(int, str)
    recolourRequested = QtCore.pyqtSignal(int, object)  # (r, g, b)
    removeRequested = QtCore.pyqtSignal(int, int)  # class id, move its objects to
    visibilityChanged = QtCore.pyqtSignal(int, bool)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Classes", parent)
        self.list = QtWidgets.QListWidget()
        self.list.setObjectName("classList")
        self.list.currentRowChanged.connect(self._row_changed)
        self.list.itemChanged.connect(self._item_changed)
        self.add_button = QtWidgets.QPushButton("Add")
        self.rename_button = QtWidgets.QPushButton("Rename")
        self.colour_button = QtWidgets.QPushButton("Colour")
        self.remove_button = QtWidgets.QPushButton("Remove")
        self.add_button.clicked.connect(self.ask_add)
        self.rename_button.clicked.connect(self.ask_rename)
        self.colour_button.clicked.connect(self.ask_recolour)
        self.remove_button.clicked.connect(self.ask_remove)
        buttons = QtWidgets.QHBoxLayout()
        buttons.setSpacing(2)
        for b in (self.add_button, self.rename_button, self.colour_button, self.remove_button):
            b.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                            QtWidgets.QSizePolicy.Policy.Fixed)
            b.setMinimumWidth(40)
            buttons.addWidget(b)
        self.total_label = QtWidgets.QLabel()
        rows = self.list.fontMetrics().height() + 4  # 9 classes + "no class" without scrolling
        self.list.setMinimumHeight(10 * rows + 2 * self.list.frameWidth())
        self.list.setUniformItemSizes(True)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.setSpacing(3)
        lay.addWidget(self.list)
        lay.addLayout(buttons)
        lay.addWidget(self.total_label)
        self.dialog: QtWidgets.QDialog | None = None
        self._names: list[str] = ["background"]
        self._colors: list[tuple[int, int, int]] = [(0, 0, 0)]

    # ------------------------------------------------------------------ model -> view
    def set_classes(
        self,
        names: list[str],
        colors: list[tuple[int, int, int]],
        visible: list[bool],
        counts: list[int],
        current: int,
    ) -> None:
        self._names, self._colors = list(names), list(colors)
        blocker = QtCore.QSignalBlocker(self.list)
        self.list.clear()
        for cid, name in enumerate(names):
            label = "(no class)" if cid == 0 else name
            n = counts[cid] if cid < len(counts) else 0
            item = QtWidgets.QListWidgetItem(_swatch((160, 160, 160) if cid == 0 else colors[cid]),
                                             f"{label}  ({n})")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if visible[cid] else Qt.CheckState.Unchecked)
            item.setData(Qt.ItemDataRole.UserRole, cid)
            self.list.addItem(item)
        self.list.setCurrentRow(current)
        del blocker
        self.total_label.setText(f"{sum(counts)} objects")
        self._update_buttons()

    def set_counts(self, counts: list[int]) -> None:
        blocker = QtCore.QSignalBlocker(self.list)
        for cid in range(self.list.count()):
            label = "(no class)" if cid == 0 else self._names[cid]
            n = counts[cid] if cid < len(counts) else 0
            item = self.list.item(cid)
            text = f"{label}  ({n})"
            if item.text() != text:  # untouched rows are not re-laid out / repainted
                item.setText(text)
        del blocker
        total = f"{sum(counts)} objects"
        if self.total_label.text() != total:
            self.total_label.setText(total)

    def current_class(self) -> int:
        return max(self.list.currentRow(), 0)

    def _update_buttons(self) -> None:
        user = self.current_class() > 0
        for b in (self.rename_button, self.colour_button, self.remove_button):
            b.setEnabled(user)

    # ------------------------------------------------------------------ view -> signals
    def _row_changed(self, row: int) -> None:
        self._update_buttons()
        if row >= 0:
            self.currentClassChanged.emit(row)

    def _item_changed(self, item: QtWidgets.QListWidgetItem) -> None:
        cid = int(item.data(Qt.ItemDataRole.UserRole))
        self.visibilityChanged.emit(cid, item.checkState() == Qt.CheckState.Checked)

    def _text_dialog(self, title: str, label: str, text: str) -> QtWidgets.QInputDialog:
        dlg = QtWidgets.QInputDialog(self)
        dlg.setWindowTitle(title)
        dlg.setLabelText(label)
        dlg.setTextValue(text)
        self.dialog = dlg
        return dlg

    def ask_add(self) -> None:
        dlg = self._text_dialog("Add class", "Name of the new class:", f"class {len(self._names)}")
        dlg.textValueSelected.connect(lambda t: self.addRequested.emit(t))
        dlg.open()

    def ask_rename(self) -> None:
        cid = self.current_class()
        if cid <= 0:
            return
        dlg = self._text_dialog("Rename class", "New name:", self._names[cid])
        dlg.textValueSelected.connect(lambda t: self.renameRequested.emit(cid, t))
        dlg.open()

    def ask_recolour(self) -> None:
        cid = self.current_class()
        if cid <= 0:
            return
        dlg = QtWidgets.QColorDialog(QtGui.QColor(*self._colors[cid]), self)
        dlg.colorSelected.connect(
            lambda c: self.recolourRequested.emit(cid, (c.red(), c.green(), c.blue()))
        )
        self.dialog = dlg
        dlg.open()

    def ask_remove(self) -> None:
        cid = self.current_class()
        if cid <= 0:
            return
        targets = ["(no class)"] + [n for i, n in enumerate(self._names) if i not in (0, cid)]
        ids = [0] + [i for i in range(1, len(self._names)) if i != cid]
        dlg = QtWidgets.QInputDialog(self)
        dlg.setWindowTitle("Remove class")
        dlg.setLabelText(f"Remove '{self._names[cid]}'. Move its objects to:")
        dlg.setComboBoxItems(targets)
        dlg.setComboBoxEditable(False)
        dlg.textValueSelected.connect(
            lambda t: self.removeRequested.emit(cid, ids[targets.index(t)])
        )
        self.dialog = dlg
        dlg.open()
