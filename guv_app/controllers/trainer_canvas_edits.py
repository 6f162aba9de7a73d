"""Canvas gestures and Edit-menu commands of the Trainer -> label document edits.

A trace adds an object, a click selects (Ctrl deletes, Shift assigns the current class), a
brush or erase stroke is one undo step however long it is, the lasso/rectangle tools select
or delete objects that lie mostly inside, the split line cuts one object in two, and Delete /
Merge / Fill holes act on the selection. The edits themselves are the label document's
(:mod:`guv_app.services.annotation`); this part only turns gestures into those calls and says
in the status bar what happened (or why nothing did). What is drawn on screen follows from
the document's events in :mod:`~guv_app.controllers.trainer_controller`.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from PyQt6 import QtCore

from guv_app.services.annotation import raster
from guv_app.views.busy import busy_cursor
from guv_app.views.trainer.canvas import Tool

log = logging.getLogger(__name__)


class CanvasEdits(QtCore.QObject):
    """Turns the canvas's gestures and the selection commands into document edits.

    ``ctl`` is the Trainer (its ``doc``, ``canvas``, ``window``, the ``overwrite`` switch,
    ``guard`` for refused edits, and its ``regions`` / ``links`` parts).
    """

    def __init__(self, ctl: Any) -> None:
        super().__init__(ctl)
        self.ctl = ctl
        self.doc = ctl.doc
        self.canvas = ctl.canvas
        self.window = ctl.window
        self._stroke_label: int | None = None
        self._stroke_last: tuple[float, float] | None = None
        self._erased: set[int] = set()  # objects an erase stroke touched
        c, a = self.canvas, self.window.actions
        c.traceFinished.connect(self.on_trace)
        c.clicked.connect(self.on_click)
        c.strokeStarted.connect(self.on_stroke_start)
        c.strokeMoved.connect(self.on_stroke_move)
        c.strokeFinished.connect(self.on_stroke_end)
        c.shapeFinished.connect(self.on_shape)
        a["delete"].triggered.connect(self.delete_selected)
        a["merge"].triggered.connect(self.merge_selected)
        a["fill_holes"].triggered.connect(self.fill_holes_selected)

    # ---------------------------------------------------------------- gestures
    def on_trace(self, points: np.ndarray) -> int:
        return self.doc.add_polygon(points, overwrite=self.ctl.overwrite)

    def on_click(self, x: float, y: float, modifiers) -> None:
        from PyQt6.QtCore import Qt

        if self.ctl.links.on_click(x, y, modifiers):  # link mode picks objects, edits nothing
            return
        obj = self.doc.label_at(x, y)
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            if obj:
                self.doc.delete([obj])
        elif modifiers & Qt.KeyboardModifier.ShiftModifier:
            targets = {obj} if obj else set()
            if obj in self.doc.selected:
                targets = set(self.doc.selected)
            if targets:
                self.ctl.guard(self.doc.assign_class, targets, self.doc.current_class)
        else:
            self.doc.set_selection([obj] if obj else [])

    def on_stroke_start(self, x: float, y: float) -> None:
        self.doc.begin_group(self.canvas.tool.value)
        self._erased = set()
        self._stroke_last = (x, y)
        if self.canvas.tool == Tool.BRUSH:
            under = self.doc.label_at(x, y)
            self._stroke_label = under or None
        self._stroke_segment([(x, y)])

    def on_stroke_move(self, x: float, y: float) -> None:
        if self._stroke_last is None:
            return
        self._stroke_segment([self._stroke_last, (x, y)])
        self._stroke_last = (x, y)

    def on_stroke_end(self) -> None:
        self._stroke_last = None
        self._stroke_label = None
        split = self.doc.separate_parts(self._erased) if self._erased else {}
        self._erased = set()
        self.doc.end_group()
        if split:  # an erase cut objects in pieces: each piece is now its own object
            desc = "; ".join(f"object {k} -> {k} and {', '.join(map(str, v))}"
                             for k, v in list(split.items())[:3])
            self.window.statusBar().showMessage(
                f"Erase cut {len(split)} object(s) apart, the pieces are separate objects: "
                f"{desc}", 8000)

    def _stroke_segment(self, pts: list[tuple[float, float]]) -> None:
        arr = np.asarray(pts, np.float64)
        r = self.canvas.brush_radius
        if self.canvas.tool == Tool.ERASE:
            hit = raster.stroke_mask(arr, r, self.doc.shape)
            if hit is not None:
                vals = self.doc.masks[hit[0]][hit[1]]
                self._erased.update(np.unique(vals[vals > 0]).tolist())
            self.doc.erase(arr, r)
        else:
            self._stroke_label = self.doc.paint(
                arr, r, self._stroke_label, overwrite=self.ctl.overwrite
            ) or None

    def on_shape(self, tool: str, points: np.ndarray) -> None:
        tool = Tool(tool)
        if tool in (Tool.LASSO_SELECT, Tool.RECT_SELECT):
            found = self.doc.objects_in_polygon(points)
            self.doc.set_selection(found)
            self.window.statusBar().showMessage(
                f"{len(found)} object(s) selected" if found else
                "No object lies mostly inside the shape: nothing selected", 4000)
        elif tool == Tool.LASSO_DELETE:
            with busy_cursor():
                gone = self.doc.lasso_delete(points)
            self.window.statusBar().showMessage(
                f"Deleted {len(gone)} object(s) (Ctrl+Z undoes)" if gone else
                "No object lies mostly inside the lasso: nothing deleted", 4000)
        elif tool in (Tool.REGION_RECT, Tool.REGION_POLY):
            self.ctl.regions.add(points)
        elif tool == Tool.SPLIT:
            pieces = self.doc.split(points)
            if pieces:
                self.window.statusBar().showMessage(
                    f"Split into {len(pieces) + 1} objects", 4000)
            else:
                self.window.statusBar().showMessage(
                    "The split line cuts no object in two: draw it across one object, "
                    "from outside to outside", 8000)

    # ------------------------------------------------------------ commands
    def delete_selected(self) -> None:
        with busy_cursor():
            n = len(self.doc.delete(self.doc.selected))
        if n:
            self.window.statusBar().showMessage(f"Deleted {n} object(s) (Ctrl+Z undoes)", 4000)

    def merge_selected(self) -> None:
        """Merge the selection; merging objects that do not touch is done but said."""
        ids = sorted(self.doc.selected)
        if len(ids) < 2:
            self.window.statusBar().showMessage("Select two or more objects to merge", 4000)
            return
        with busy_cursor():
            parts = self.doc.n_parts(ids)
            target = self.doc.merge(ids)
        if parts > 1:
            self.window.show_message(
                f"Merged {len(ids)} objects that do not touch: object {target} now has "
                f"{parts} separate parts (Ctrl+Z undoes).", error=False)
        else:
            self.window.statusBar().showMessage(f"Merged {len(ids)} objects into {target}", 4000)

    def fill_holes_selected(self) -> None:
        with self.doc.group("fill holes"):
            for obj in sorted(self.doc.selected):
                self.doc.fill_holes(obj)
