"""File-menu habits of the Trainer: Open dialog filters, Open folder, recent files.

Kept apart from the file session (:mod:`guv_app.controllers.trainer_files`), which only
opens what it is given.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6 import QtCore, QtGui, QtWidgets

from guv_app.controllers.open_dialogs import LAST_DIR_KEY
from guv_app.controllers.trainer_nudge import HELP_ROW

if TYPE_CHECKING:
    from guv_app.controllers.trainer_parts import TrainerParts

RECENT_KEY = "trainer/recent"
MAX_RECENT = 10


HINT_KEY = "trainer/first_run_hint_shown"
LAYOUT_KEY = "trainer/window"
FOLDER_KEY = "trainer/folders"  # per-folder classes and colour-by-class
HINT = ("Right-click to start tracing an object, move around it, right-click again (or "
        "Enter) to close it. Help ▸ Keyboard shortcuts lists every key.")
MOUSE = [
    ("Right-click, move, right-click / Enter", "Trace a new object (Esc cancels)"),
    ("Left-click (Select tool)", "Select an object"),
    ("Ctrl+left-click", "Delete the object under the mouse"),
    ("Shift+left-click", "Give the object (or the selection) the current class"),
    ("Left-drag (Select tool) / wheel", "Pan / zoom"),
    ("1 … 9", "Pick class 1 … 9"),
    HELP_ROW,  # arrows move the selection (trainer_nudge)
]


def _folder_key(folder: Path) -> str:
    import hashlib

    return hashlib.sha1(str(folder.absolute()).encode()).hexdigest()[:16]


class TrainerMenus(QtCore.QObject):
    """Open folder, recent files, Help ▸ Keyboard shortcuts, the first-run hint, and the
    per-folder memory of classes and colour-by-class."""

    def __init__(self, ctl: TrainerParts) -> None:
        super().__init__(ctl)
        self.ctl = ctl
        self.window = w = ctl.window
        self.settings = ctl.files.settings
        self.dialog: QtWidgets.QWidget | None = None
        self._applying = False
        self._last_path: Path | None = None
        w.actions["open_folder"].triggered.connect(self.ask_open_folder)
        file_menu = _menu_of(w.actions["open_folder"])
        self.recent_menu = QtWidgets.QMenu("Open recent", w)
        self.recent_menu.setObjectName("menu_recent")
        if file_menu is not None:
            file_menu.insertMenu(w.actions["save"], self.recent_menu)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self._fill_recent()
        help_menu = w.help_menu
        self.shortcuts_action = QtGui.QAction("Keyboard shortcuts", w)
        self.shortcuts_action.setObjectName("action_shortcuts")
        self.shortcuts_action.setShortcut(QtGui.QKeySequence("F1"))
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        help_menu.addAction(self.shortcuts_action)
        w.addAction(self.shortcuts_action)
        self.hint = QtWidgets.QLabel(HINT, ctl.canvas)
        self.hint.setObjectName("first_run_hint")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("background: rgba(0,0,0,180); color: white; padding: 8px;"
                                " border-radius: 4px;")
        self.hint.setFixedWidth(360)
        self.hint.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.hint.move(12, 12)
        self.hint.hide()
        ctl.canvas.traceFinished.connect(lambda _pts: self.hint.hide())
        ctl.doc.events.connect(self._on_doc_event)
        w.actions["color_by_class"].toggled.connect(self._remember_color_by_class)
        w.installEventFilter(self)

    # ------------------------------------------------------------ window layout
    def restore_layout(self) -> None:
        """Window size/position and dock layout from the last session."""
        geometry = self.settings.value(LAYOUT_KEY + "/geometry")
        state = self.settings.value(LAYOUT_KEY + "/state")
        if isinstance(geometry, QtCore.QByteArray):
            self.window.restoreGeometry(geometry)
        if isinstance(state, QtCore.QByteArray):
            self.window.restoreState(state)

    def save_layout(self) -> None:
        if not self.window.isWindow():  # embedded (Analyzer): its host owns the layout
            return
        self.settings.setValue(LAYOUT_KEY + "/geometry", self.window.saveGeometry())
        self.settings.setValue(LAYOUT_KEY + "/state", self.window.saveState())

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:  # noqa: N802
        # getattr: Qt may still call the filter while Python tears this object down
        window = getattr(self, "window", None)
        if window is not None and obj is window and ev.type() == QtCore.QEvent.Type.Close \
                and ev.isAccepted():
            with contextlib.suppress(AttributeError, RuntimeError):  # (same teardown case)
                self.save_layout()
        return False

    # --------------------------------------------------------------- first run
    def show_first_run_hint(self) -> None:
        """Once per installation: how to trace (right-click), over the canvas."""
        if self.settings.value(HINT_KEY, False, type=bool):
            return
        self.settings.setValue(HINT_KEY, True)
        self.hint.adjustSize()
        self.hint.show()
        self.hint.raise_()
        self.window.statusBar().showMessage(HINT, 15000)
        QtCore.QTimer.singleShot(20000, self.hint.hide)

    # ------------------------------------------------------------ open folder
    def ask_open_folder(self) -> None:

        start = str(self.settings.value(LAST_DIR_KEY, str(Path.home())))
        dlg = QtWidgets.QFileDialog(self.window, "Open folder", start)
        dlg.setFileMode(QtWidgets.QFileDialog.FileMode.Directory)
        dlg.setOption(QtWidgets.QFileDialog.Option.ShowDirsOnly, True)
        dlg.fileSelected.connect(lambda p: self.ctl.files.open_path(Path(p)))
        self.dialog = dlg
        dlg.open()

    # ------------------------------------------------------------ recent files
    def recent(self) -> list[str]:
        value = self.settings.value(RECENT_KEY, [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent(self, path: Path) -> None:
        p = str(Path(path).absolute())
        items = [p] + [r for r in self.recent() if r != p]
        self.settings.setValue(RECENT_KEY, items[:MAX_RECENT])

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        items = self.recent()
        for p in items:
            act = self.recent_menu.addAction(Path(p).name)
            act.setToolTip(p)
            act.setStatusTip(p)
            act.triggered.connect(lambda _=False, p=p: self._open_recent(p))
        self.recent_menu.setEnabled(bool(items))

    def _open_recent(self, p: str) -> None:
        if not Path(p).exists():
            self.window.show_message(f"{p} no longer exists; removed from the recent files.")
            self.settings.setValue(RECENT_KEY, [r for r in self.recent() if r != p])
            return
        self.ctl.files.open_path(Path(p))

    # --------------------------------------------------------------- shortcuts
    def shortcut_rows(self) -> list[tuple[str, str]]:
        """(keys, what) of every action with a shortcut, read from the actions themselves."""
        rows: list[tuple[str, str]] = []
        seen: set[int] = set()
        acts = list(self.window.actions.values()) + self.window.findChildren(QtGui.QAction)
        for act in acts:
            if id(act) in seen or not act.shortcuts():
                continue
            seen.add(id(act))
            keys = ", ".join(s.toString(QtGui.QKeySequence.SequenceFormat.NativeText)
                             for s in act.shortcuts())
            rows.append((keys, act.text().replace("&", "").rstrip("…")))
        return rows + MOUSE

    def show_shortcuts(self) -> QtWidgets.QDialog:
        dlg = QtWidgets.QDialog(self.window)
        dlg.setWindowTitle("Keyboard shortcuts")
        dlg.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        table = QtWidgets.QTableWidget(0, 2, dlg)
        table.setObjectName("shortcut_table")
        table.setHorizontalHeaderLabels(["Keys / mouse", "Does"])
        for keys, text in self.shortcut_rows():
            r = table.rowCount()
            table.insertRow(r)
            table.setItem(r, 0, QtWidgets.QTableWidgetItem(keys))
            table.setItem(r, 1, QtWidgets.QTableWidgetItem(text))
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        lay = QtWidgets.QVBoxLayout(dlg)
        lay.addWidget(table)
        dlg.resize(560, 600)
        self.dialog = dlg
        dlg.show()
        return dlg

    # ------------------------------------------------------- per-folder memory
    def _folder(self) -> Path | None:
        path = self.ctl.files.path
        return path.parent if path is not None else None

    def _key(self, name: str) -> str | None:
        folder = self._folder()
        return f"{FOLDER_KEY}/{_folder_key(folder)}/{name}" if folder is not None else None

    def _remember_color_by_class(self, on: bool) -> None:
        key = self._key("color_by_class")
        if key and not self._applying:
            self.settings.setValue(key, bool(on))

    def _on_doc_event(self, ev) -> None:
        if self._applying:
            return
        if ev.kind == "reset":
            self._on_opened()
        elif ev.kind == "table":
            key = self._key("classes")
            if key:
                t = self.ctl.doc.class_table
                self.settings.setValue(key, [[n, *map(int, c)] for n, c in
                                             zip(t.names, t.colors, strict=True)])

    def _on_opened(self) -> None:
        """A new image (or series) was loaded: recent files, remembered folder settings."""
        path = self.ctl.files.path
        if path is None:
            return
        if path != self._last_path:
            self._last_path = path
            self.add_recent(path)
        self._applying = True
        try:
            key = self._key("color_by_class")
            if key and self.settings.contains(key):
                self.window.actions["color_by_class"].setChecked(
                    self.settings.value(key, False, type=bool))
            self._restore_classes()
        finally:
            self._applying = False

    def _restore_classes(self) -> None:
        from guv_app.services.annotation import ClassTable

        doc = self.ctl.doc
        key = self._key("classes")
        stored = self.settings.value(key, None) if key else None
        if not stored or doc.n_objects or doc.dirty:
            return  # labels on disk bring their own classes
        try:
            names = [str(r[0]) for r in stored]
            colors = [tuple(int(v) for v in r[1:4]) for r in stored]
            table = ClassTable.from_lists(names, colors)
        except (ValueError, TypeError, IndexError):
            return
        if table.names != doc.class_table.names or table.colors != doc.class_table.colors:
            doc.reset(doc.masks.copy(), None, table)


def _menu_of(action: QtGui.QAction) -> QtWidgets.QMenu | None:
    for obj in action.associatedObjects():
        if isinstance(obj, QtWidgets.QMenu):
            return obj
    return None
