"""Training regions in the Trainer: drawn with the region tools, shown as outlines.

A region marks a fully labelled part of a large image; training then only learns inside
the regions (see :mod:`guv_app.services.datasets.region_sources`). Regions are not objects:
they are saved at once as ``<stem>_regions.geojson`` beside the image, never in the labels,
and drawn as dashed outlines over the masks.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PyQt6 import QtCore, QtGui

from guv_app.services.datasets import region_sources

if TYPE_CHECKING:
    from guv_app.controllers.trainer_parts import TrainerParts

log = logging.getLogger(__name__)


class TrainingRegions(QtCore.QObject):
    """Regions of the open image: add (tools), remove last, clear; saved immediately."""

    def __init__(self, ctl: TrainerParts) -> None:
        super().__init__(ctl)
        self.ctl = ctl
        self.window = ctl.window
        self.polygons: list[np.ndarray] = []
        self._path: Path | None = None
        self.undo_action = QtGui.QAction("Remove last training region", ctl.window)
        self.undo_action.setObjectName("action_region_remove_last")
        self.clear_action = QtGui.QAction("Clear training regions", ctl.window)
        self.clear_action.setObjectName("action_region_clear")
        self.undo_action.triggered.connect(self.remove_last)
        self.clear_action.triggered.connect(self.clear)
        edit = ctl.window.menus.get("Edit")
        if edit is not None:
            edit.addSeparator()
            edit.addAction(self.undo_action)
            edit.addAction(self.clear_action)
        ctl.doc.events.connect(self._on_doc_event)

    def _on_doc_event(self, ev) -> None:
        if ev.kind == "reset" and self.ctl.files.path != self._path:
            self.load()

    def load(self) -> None:
        self._path = self.ctl.files.path
        self.polygons = region_sources.region_polygons(self._path) if self._path else []
        self._show()

    def add(self, points_xy: np.ndarray) -> bool:
        """Add a region (an (N, 2) x, y outline; a rectangle has 4 corners)."""
        path = self.ctl.files.path
        pts = np.asarray(points_xy, np.float64)
        if path is None or len(pts) < 3:
            return False
        h, w = self.ctl.doc.shape
        pts = np.column_stack([np.clip(pts[:, 0], 0, w), np.clip(pts[:, 1], 0, h)])
        span = pts.max(axis=0) - pts.min(axis=0)
        if span.min() < 2:
            self.window.statusBar().showMessage("Region too small: drag a larger area", 4000)
            return False
        self.polygons.append(pts)
        if self._save():
            self.window.statusBar().showMessage(
                f"Training region added ({len(self.polygons)} on this image; training only "
                "learns inside regions)", 6000)
            return True
        self.polygons.pop()
        return False

    def remove_last(self) -> None:
        if self.polygons:
            self.polygons.pop()
            self._save()

    def clear(self) -> None:
        if self.polygons:
            self.polygons = []
            self._save()

    def _save(self) -> bool:
        try:
            region_sources.write_region_polygons(self.ctl.files.path, self.polygons)
        except OSError as exc:
            self.window.show_message(f"Could not save the training regions of "
                                     f"{self.ctl.files.path.name}: {exc}")
            return False
        self._show()
        return True

    def _show(self) -> None:
        self.ctl.canvas.set_regions(self.polygons)
        self.undo_action.setEnabled(bool(self.polygons))
        self.clear_action.setEnabled(bool(self.polygons))
