"""The Analyzer main window: images and prediction settings left, image or measurements middle.

Layout only; :mod:`guv_app.controllers.analyzer_controller` connects it. The image tab holds
the Trainer's editing view, which the controller hands in with :meth:`set_editor`.
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt6 import QtCore, QtGui, QtWidgets

from guv_app.views.analyzer.file_list import FileList
from guv_app.views.analyzer.inference_panel import InferencePanel
from guv_app.views.analyzer.measure_panel import MeasurePanel
from guv_app.views.analyzer.plot_panel import PlotPanel
from guv_app.views.analyzer.results_table import ResultsTable

Qt = QtCore.Qt


class AnalyzerWindow(QtWidgets.QMainWindow):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("MultiCellPose Analyzer")
        self.resize(1500, 900)
        self.files = FileList()
        self.inference = InferencePanel()
        self.measure = MeasurePanel()
        self.table = ResultsTable()
        self.plots = PlotPanel()

        self.tabs = QtWidgets.QTabWidget()
        self.image_tab = QtWidgets.QWidget()
        QtWidgets.QVBoxLayout(self.image_tab).setContentsMargins(0, 0, 0, 0)
        results = QtWidgets.QSplitter(Qt.Orientation.Vertical)
        results.addWidget(self.table)
        results.addWidget(self.plots)
        results.setSizes([300, 500])
        measure_tab = QtWidgets.QSplitter(Qt.Orientation.Horizontal)
        measure_scroll = QtWidgets.QScrollArea()
        measure_scroll.setWidget(self.measure)
        measure_scroll.setWidgetResizable(True)
        measure_scroll.setMinimumWidth(320)
        measure_tab.addWidget(measure_scroll)
        measure_tab.addWidget(results)
        measure_tab.setStretchFactor(1, 1)
        measure_tab.setSizes([340, 1000])
        self.tabs.addTab(self.image_tab, "Image")
        self.tabs.addTab(measure_tab, "Measurements")
        self.setCentralWidget(self.tabs)

        # left: the images and how to predict them; the image tab keeps the Trainer's panels
        side = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(side)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.files, 1)
        lay.addWidget(self.inference)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(340)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        left = QtWidgets.QDockWidget("Images", self)
        left.setObjectName("analyzerFiles")
        left.setWidget(scroll)
        left.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, left)
        self.resizeDocks([left], [360], Qt.Orientation.Horizontal)
        self.status_label = QtWidgets.QLabel("")
        self.statusBar().addWidget(self.status_label, 1)
        self.close_guard: Callable[[], bool] | None = None

    def set_editor(self, widget: QtWidgets.QWidget) -> None:
        """Put the image editor (the Trainer's view) into the Image tab."""
        self.image_tab.layout().addWidget(widget)

    def show_message(self, text: str, timeout_ms: int = 10000) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def closeEvent(self, ev: QtGui.QCloseEvent) -> None:  # noqa: N802
        if self.close_guard is not None and not self.close_guard():
            ev.ignore()
            return
        super().closeEvent(ev)
