"""Trainer controller: owns one window's parts; the image and label document -> screen.

The document (plain Python) owns the labels and undo; the overlay keeps a persistent RGBA
buffer that is recoloured only inside the bounding box of each edit. This module puts the
image's channels (colours, contrast) and the labels (instance / class / caller's colours,
selection) on screen as the document's events come, and shows the pixel under the cursor.
Each feature is a part of its own that the controller owns: gestures and Edit-menu commands
-> document edits (:mod:`~guv_app.controllers.trainer_canvas_edits`), files
(:mod:`~guv_app.controllers.trainer_files`), import/export
(:mod:`~guv_app.controllers.trainer_exchange`), menus, regions, label sets per channel,
links and moving the selection with the arrow keys.
"""

from __future__ import annotations

import dataclasses
import logging
import threading

import numpy as np
from PyQt6 import QtCore

from guv_app.controllers.trainer_canvas_edits import CanvasEdits
from guv_app.controllers.trainer_channels import ChannelLabelSets
from guv_app.controllers.trainer_exchange import LabelExchange
from guv_app.controllers.trainer_files import TrainerFiles
from guv_app.controllers.trainer_links import TrainerLinks
from guv_app.controllers.trainer_menus import TrainerMenus
from guv_app.controllers.trainer_nudge import SelectionNudge
from guv_app.controllers.trainer_regions import TrainingRegions
from guv_app.services.annotation import (
    LabelDocument,
    LabelEvent,
    class_lut,
    instance_lut,
    selection_ids_lut,
)
from guv_app.services.annotation.colors import object_lut
from guv_app.views.busy import busy_cursor
from guv_app.views.trainer.canvas import Tool
from guv_app.views.trainer.composite import (
    ChannelDisplay,
    auto_levels,
    composite,
    default_displays,
    slider_ranges,
)
from guv_app.views.trainer.window import TrainerWindow

log = logging.getLogger(__name__)

_MANY = 64  # above this many changed objects a full redraw is cheaper than per-bbox updates


class TrainerController(QtCore.QObject):
    """Owns one Trainer window, its label document and its file session."""

    def __init__(self, window: TrainerWindow | None = None) -> None:
        window = window or TrainerWindow()
        super().__init__(window)  # timers and workers die with the window
        self.window = window
        self.canvas = self.window.canvas
        self.doc = LabelDocument(shape=(1, 1))
        self.color_by_class = False
        self.overwrite = False
        self.planes: np.ndarray | None = None
        self.displays: list[ChannelDisplay] = []
        self._ranges: list[tuple[float, float]] = []
        self._instance_lut = np.zeros(1, np.uint32)
        self.object_colors: np.ndarray | None = None  # (N, 3) RGB per object id, e.g. tracks
        self._last_selection: set[int] = set()
        self._cursor: tuple[float, float] | None = None
        self._counts_timer = QtCore.QTimer(self)
        self._counts_timer.setSingleShot(True)
        self._counts_timer.setInterval(120)  # counts follow edits, off the edit-to-screen path
        self._counts_timer.timeout.connect(self._refresh_counts)
        self.files = TrainerFiles(self.window, self.doc, self.set_planes, parent=self)
        self.exchange = LabelExchange(self)  # File ▸ Import / Export labels
        self.files.open_seg = self.exchange.open_seg  # a _seg.npy opens its image
        self.files.import_labels = self.exchange.import_path  # dropped RoiSet / GeoJSON
        self.menus = TrainerMenus(self)  # open folder, recent files, help, habits
        self.regions = TrainingRegions(self)  # training-region tools (outlines, not objects)
        self.channels = ChannelLabelSets(self)  # label sets per channel (issue 14)
        self.links = TrainerLinks(self)  # links across channels (issue 14), after channel sets
        self.nudge = SelectionNudge(self)  # arrow keys move the selected objects
        self.edits = CanvasEdits(self)  # canvas gestures, Delete / Merge / Fill holes
        self.doc.events.connect(self._on_doc_event)
        self._connect()
        self.canvas.set_brush_radius(self.window.tool_panel.brush_size.value() / 2)
        self._on_doc_event(LabelEvent("reset"))

    # ----------------------------------------------------------------- wiring
    def _connect(self) -> None:
        w, c, a = self.window, self.canvas, self.window.actions
        c.cursorMoved.connect(self.on_cursor)
        a["undo"].triggered.connect(self.doc.undo)
        a["redo"].triggered.connect(self.doc.redo)
        a["assign"].triggered.connect(
            lambda: self.guard(self.doc.assign_class, self.doc.selected, self.doc.current_class)
        )
        a["select_none"].triggered.connect(lambda: self.doc.set_selection([]))
        a["color_by_class"].toggled.connect(self.set_color_by_class)
        a["cycle_masks"].triggered.connect(self.cycle_masks)
        a["zoom_in"].triggered.connect(lambda: c.zoom(1.25))
        a["zoom_out"].triggered.connect(lambda: c.zoom(0.8))
        a["fit"].triggered.connect(c.fit)
        a["brush_bigger"].triggered.connect(lambda: self._step_brush(+2))
        a["brush_smaller"].triggered.connect(lambda: self._step_brush(-2))
        a["close"].triggered.connect(w.close)
        for k in range(1, 10):
            a[f"class_{k}"].triggered.connect(lambda _=False, k=k: self.pick_class(k))
        for tool in Tool:
            a[f"tool_{tool.value}"].triggered.connect(lambda _=False, t=tool: self.set_tool(t))
        tp = w.tool_panel
        tp.toolChanged.connect(self.set_tool)
        tp.brushSizeChanged.connect(lambda v: c.set_brush_radius(v / 2))
        tp.overwriteChanged.connect(lambda v: setattr(self, "overwrite", bool(v)))
        tp.overlayModeChanged.connect(self.set_overlay_mode)
        tp.opacityChanged.connect(c.overlay.set_opacity)
        tp.colorByClassChanged.connect(a["color_by_class"].setChecked)
        cp = w.class_panel
        cp.currentClassChanged.connect(lambda k: self.guard(self.doc.set_current_class, k))
        cp.addRequested.connect(self.add_class)
        cp.renameRequested.connect(lambda k, n: self.guard(self.doc.rename_class, k, n))
        cp.recolourRequested.connect(lambda k, col: self.guard(self.doc.recolour_class, k, col))
        cp.removeRequested.connect(lambda k, to: self.guard(self.doc.remove_class, k, to))
        cp.visibilityChanged.connect(lambda k, v: self.guard(self.doc.set_class_visible, k, v))
        ch = w.channel_panel
        ch.displayChanged.connect(self.set_displays)
        ch.autoContrastRequested.connect(self.auto_contrast)

    def guard(self, fn, *args) -> None:
        """Run a document edit; a refused edit (bad name, bad id) becomes a message."""
        try:
            fn(*args)
        except ValueError as exc:
            self.window.show_message(str(exc))

    # ---------------------------------------------------------------- display
    def set_planes(self, planes: np.ndarray, *, new_image: bool) -> None:
        """Show a (C, Y, X) plane; contrast is reset for a new image, kept for Z/T moves."""
        self.planes = planes
        if new_image or len(self.displays) != planes.shape[0]:
            self.displays = default_displays(planes)
            self._ranges = slider_ranges(planes)
            self._show_channels()
        else:  # another Z/T plane: widen the sliders if it holds values beyond them
            wider = slider_ranges(planes, self._ranges)
            if wider != self._ranges:
                self._ranges = wider
                self._show_channels()
        self.canvas.set_image(composite(planes, self.displays), keep_view=not new_image)
        self._refresh_readout()

    def _refresh_readout(self) -> None:
        """Pixel readout follows the image under a still mouse (new image, plane, labels)."""
        if self._cursor is None:
            self.window.cursor_label.setText("")
        else:
            self.on_cursor(*self._cursor)

    def _show_channels(self) -> None:
        names = self.files.channel_names(len(self.displays))
        self.window.channel_panel.set_channels(names, self.displays, self._ranges)

    def set_displays(self, displays: list[ChannelDisplay]) -> None:
        self.displays = displays
        if self.planes is not None:
            self.canvas.set_image(composite(self.planes, displays), keep_view=True)

    def auto_contrast(self) -> None:
        """Percentile min/max per channel; colours and visibility stay the user's."""
        if self.planes is None:
            return
        self.displays = [dataclasses.replace(d, low=lo, high=hi) for d, (lo, hi) in
                         zip(self.displays, map(auto_levels, self.planes), strict=True)]
        self._show_channels()
        self.canvas.set_image(composite(self.planes, self.displays), keep_view=True)

    def pick_class(self, k: int) -> None:
        """Number key k: class k becomes the current class (when it exists)."""
        if k < len(self.doc.class_table):
            self.doc.set_current_class(k)
            self.window.class_panel.list.setCurrentRow(k)
            self.window.statusBar().showMessage(
                f"Current class: {self.doc.class_table.names[k]}", 2000)
        else:
            self.window.statusBar().showMessage(f"There is no class {k}", 2000)

    def set_overlay_mode(self, mode: str) -> None:
        with busy_cursor():
            self.canvas.overlay.set_mode(mode)

    def set_color_by_class(self, on: bool) -> None:
        self.color_by_class = bool(on)
        tp = self.window.tool_panel.color_by_class
        if tp.isChecked() != self.color_by_class:
            blocker = QtCore.QSignalBlocker(tp)
            tp.setChecked(self.color_by_class)
            del blocker
        with busy_cursor():
            self._rebuild_lut()

    def cycle_masks(self) -> None:
        combo = self.window.tool_panel.mode
        combo.setCurrentIndex((combo.currentIndex() + 1) % combo.count())

    def set_tool(self, tool: Tool | str) -> None:
        tool = Tool(tool)
        self.canvas.set_tool(tool)
        self.window.tool_panel.set_tool(tool)

    def _step_brush(self, step: int) -> None:
        sb = self.window.tool_panel.brush_size
        sb.setValue(sb.value() + step)

    def set_object_colors(self, colors: np.ndarray | None) -> None:
        """Colour objects by a caller's table (RGB per object id, e.g. their track's);
        ids beyond it are grey. None goes back to instance / class colours."""
        self.object_colors = None if colors is None else np.asarray(colors, np.uint8)
        self._rebuild_lut()

    def _lut(self) -> np.ndarray:
        lookup = self.doc.class_lookup
        table = self.doc.class_table
        if self.object_colors is not None:
            base = object_lut(len(lookup), self.object_colors)
        elif self.color_by_class:
            base = class_lut(lookup, table)
        else:
            if len(self._instance_lut) < len(lookup):
                self._instance_lut = instance_lut(max(len(lookup), 2 * len(self._instance_lut)))
            base = self._instance_lut[: len(lookup)].copy()
        return selection_ids_lut(base, lookup, table, self.doc.selected)

    def _rebuild_lut(self) -> None:
        self.canvas.overlay.set_lut(self._lut())

    def _update_ids(self, ids: np.ndarray | list[int]) -> None:
        """Recolour the pixels of some objects (LUT already updated)."""
        ids = [int(i) for i in ids]
        if len(ids) > _MANY:
            self.canvas.overlay.redraw()
            return
        for i in ids:
            sl = self.doc.bbox_of(i)
            if sl is not None:
                self.canvas.overlay.update_region(sl)

    # ------------------------------------------------------- document events
    def _on_doc_event(self, ev: LabelEvent) -> None:
        ov = self.canvas.overlay
        if ev.kind == "labels":
            if self._last_selection - self.doc.selected:  # deleted objects lose highlight
                self._last_selection = set(self.doc.selected)
                ov.set_lut(self._lut(), redraw=False)
            if ev.ids is not None and len(ev.ids) and not ov.covers(int(ev.ids.max())):
                ov.set_lut(self._lut(), redraw=False)  # new ids only inside this edit's box
            ov.update_region(ev.slices, cleared=ev.cleared)
            self._counts_timer.start()
        elif ev.kind == "classes":
            if self.color_by_class:
                ov.set_lut(self._lut(), redraw=False)
                self._update_ids(ev.ids if ev.ids is not None else [])
            self._counts_timer.start()
        elif ev.kind == "selection":
            ov.set_lut(self._lut(), redraw=False)
            self._update_ids(sorted(self._last_selection | self.doc.selected))
            self._last_selection = set(self.doc.selected)
            self._show_selected()
        elif ev.kind in ("table", "reset"):
            if ev.kind == "reset":
                self._last_selection = set()
                ov.set_labels(self.doc.masks, self._lut())
                self._show_selected()
                self._refresh_readout()
            else:
                self._rebuild_lut()
            self._refresh_classes()
        elif ev.kind == "state":
            self._refresh_state()

    def _refresh_classes(self) -> None:
        t = self.doc.class_table
        self.window.class_panel.set_classes(
            t.names, t.colors, t.visible, self.doc.counts_per_class().tolist(),
            self.doc.current_class,
        )

    def _refresh_counts(self) -> None:
        self.window.class_panel.set_counts(self.doc.counts_per_class().tolist())
        self._show_selected()

    def _show_selected(self) -> None:
        n = len(self.doc.selected)
        self.window.selection_label.setText(f"{n} selected" if n else "")

    def _refresh_state(self) -> None:
        a = self.window.actions
        a["undo"].setEnabled(self.doc.can_undo)
        a["redo"].setEnabled(self.doc.can_redo)
        self.window.setWindowModified(self.doc.dirty)
        self.files.on_state_changed()

    # ---------------------------------------------------------------- gestures
    def on_click(self, x: float, y: float, modifiers) -> None:
        """A click on the canvas at image pixel (x, y): see :meth:`CanvasEdits.on_click`."""
        self.edits.on_click(x, y, modifiers)

    # ------------------------------------------------------------- readout
    def on_cursor(self, x: float, y: float) -> None:
        self._cursor = (x, y)
        r, c = int(np.floor(y)), int(np.floor(x))
        if self.planes is None or not (0 <= r < self.planes.shape[1] and 0 <= c < self.planes.shape[2]):
            self.window.cursor_label.setText("")
            return
        vals = ", ".join(f"{v:g}" for v in self.planes[:, r, c].tolist())
        obj = self.doc.label_at(x, y)
        cls = self.doc.class_table.names[self.doc.class_of(obj)] if obj else ""
        text = f"x={c} y={r}  value=[{vals}]  object={obj}"
        self.window.cursor_label.setText(text + (f" ({cls})" if obj and cls != "background" else ""))

    # ------------------------------------------------------------ commands
    def add_class(self, name: str) -> int:
        try:
            return self.doc.add_class(name)
        except ValueError as exc:
            self.window.show_message(str(exc))
            return 0
        finally:
            self._refresh_classes()

    def accept_prediction(self, masks: np.ndarray, classes: np.ndarray | None = None,
                          class_names: list[str] | None = None,
                          class_colors: list | None = None) -> None:
        """Hook for the model tools: take a prediction into the labels as one undo step."""
        self.doc.accept_prediction(masks, classes, class_names, class_colors)

    def show(self) -> None:
        self.menus.restore_layout()
        self.window.show()
        self.canvas.setFocus()
        self.menus.show_first_run_hint()
        # scipy.ndimage (~0.4 s) is needed by the first delete/fill/split, not to show the
        # window: import it in the background once the window is up
        QtCore.QTimer.singleShot(
            1500,
            lambda: threading.Thread(target=_warm_imports, name="warm-imports", daemon=True).start(),
        )


def _warm_imports() -> None:
    import scipy.ndimage  # noqa: F401
