"""The Trainer's per-link table: a dock filled from ``linking.link_table``, exported as CSV,
whose rows select their object. Part of :mod:`guv_app.controllers.trainer_links`."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

from guv_app.services.linking import LinkSet, link_table
from guv_app.views.trainer.link_table import LinkTableDock


class LinksState(Protocol):
    """What the table reads of ``trainer_links.TrainerLinks`` (a protocol: no import cycle)."""

    links: LinkSet
    active: int | None
    ctl: Any
    window: Any

    def visible(self) -> LinkSet: ...
    def channels(self) -> list[int]: ...
    def masks_of(self, channel: int | None) -> np.ndarray | None: ...


class LinkTable(QtCore.QObject):
    """Owns the dock; ``action`` (Links ▸ Link table) shows and hides it."""

    def __init__(self, links: LinksState, action: QtGui.QAction) -> None:
        super().__init__(links)
        self.links = links
        self.window = links.window
        self.action = action
        self.table: dict[str, np.ndarray] = {}  # what the dock shows
        self.dock = LinkTableDock(self.window)
        self.window.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()
        self.dock.linkActivated.connect(self.show_link)
        self.dock.exportRequested.connect(lambda: self.export_table())
        self.ask_save_path = self._ask_save_path  # tests replace it
        action.toggled.connect(self.dock.setVisible)
        self.dock.visibilityChanged.connect(self._dock_shown)

    def _dock_shown(self, on: bool) -> None:
        act = self.action
        if act.isChecked() != on:
            blocker = QtCore.QSignalBlocker(act)
            act.setChecked(on)
            del blocker
        if on:
            self.fill()

    def fill(self, visible: LinkSet | None = None) -> None:
        links = self.links
        visible = links.visible() if visible is None else visible
        masks = {c: links.masks_of(c) for c in links.channels()}
        table = link_table(visible, {c: m for c, m in masks.items() if m is not None})
        chans = sorted({int(k.split("_")[1]) for k in table if k.startswith("mask_")})
        columns = ["link_id"] + [f"mask_{c}" for c in chans] + ["iou"] + [
            f"centroid_{a}_{c}" for c in chans for a in ("x", "y")]
        self.table = {k: table[k] for k in columns if k in table}
        self.dock.set_table(self.table, list(self.table))

    def _ask_save_path(self) -> str | None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self.window, "Export link table", "", "CSV files (*.csv)")
        return path or None

    def export_table(self, path=None):
        """Write the per-link table shown in the dock as CSV (atomically); the path or None."""
        from guv_app.services.measurement.tables import write_csv

        self.fill()
        path = path or self.ask_save_path()
        if not path:
            return None
        try:
            out = write_csv(path, [self.table])
        except OSError as exc:
            self.window.show_message(f"Could not write {path}: {exc}")
            return None
        self.window.statusBar().showMessage(f"Wrote {out.name}", 4000)
        return out

    def show_link(self, link_id: int) -> None:
        """Select the active channel's object of a link and centre the view on it."""
        active = self.links.active
        members = self.links.links.groups.get(int(link_id), {})
        obj = members.get(active) if active is not None else None
        if not obj:
            return
        doc = self.links.ctl.doc
        doc.set_selection([obj])
        sl = doc.bbox_of(obj)
        if sl is not None:
            cy, cx = (sl[0].start + sl[0].stop) / 2, (sl[1].start + sl[1].stop) / 2
            vb = self.links.ctl.canvas.vb
            (x0, x1), (y0, y1) = vb.viewRange()
            vb.translateBy(x=cx - (x0 + x1) / 2, y=cy - (y0 + y1) / 2)
