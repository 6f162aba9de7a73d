"""Links side of the Analyzer: per linked object, one channel's measurement against another's.

Fed by the Analyzer's measurements (``MeasureController.finished``): the rows of label files
with objects linked across channels become one row per link
(``measurement.linked.per_link_table``), shown in the "Links" tab.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6 import QtCore, QtWidgets

from guv_app.plugins.base import Table
from guv_app.services.measurement.linked import is_per_link_table, per_link_table
from guv_app.services.measurement.tables import read_csv
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
        self.ask_open_path: Callable[[], str | None] = self._ask_open_path  # tests replace it
        self.panel.loadRequested.connect(lambda: self.load_csv())

    def _ask_open_path(self) -> str | None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.window, "Load measurements", "", "CSV files (*.csv)")
        return path or None

    def load_csv(self, path: str | Path | None = None) -> bool:
        """Plot a ``measure`` CSV: its rows (``results.csv``) or its per-link table
        (``results_per_link.csv``); a file without links says so and changes nothing."""
        path = path or self.ask_open_path()
        if not path:
            return False
        try:
            table = read_csv(path)
        except (OSError, ValueError) as exc:
            self.window.show_message(f"Could not read {path}: {exc}")
            return False
        wide = table if is_per_link_table(table) else per_link_table(table)
        if not wide:
            self.window.show_message(
                f"{Path(path).name} has no objects linked across channels (no label_channel "
                "and link_id columns with a link): measure label files with links")
            return False
        self.table = wide
        self.panel.set_table(wide)
        return True

    def set_measurements(self, table: Table) -> None:
        """Rows of a measurement (with ``label_channel`` / ``link_id`` where linked)."""
        self.table = per_link_table(table)
        self.panel.set_table(self.table)
