"""Tool choice, brush size, overlay display settings."""

from __future__ import annotations

from PyQt6 import QtCore, QtWidgets

from guv_app.views.trainer.canvas import Tool

TOOL_LABELS = [
    (Tool.SELECT, "Select / pan", "S"),
    (Tool.BRUSH, "Brush", "B"),
    (Tool.ERASE, "Erase", "E"),
    (Tool.RECT_SELECT, "Rectangle select", "R"),
    (Tool.LASSO_SELECT, "Lasso select", "L"),
    (Tool.LASSO_DELETE, "Lasso delete", "X"),
    (Tool.SPLIT, "Split", "K"),
    (Tool.REGION_RECT, "Training region: rectangle", "G"),
    (Tool.REGION_POLY, "Training region: polygon", "P"),
]

# short button texts so the seven tools fit two rows of the side panel
SHORT = {Tool.SELECT: "Select", Tool.RECT_SELECT: "Rect", Tool.LASSO_SELECT: "Lasso",
         Tool.LASSO_DELETE: "Lasso del", Tool.REGION_RECT: "Region ▭",
         Tool.REGION_POLY: "Region ⬠"}


class ToolPanel(QtWidgets.QGroupBox):
    toolChanged = QtCore.pyqtSignal(str)
    brushSizeChanged = QtCore.pyqtSignal(int)
    overwriteChanged = QtCore.pyqtSignal(bool)
    overlayModeChanged = QtCore.pyqtSignal(str)
    opacityChanged = QtCore.pyqtSignal(float)
    colorByClassChanged = QtCore.pyqtSignal(bool)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Tools", parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.setSpacing(3)
        grid = QtWidgets.QGridLayout()
        grid.setSpacing(2)
        self.group = QtWidgets.QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[Tool, QtWidgets.QToolButton] = {}
        for i, (tool, label, key) in enumerate(TOOL_LABELS):
            b = QtWidgets.QToolButton()
            b.setText(SHORT.get(tool, label))
            b.setToolTip(f"{label} ({key})")
            b.setCheckable(True)
            b.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
            b.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                            QtWidgets.QSizePolicy.Policy.Fixed)
            b.clicked.connect(lambda _=False, t=tool: self.toolChanged.emit(t.value))
            self.group.addButton(b)
            self.buttons[tool] = b
            grid.addWidget(b, i // 4, i % 4)
        self.buttons[Tool.SELECT].setChecked(True)
        lay.addLayout(grid)
        self.brush_size = QtWidgets.QSpinBox()
        self.brush_size.setRange(1, 200)
        self.brush_size.setValue(8)
        self.brush_size.setToolTip("Brush diameter in pixels ([ and ] change it)")
        self.brush_size.valueChanged.connect(self.brushSizeChanged)
        self.overwrite = QtWidgets.QCheckBox("Paint over others")
        self.overwrite.setToolTip("Brush and traces may take pixels of other objects")
        self.overwrite.toggled.connect(self.overwriteChanged)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Brush"))
        row.addWidget(self.brush_size)
        row.addWidget(self.overwrite, 1)
        lay.addLayout(row)
        self.mode = QtWidgets.QComboBox()
        self.mode.addItems(["filled", "outlines", "hidden"])
        self.mode.setToolTip("Masks: filled / outlines / hidden (O)")
        self.mode.currentTextChanged.connect(self.overlayModeChanged)
        self.opacity = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.setToolTip("Opacity of the masks")
        self.opacity.valueChanged.connect(lambda v: self.opacityChanged.emit(v / 100.0))
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Masks"))
        row.addWidget(self.mode)
        row.addWidget(self.opacity, 1)
        lay.addLayout(row)
        self.color_by_class = QtWidgets.QCheckBox("Colour by class (C)")
        self.color_by_class.toggled.connect(self.colorByClassChanged)
        lay.addWidget(self.color_by_class)

    def set_tool(self, tool: Tool | str) -> None:
        b = self.buttons[Tool(tool)]
        blocker = QtCore.QSignalBlocker(self.group)
        b.setChecked(True)
        del blocker
