"""Links ▸ link objects across channels in the Trainer (issue 14).

The link set and its rules live in :mod:`guv_app.services.linking`; the label sets per
channel in ``controllers.trainer_channels`` (``ctl.channels.sets``). This module shows the
reference channel's objects as outlines over the active channel's labels, links by hand
(link mode: click an object of the active channel, then its partner in the reference
channel), auto-matches by overlap, draws a line between the centroids of each linked pair
and keeps the per-link table. Every link edit is recorded in the active set's undo history
(one Ctrl+Z), and the links go to the label file's ``associations`` on every save.

Keys: J link mode, Shift+J unlink the selected objects, Ctrl+J next reference channel,
Shift+O reference outlines on/off, Ctrl+Shift+J auto-match.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

from guv_app.controllers.trainer_link_guard import LinkIdentityGuard
from guv_app.controllers.trainer_link_table import LinkTable
from guv_app.services.linking import (
    DEFAULT_IOU_THRESHOLD,
    LinkError,
    LinkSet,
    Member,
    from_associations,
    link,
    match_by_iou,
    replace_channel_pair,
    to_associations,
    unlink,
)
from guv_app.services.linking.match import centroids
from guv_app.views.trainer.link_dialogs import AutoMatchDialog
from guv_app.views.trainer.link_overlay import LinkOverlay

if TYPE_CHECKING:
    from guv_app.controllers.trainer_parts import TrainerParts

log = logging.getLogger(__name__)

ACTIONS = [  # name, text, key, checkable
    ("links_mode", "Link mode: click an object, then its partner in the reference channel",
     "J", True),
    ("links_unlink", "Unlink selected objects", "Shift+J", False),
    ("links_next_reference", "Next reference channel", "Ctrl+J", False),
    ("links_show_reference", "Show the reference channel's objects as outlines", "Shift+O", True),
    ("links_auto", "Auto-match by overlap…", "Ctrl+Shift+J", False),
    ("links_table", "Link table", "", True),
]


class TrainerLinks(QtCore.QObject):
    """Links across channels of the open plane: state, menu, drawing, table, file hooks."""

    def __init__(self, ctl: TrainerParts) -> None:
        super().__init__(ctl)
        self.ctl = ctl
        self.window = w = ctl.window
        self.links = LinkSet()
        self._reference: int | None = None  # the user's choice (see :attr:`reference`)
        self.pending = 0  # the active channel's object picked in link mode
        self._outlined: tuple | None = None  # which reference set the outlines show
        self.guard = LinkIdentityGuard(ctl.doc, self.links, w.statusBar())
        self.threshold = DEFAULT_IOU_THRESHOLD
        self.ask_auto_match = self._ask_auto_match  # tests may answer without the dialog
        self.overlay = LinkOverlay()
        self.overlay.attach(ctl.canvas.vb)
        self.menu = QtWidgets.QMenu("Links", w)
        self.menu.setObjectName("menu_links")
        w.menuBar().insertMenu(w.help_menu.menuAction(), self.menu)
        self.actions: dict[str, QtGui.QAction] = {}
        for name, text, key, checkable in ACTIONS:
            act = QtGui.QAction(text, w)
            act.setObjectName(f"action_{name}")
            if key:
                act.setShortcut(QtGui.QKeySequence(key))
            act.setCheckable(checkable)
            self.menu.addAction(act)
            w.addAction(act)
            w.actions[name] = self.actions[name] = act
        self.actions["links_show_reference"].setChecked(True)
        a = self.actions
        a["links_mode"].toggled.connect(self.set_link_mode)
        a["links_unlink"].triggered.connect(self.unlink_selected)
        a["links_next_reference"].triggered.connect(self.next_reference)
        a["links_show_reference"].toggled.connect(self.overlay.set_outlines_visible)
        a["links_auto"].triggered.connect(lambda: self.auto_match())
        self.table = LinkTable(self, a["links_table"])  # the per-link table dock
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)  # lines and table follow edits, off the edit path
        self._timer.timeout.connect(self.refresh)
        self.links.connect(self._timer.start)
        ctl.doc.events.connect(self._on_doc_event)
        ctl.canvas.installEventFilter(self)  # Esc drops a pending pick
        files = ctl.files  # file hooks of the channel sets (trainer_channels): chain them
        self._loaded_before = getattr(files, "labels_loaded", None)
        self._job_before = getattr(files, "job_hook", None)
        if self._loaded_before is not None:
            files.labels_loaded = self.on_loaded
        if self._job_before is not None:
            files.job_hook = self.add_to_job

    # ------------------------------------------------------------ channel sets
    @property
    def sets(self):
        """The plane's label sets (``channel_sets.LabelSets``), None without them."""
        return getattr(getattr(self.ctl, "channels", None), "sets", None)

    @property
    def active(self) -> int | None:
        sets = self.sets
        return None if sets is None else sets.active

    def channels(self) -> list[int]:
        sets = self.sets
        return [] if sets is None else list(sets.channels())

    def masks_of(self, channel: int | None) -> np.ndarray | None:
        """The label image of ``channel`` (the live one for the active channel)."""
        sets = self.sets
        if sets is None or channel is None or channel not in sets.channels():
            return None
        return sets.document(channel).masks

    def channel_name(self, channel: int | None) -> str:
        ch = getattr(self.ctl, "channels", None)
        if ch is not None and hasattr(ch, "name"):
            return ch.name(channel)
        return "shared set" if channel is None else f"channel {channel + 1}"

    def visible(self) -> LinkSet:
        """The links whose objects all exist (deleted objects hide theirs; undo shows them)."""
        sets = self.sets
        if sets is None:
            return LinkSet()
        return self.links.pruned({c: sets.document(c).object_ids() for c in sets.channels()})

    # --------------------------------------------------------------- file hooks
    def on_loaded(self, seg) -> None:
        if self._loaded_before is not None:
            self._loaded_before(seg)
        sets = self.sets
        try:
            loaded = from_associations(getattr(sets, "associations", None),
                                       source=str(getattr(seg, "path", "") or "labels"))
        except LinkError as exc:
            self.window.show_message(f"{exc}; the links are not shown")
            loaded = LinkSet()
        self.guard.forget()
        self.links.replace_all(loaded)
        self.pending = 0
        self.overlay.set_pick(None)
        self._choose_reference()

    def add_to_job(self, job):
        """Before the channel sets snapshot a save: the links as 0.9's ``associations``."""
        sets = self.sets
        if sets is not None and (len(self.links) or sets.associations is not None):
            sets.associations = to_associations(self.visible())
        return self._job_before(job) if self._job_before is not None else job

    # ----------------------------------------------------------------- drawing
    def _on_doc_event(self, ev) -> None:
        if ev.kind == "reset":  # another plane, or another channel's set became active
            if self.pending:
                self.pending = 0
                self.overlay.set_pick(None)
            self._timer.start()  # the sets say which channel is active once switched
        elif ev.kind == "labels":
            self.guard.check(ev, self.active)
            self._timer.start()

    def _choose_reference(self) -> None:
        self.refresh()

    def _others(self) -> list[int]:
        return [c for c in self.channels() if c != self.active]

    @property
    def reference(self) -> int | None:
        """The channel whose objects are outlined and linked to: the user's choice while it
        is another channel with a label set, else the first such channel (None: none)."""
        others = self._others()
        if self._reference in others:
            return self._reference
        return others[0] if others else None

    @reference.setter
    def reference(self, channel: int | None) -> None:
        self._reference = channel

    def next_reference(self) -> None:
        others = self._others()
        if not others:
            self.window.statusBar().showMessage(
                "No other channel has a label set: label one (Edit ▸ Label sets) to link to it",
                5000)
            return
        k = others.index(self.reference) + 1 if self.reference in others else 0
        self._reference = others[k % len(others)]
        self.refresh()
        self.window.statusBar().showMessage(
            f"Reference: {self.channel_name(self.reference)} (yellow outlines)", 4000)

    def refresh(self) -> None:
        """Reference outlines, link lines and the table follow the current state."""
        ref = self.masks_of(self.reference) if self.active is not None else None
        # outlining a large image costs tens of ms: only when the reference set changed
        # (its array, or an edit while it was the active set: the version travels with it)
        key = None if ref is None else (
            id(ref), self.sets.document(self.reference).version, ref.shape)
        if key != self._outlined:
            self._outlined = key
            self.overlay.set_reference(ref, self.actions["links_show_reference"].isChecked())
        visible = self.visible()
        active = self.active
        start, end = np.zeros((0, 2)), np.zeros((0, 2))
        if active is not None and ref is not None:
            pairs = [(m[active], m[self.reference]) for m in visible.groups.values()
                     if active in m and self.reference in m]
            if pairs:
                a_ids, r_ids = (np.array(p, np.int64) for p in zip(*pairs, strict=True))
                start = centroids(self.ctl.doc.masks, a_ids)[:, ::-1]
                end = centroids(ref, r_ids)[:, ::-1]
        self.overlay.set_lines(start, end)
        self.guard.remember(self.active)
        if self.table.dock.isVisible():
            self.table.fill(visible)

    # ----------------------------------------------------------------- editing
    def _can_link(self) -> bool:
        if self.sets is None or self.active is None:
            self.window.statusBar().showMessage(
                "Links join objects of two channels: label each channel separately first "
                "(Edit ▸ Label sets, Ctrl+Shift+L)", 6000)
            return False
        if self.reference is None or self.masks_of(self.reference) is None:
            self.window.statusBar().showMessage(
                f"No other channel has a label set to link the {self.channel_name(self.active)}"
                " with: label another channel first (Edit ▸ Label sets)", 6000)
            return False
        return True

    def set_link_mode(self, on: bool) -> None:
        self.pending = 0
        self.overlay.set_pick(None)
        if on and not self._can_link():
            blocker = QtCore.QSignalBlocker(self.actions["links_mode"])
            self.actions["links_mode"].setChecked(False)
            del blocker
            return
        if on:
            self.window.statusBar().showMessage(
                f"Link mode: click an object of the {self.channel_name(self.active)}, then "
                f"its partner in the {self.channel_name(self.reference)} (yellow outlines); "
                "J leaves link mode", 8000)

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 (Qt naming)
        if (self.pending and ev.type() == QtCore.QEvent.Type.KeyPress
                and ev.key() == QtCore.Qt.Key.Key_Escape):
            self.pending = 0
            self.overlay.set_pick(None)
            self.window.statusBar().showMessage("Pick dropped: click an object to link", 4000)
            return True
        return super().eventFilter(obj, ev)

    @property
    def link_mode(self) -> bool:
        return self.actions["links_mode"].isChecked()

    def on_click(self, x: float, y: float, modifiers=None) -> bool:
        """A canvas click in link mode (True: handled; the Trainer does nothing else)."""
        if not self.link_mode:
            return False
        if not self._can_link():
            return True
        doc, bar = self.ctl.doc, self.window.statusBar()
        r, c = int(np.floor(y)), int(np.floor(x))
        if not self.pending:
            obj = doc.label_at(x, y)
            if not obj:
                bar.showMessage(f"Click an object of the {self.channel_name(self.active)}",
                                4000)
                return True
            self.pending = obj
            doc.set_selection([obj])
            cen = centroids(doc.masks, np.array([obj]))[0]
            self.overlay.set_pick((cen[1], cen[0]))
            bar.showMessage(f"Object {obj} picked: now click its partner in the "
                            f"{self.channel_name(self.reference)}", 8000)
            return True
        ref = self.masks_of(self.reference)
        h, w = ref.shape
        partner = int(ref[r, c]) if 0 <= r < h and 0 <= c < w else 0
        if not partner:
            bar.showMessage(f"Click an object of the {self.channel_name(self.reference)} "
                            "(yellow outlines) to link object "
                            f"{self.pending} to", 5000)
            return True
        obj, self.pending = self.pending, 0
        self.overlay.set_pick(None)
        oid = link(self.links, Member(self.active, obj), Member(self.reference, partner),
                   record=doc)
        bar.showMessage(f"Linked object {obj} of the {self.channel_name(self.active)} with "
                        f"object {partner} of the {self.channel_name(self.reference)} "
                        f"(link {oid}; Ctrl+Z undoes)", 6000)
        self.refresh()
        return True

    def unlink_selected(self) -> int:
        if self.active is None:
            return 0
        doc = self.ctl.doc
        n = 0
        with doc.group("unlink"):
            for obj in sorted(doc.selected):
                n += unlink(self.links, Member(self.active, int(obj)), record=doc)
        self.window.statusBar().showMessage(
            f"Unlinked {n} object(s) (Ctrl+Z undoes)" if n else
            "None of the selected objects is linked", 4000)
        return n

    def _ask_auto_match(self) -> tuple[int, float] | None:
        refs = [(self.channel_name(c), c) for c in self.channels() if c != self.active]
        dlg = AutoMatchDialog(self.channel_name(self.active), refs, self.threshold, self.window)
        k = dlg.reference.findData(self.reference)
        dlg.reference.setCurrentIndex(max(k, 0))
        self.dialog = dlg  # reachable by tests while it is open
        try:
            if dlg.exec() != QtWidgets.QDialog.DialogCode.Accepted:
                return None
            return int(dlg.reference.currentData()), float(dlg.threshold.value())
        finally:
            self.dialog = None
            dlg.deleteLater()

    def auto_match(self) -> int:
        """Link the active channel's objects with the reference channel's by IoU (asks the
        threshold); returns the number of links made (one undo step)."""
        if not self._can_link():
            return 0
        answer = self.ask_auto_match()
        if answer is None:
            return 0
        self.reference, self.threshold = answer
        doc = self.ctl.doc
        ref = self.masks_of(self.reference)
        match = match_by_iou(doc.masks, ref, self.threshold)
        replace_channel_pair(self.links, self.active, self.reference, match.pairs, record=doc)
        n_a, n_r = doc.n_objects, len(np.unique(ref)) - 1
        self.window.statusBar().showMessage(
            f"Linked {len(match.a)} pair(s) with IoU ≥ {self.threshold:.2f}; "
            f"{n_a - len(match.a)} object(s) of the {self.channel_name(self.active)} and "
            f"{n_r - len(match.a)} of the {self.channel_name(self.reference)} stay unlinked "
            "(Ctrl+Z undoes)", 10000)
        self.refresh()
        return len(match.a)

