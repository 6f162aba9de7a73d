"""Links side of the Analyzer: per linked object, one channel's measurement against another's.

Fed by the Analyzer's measurements (``MeasureController.finished``): the rows of label files
with objects linked across channels become one row per link
(``measurement.linked.per_link_table``), shown in the "Links" tab.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PyQt6 import QtCore

from guv_app.plugins.base import Table
from guv_app.services.measurement.linked import per_link_table
from guv_app.views.analyzer.link_plot import LinkPlotPanel

if TYPE_CHECKING:
    from guv_app.views.analyzer.window import AnalyzerWindow


class LinkPlotController(QtCore.QObject):
    """Owns the Links tab of one Analyzer window."""

    def __init__(self, window: AnalyzerWindow, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.panel = LinkPlotPanel()
        window.tabs.addTab(self.panel, "Links")
        self.table: Table = {}

    def set_measurements(self, table: Table) -> None:
        """Rows of a measurement (with ``label_channel`` / ``link_id`` where linked)."""
        self.table = per_link_table(table)
        self.panel.set_table(self.table)
