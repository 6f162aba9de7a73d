"""Edit ▸ Label sets: label one set shared by all channels (the default) or one per channel.

The sets and their rules live in :mod:`guv_app.services.annotation.channel_sets`; this
module builds the menu and keys, hooks the sets into the file session (load, the job a save
writes, marking sets saved, unsaved edits in a parked set) and tells the user which set is
being labelled. Keys: Ctrl+Shift+L switches between the shared set and the per-channel sets
(back to the last labelled channel); Alt+1 … Alt+9 label the first … ninth channel (named as
the channel panel names them, indices from 0 like ``--channels``); Alt+0 the shared set.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PyQt6 import QtCore, QtGui, QtWidgets

from guv_app.services.annotation.channel_sets import SHARED, LabelSets, SetKey
from guv_app.views.trainer.label_set_box import SHARED_ITEM, LabelSetBox

if TYPE_CHECKING:
    from guv_app.controllers.trainer_autosave import SaveJob
    from guv_app.controllers.trainer_parts import TrainerParts

log = logging.getLogger(__name__)
MAX_KEYED = 9  # channels with an Alt+digit key


class ChannelLabelSets(QtCore.QObject):
    """The Trainer's label sets per channel: menu, keys, status and file hooks."""

    def __init__(self, ctl: TrainerParts) -> None:
        super().__init__(ctl)
        self.ctl = ctl
        self.window = w = ctl.window
        self.sets = LabelSets(ctl.doc)
        self.last_channel = 0  # where Ctrl+Shift+L goes back to
        files = ctl.files
        files.labels_loaded = self.on_loaded
        files.job_hook = self.add_to_job
        files.after_saved = self.on_saved
        files.is_dirty = self.sets.dirty
        self.menu = QtWidgets.QMenu("Label sets", w)
        self.menu.setObjectName("menu_label_sets")
        w.menus["Edit"].addMenu(self.menu)
        self.per_channel_action = self._action(
            "label_sets_per_channel", "Label each channel separately", "Ctrl+Shift+L",
            self.toggle_per_channel, checkable=True)
        self.menu.addSeparator()
        self.group = QtGui.QActionGroup(self)
        self.shared_action = self._action(
            "label_set_shared", "Shared set (all channels)", "Alt+0",
            lambda: self.switch(SHARED), checkable=True)
        self.group.addAction(self.shared_action)
        self.channel_actions: list[QtGui.QAction] = []
        for k in range(MAX_KEYED):
            act = self._action(f"label_set_channel_{k + 1}", f"Label channel {k}",
                               f"Alt+{k + 1}", lambda _=False, c=k: self.switch(c),
                               checkable=True)
            self.group.addAction(act)
            self.channel_actions.append(act)
        self.box = LabelSetBox()  # the same choice in the image panel
        w.channel_panel.layout().insertWidget(1, self.box)
        self.box.chosen.connect(lambda k: self.switch(SHARED if k < 0 else k))
        self.status = QtWidgets.QLabel()
        self.status.setObjectName("label_set_label")
        w.statusBar().addPermanentWidget(self.status)
        ctl.doc.events.connect(self._on_doc_event)
        self.refresh()

    def _action(self, name: str, text: str, key: str, slot, *, checkable=False) -> QtGui.QAction:
        act = QtGui.QAction(text, self.window)
        act.setObjectName(f"action_{name}")
        act.setShortcut(QtGui.QKeySequence(key))
        act.setCheckable(checkable)
        act.triggered.connect(lambda _=False: slot())
        self.menu.addAction(act)
        self.window.addAction(act)
        self.window.actions[name] = act
        return act

    # ------------------------------------------------------------------ state
    def n_channels(self) -> int:
        image = self.ctl.files.image
        n = int(getattr(image, "n_channels", 0) or 0)
        if not n and self.ctl.planes is not None:
            n = int(self.ctl.planes.shape[0])
        return max(n, 1)

    def name(self, key: SetKey) -> str:
        """"shared set", "channel 1" or "Green (channel 1)": as the channel panel names it."""
        if key is SHARED:
            return "shared set"
        names = self.ctl.files.channel_names(self.n_channels())
        label = names[key] if key < len(names) else ""
        default = f"channel {key}"
        return f"{label} ({default})" if label and label != default else default

    def refresh(self) -> None:
        """Menu checks, enabled channels and the status bar follow the active set."""
        n = self.n_channels()
        existing = set(self.sets.channels())
        for k, act in enumerate(self.channel_actions):
            act.setEnabled(k < n or k in existing)
            mark = "  •" if k in existing and self.sets.document(k).n_objects else ""
            act.setText(f"Label {self.name(k)}{mark}")
            act.setChecked(self.sets.active == k)
        self.shared_action.setChecked(self.sets.active is SHARED)
        keys = sorted(set(range(n)) | existing)
        self.box.set_sets([(SHARED_ITEM, "shared (all channels)")] + [
            (k, self.name(k)) for k in keys],
            SHARED_ITEM if self.sets.active is SHARED else int(self.sets.active))
        blocker = QtCore.QSignalBlocker(self.per_channel_action)
        self.per_channel_action.setChecked(self.sets.per_channel)
        del blocker
        self.status.setText(f"Labels: {self.name(self.sets.active)}")

    def _on_doc_event(self, ev) -> None:
        if ev.kind == "state":  # a parked set's unsaved edits count for the title too
            self.window.setWindowModified(self.sets.dirty())

    # -------------------------------------------------------------- switching
    def toggle_per_channel(self) -> None:
        self.switch(self.last_channel if not self.sets.per_channel else SHARED)

    def switch(self, key: SetKey) -> bool:
        """Label set ``key`` (None: the shared set); refused with a message without an
        image, for a channel the image lacks, or in the middle of a stroke."""
        if key == self.sets.active:
            self.refresh()
            return False
        if self.ctl.files.path is None:
            self.window.statusBar().showMessage("Open an image first", 4000)
            self.refresh()
            return False
        if key is not SHARED and key >= self.n_channels() and key not in self.sets.channels():
            self.window.statusBar().showMessage(
                f"This image has {self.n_channels()} channel(s): there is no channel {key + 1}",
                4000)
            self.refresh()
            return False
        try:
            self.sets.switch(key)
        except RuntimeError as exc:  # an edit (stroke) is still open
            self.window.statusBar().showMessage(str(exc), 4000)
            self.refresh()
            return False
        # saves in flight carry their own snapshot of versions (marked in on_saved)
        self.ctl.files.token += 1
        if key is not SHARED:
            self.last_channel = key
        self.refresh()
        self.window.setWindowModified(self.sets.dirty())
        self.ctl.files.on_state_changed()  # a parked set's edits still get autosaved
        doc = self.ctl.doc
        self.window.statusBar().showMessage(
            f"Labelling the {self.name(key)}: {doc.n_objects} object(s); undo and saving "
            "follow this set", 6000)
        return True

    # ------------------------------------------------------------ file hooks
    def on_loaded(self, seg) -> None:
        """A plane's labels were loaded into the live document (its shared set)."""
        keep = self.sets.active if self.sets.per_channel else SHARED
        if keep is not SHARED and keep >= self.n_channels():
            keep = SHARED
        self.sets.load(seg, keep_channel=keep)
        if self.sets.per_channel:
            self.last_channel = int(self.sets.active)
        self.refresh()

    def add_to_job(self, job: SaveJob) -> SaveJob:
        """The shared set goes to the top level (what the Cellpose GUI sees), the channel
        sets and links beside it; the versions of every set travel with the job."""
        snap = self.sets.snapshot()
        job.sets_snapshot = snap
        if self.sets.per_channel:
            job.masks, job.classes, job.class_names, job.class_colors = snap.shared
        if "channel_sets" in snap.save_kwargs or "associations" in snap.save_kwargs:
            job.channels = snap.save_kwargs  # else: a plain Cellpose file, as before
        return job

    def on_saved(self, job: SaveJob) -> None:
        if job.sets_snapshot is not None:
            self.sets.mark_saved(job.sets_snapshot)
        self.window.setWindowModified(self.sets.dirty())
        self.refresh()
