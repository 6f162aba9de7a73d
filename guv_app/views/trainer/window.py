"""The Trainer main window: canvas in the middle, panels on the right, menus and keys.

Only layout and actions live here; the controller connects ``window.actions[name]`` and the
panels' signals to the label document and the file layer.
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt6 import QtCore, QtGui, QtWidgets

from guv_app.views.input_guards import NO_TYPE_AHEAD, install_input_guards
from guv_app.views.trainer.canvas import LabelCanvas
from guv_app.views.trainer.channel_panel import ChannelPanel
from guv_app.views.trainer.class_panel import ClassPanel
from guv_app.views.trainer.tool_panel import TOOL_LABELS, ToolPanel

Qt = QtCore.Qt

# name, menu, text, shortcuts, scope ("window": whenever the window is active -- letter and
# digit keys, which text fields and spin boxes still receive first; "canvas": only while the
# image has focus -- arrows, Delete, Page keys, which lists and spin boxes need)
ACTIONS: list[tuple[str, str, str, tuple[str, ...], str]] = [
    ("open", "File", "Open image…", ("Ctrl+O",), "window"),
    ("open_folder", "File", "Open folder…", ("Ctrl+Shift+O",), "window"),
    ("save", "File", "Save labels", ("Ctrl+S",), "window"),
    ("import_labels", "File", "Import labels…", ("Ctrl+I",), "window"),
    ("export_labels", "File", "Export labels…", ("Ctrl+E",), "window"),
    ("export_all_labels", "File", "Export labels of all labelled planes…", ("Ctrl+Shift+E",),
     "window"),
    ("export_cellpose", "File", "Export plane for Cellpose (image + _seg.npy)…", (), "window"),
    ("next", "File", "Next image in folder", ("Right",), "canvas"),
    ("prev", "File", "Previous image in folder", ("Left",), "canvas"),
    ("autosave", "File", "Autosave", (), "window"),
    ("close", "File", "Close", ("Ctrl+W",), "window"),
    ("undo", "Edit", "Undo", ("Ctrl+Z",), "window"),
    ("redo", "Edit", "Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "window"),
    ("delete", "Edit", "Delete selected objects", ("Delete", "Backspace"), "canvas"),
    ("merge", "Edit", "Merge selected objects", ("M",), "window"),
    ("fill_holes", "Edit", "Fill holes of selected objects", ("F",), "window"),
    ("assign", "Edit", "Give selected objects the current class", ("A",), "window"),
    ("select_none", "Edit", "Clear selection", ("Ctrl+Shift+A",), "window"),
    ("brush_bigger", "Edit", "Bigger brush", ("]",), "window"),
    ("brush_smaller", "Edit", "Smaller brush", ("[",), "window"),
    ("color_by_class", "View", "Colour by class", ("C",), "window"),
    ("cycle_masks", "View", "Masks: filled / outlines / hidden", ("O",), "window"),
    ("zoom_in", "View", "Zoom in", ("+", "="), "canvas"),
    ("zoom_out", "View", "Zoom out", ("-",), "canvas"),
    ("fit", "View", "Fit image", ("0",), "canvas"),
    ("z_next", "View", "Next Z plane", ("PgUp",), "canvas"),
    ("z_prev", "View", "Previous Z plane", ("PgDown",), "canvas"),
    ("t_next", "View", "Next time point", (".",), "canvas"),
    ("t_prev", "View", "Previous time point", (",",), "canvas"),
    ("run_model", "Model", "Run model on image (not available yet)", (), "window"),
    ("train", "Model", "Train model… (not available yet)", ("Ctrl+T",), "window"),
]


class TrainerWindow(QtWidgets.QMainWindow):
    filesDropped = QtCore.pyqtSignal(list)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("MultiCellPose Trainer[*]")
        self.setAcceptDrops(True)
        self.resize(1280, 860)
        self.canvas = LabelCanvas()
        self.setCentralWidget(self.canvas)
        self.class_panel = ClassPanel()
        self.tool_panel = ToolPanel()
        self.channel_panel = ChannelPanel()
        side = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(side)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        lay.addWidget(self.class_panel, 1)  # spare height goes to the class list
        lay.addWidget(self.tool_panel)
        lay.addWidget(self.channel_panel)
        self.side_scroll = scroll = QtWidgets.QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(300)
        dock = QtWidgets.QDockWidget("Labels", self)
        dock.setObjectName("trainerSide")
        dock.setWidget(scroll)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.cursor_label = QtWidgets.QLabel()
        self.folder_label = QtWidgets.QLabel()
        self.statusBar().addWidget(self.cursor_label, 1)
        self.selection_label = QtWidgets.QLabel()
        self.selection_label.setObjectName("selection_label")
        self.statusBar().addPermanentWidget(self.selection_label)
        self.statusBar().addPermanentWidget(self.folder_label)
        self.actions: dict[str, QtGui.QAction] = {}
        self._build_actions()
        self.setProperty(NO_TYPE_AHEAD, True)  # letters are tool keys, not list searches
        install_input_guards()
        self.close_guard: Callable[[], bool] | None = None
        self.message_box: QtWidgets.QMessageBox | None = None
        self.question_box: QtWidgets.QMessageBox | None = None

    def _build_actions(self) -> None:
        self.menus: dict[str, QtWidgets.QMenu] = {}
        menus = self.menus
        for name, menu, text, keys, scope in ACTIONS:
            if menu not in menus:
                menus[menu] = self.menuBar().addMenu(menu)
            act = QtGui.QAction(text, self)
            act.setObjectName(f"action_{name}")
            if keys:
                act.setShortcuts([QtGui.QKeySequence(k) for k in keys])
            if scope == "canvas":
                act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                self.canvas.addAction(act)
            menus[menu].addAction(act)
            self.actions[name] = act
        self.actions["autosave"].setCheckable(True)
        self.actions["color_by_class"].setCheckable(True)
        self.actions["run_model"].setEnabled(False)
        self.actions["train"].setEnabled(False)
        tools = menus["Edit"].addMenu("Tool")
        for tool, label, key in TOOL_LABELS:
            act = QtGui.QAction(label, self)
            act.setObjectName(f"action_tool_{tool.value}")
            act.setShortcut(QtGui.QKeySequence(key))
            tools.addAction(act)
            self.actions[f"tool_{tool.value}"] = act
        classes = menus["Edit"].addMenu("Current class")
        for k in range(1, 10):
            act = QtGui.QAction(f"Class {k}", self)
            act.setObjectName(f"action_class_{k}")
            act.setShortcut(QtGui.QKeySequence(str(k)))
            classes.addAction(act)
            self.actions[f"class_{k}"] = act
        help_menu = self.menuBar().addMenu("Help")
        help_menu.setObjectName("menu_help")
        self.help_menu = help_menu

    # ------------------------------------------------------------------ feedback
    def show_message(self, text: str, *, title: str = "MultiCellPose", error: bool = True) -> None:
        """Tell the user something without blocking the window (non-modal box + status)."""
        self.statusBar().showMessage(text, 10000)
        if self.message_box is not None:
            self.message_box.close()
        box = QtWidgets.QMessageBox(self)
        box.setIcon(QtWidgets.QMessageBox.Icon.Warning if error
                    else QtWidgets.QMessageBox.Icon.Information)
        box.setWindowTitle(title)
        box.setText(text)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.destroyed.connect(self._message_gone)
        self.message_box = box
        box.show()

    def ask(self, text: str, choices: list[str], on_answer: Callable[[str | None], None],
            *, title: str = "MultiCellPose") -> QtWidgets.QMessageBox:
        """Ask a question without blocking the event loop (window-modal box).

        ``on_answer`` gets the chosen text of ``choices`` or None for Cancel/close. The box is
        kept in :attr:`question_box` until answered (tests click its buttons).
        """
        box = QtWidgets.QMessageBox(self)
        box.setIcon(QtWidgets.QMessageBox.Icon.Question)
        box.setWindowTitle(title)
        box.setText(text)
        buttons = {box.addButton(c, QtWidgets.QMessageBox.ButtonRole.AcceptRole): c
                   for c in choices}
        box.addButton(QtWidgets.QMessageBox.StandardButton.Cancel)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        answered: list[bool] = []

        def _clicked(button: QtWidgets.QAbstractButton) -> None:
            answered.append(True)
            self.question_box = None
            on_answer(buttons.get(button))

        box.buttonClicked.connect(_clicked)
        box.rejected.connect(lambda: None if answered else _clicked(None))
        self.question_box = box
        box.open()
        return box

    def _message_gone(self) -> None:
        self.message_box = None

    def ask_unsaved(self, name: str) -> str:
        """Blocking question (only when autosave is off): 'save', 'discard' or 'cancel'."""
        Btn = QtWidgets.QMessageBox.StandardButton
        answer = QtWidgets.QMessageBox.question(
            self, "Unsaved labels", f"Save the changes to the labels of {name}?",
            Btn.Save | Btn.Discard | Btn.Cancel, Btn.Save,
        )
        return {Btn.Save: "save", Btn.Discard: "discard"}.get(answer, "cancel")

    # ---------------------------------------------------------------- Qt events
    def closeEvent(self, ev: QtGui.QCloseEvent) -> None:  # noqa: N802
        if self.close_guard is not None and not self.close_guard():
            ev.ignore()
            return
        super().closeEvent(ev)

    def dragEnterEvent(self, ev: QtGui.QDragEnterEvent) -> None:  # noqa: N802
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev: QtGui.QDropEvent) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.filesDropped.emit(paths)
