"""Label sets of one plane: the shared set (the default) and optionally one per channel.

MultiCellPose 0.9 users segment different structures in different channels (a vesicle
membrane in one, its content or a nucleus in another). Each set is a full
:class:`LabelDocument` -- objects, classes, class table and its own undo history. The
Trainer edits one live document; switching the labelled channel swaps the contents of the
live document with a parked one (:meth:`LabelDocument.swap_contents`), so everything holding
the live document (file session, autosave, import/export, undo actions) acts on the active
set without being rewired. No Qt: plain Python, testable without a GUI.

Keys: :data:`SHARED` (``None``) is the shared set -- the top-level ``masks``/``classes`` of
a ``_seg.npy``, what the Cellpose GUI shows; an int is a channel index (0-based), stored
under ``channel_segmentations`` (see :mod:`cellpose_io.channel_labels`).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cellpose_io.channel_labels import ChannelSet
from guv_app.services.annotation.class_table import ClassTable
from guv_app.services.annotation.document import LabelDocument

log = logging.getLogger(__name__)

SHARED: None = None
SetKey = int | None


def set_name(key: SetKey) -> str:
    return "shared set" if key is SHARED else f"channel {key}"


@dataclass
class SetsSnapshot:
    """What a save writes, copied so it can be written off the GUI thread.

    ``shared``: (masks (H, W) uint32, classes int32 per id, class names, colours) of the
    shared set; ``save_kwargs``: ``channel_sets`` / ``active_channel`` / ``associations`` for
    ``cellpose_io.save_seg``; ``versions``: the version of each set at the snapshot, to mark
    them saved when the write succeeded; ``generation``: which load they belong to.
    """

    shared: tuple[np.ndarray, np.ndarray, list[str], list[tuple[int, int, int]]]
    save_kwargs: dict[str, Any]
    versions: dict[SetKey, int] = field(default_factory=dict)
    generation: int = 0


class LabelSets:
    """The sets of the open plane around one live :class:`LabelDocument`."""

    def __init__(self, live: LabelDocument) -> None:
        self.live = live
        self.active: SetKey = SHARED
        self._parked: dict[SetKey, LabelDocument] = {}
        self.associations: dict | None = None  # 0.9 layout, passed through (links build on it)
        self.generation = 0

    # ------------------------------------------------------------------ reading
    @property
    def per_channel(self) -> bool:
        """True while a channel's set (not the shared set) is being labelled."""
        return self.active is not SHARED

    def keys(self) -> list[SetKey]:
        """Every set that exists: the shared set first, then channels ascending."""
        channels = sorted(k for k in [*self._parked, self.active] if k is not SHARED)
        return [SHARED, *dict.fromkeys(channels)]

    def channels(self) -> list[int]:
        return [k for k in self.keys() if k is not SHARED]

    def document(self, key: SetKey) -> LabelDocument:
        """The document holding set ``key`` (the live one when it is active); KeyError."""
        if key == self.active:
            return self.live
        return self._parked[key]

    def dirty(self) -> bool:
        """Unsaved edits in any set (a parked set counts: switching must not hide them)."""
        return self.live.dirty or any(d.dirty for d in self._parked.values())

    def can_undo(self, key: SetKey) -> bool:
        return self.document(key).can_undo

    # ------------------------------------------------------------------ loading
    def load(self, seg: Any = None, *, keep_channel: SetKey = SHARED) -> None:
        """The live document was just reset to a plane's shared set: build the other sets.

        ``seg`` (a ``cellpose_io.SegData`` or None) gives the channel sets, links and the
        channel the file was saved on; without channel sets the plane opens on
        ``keep_channel`` (a user labelling channel 2 through a folder stays on channel 2,
        with an empty set where a plane has none yet).
        """
        self.generation += 1
        self._parked = {}
        self.active = SHARED
        sets = dict(getattr(seg, "channel_sets", None) or {})
        self.associations = getattr(seg, "associations", None)
        shape = self.live.shape
        for channel, cset in sets.items():
            table = ClassTable.from_lists(cset.class_names, cset.class_colors)
            self._parked[int(channel)] = LabelDocument(
                np.asarray(cset.masks), np.asarray(cset.classes), table, shape=shape)
        target = getattr(seg, "active_channel", None) if sets else keep_channel
        if target is not SHARED:
            self.switch(int(target))

    # ---------------------------------------------------------------- switching
    def switch(self, key: SetKey) -> bool:
        """Make set ``key`` the one being labelled (a channel's set is created empty, with
        the current class table, the first time); False when it already is."""
        if key == self.active:
            return False
        target = self._parked.pop(key, None)
        if target is None:
            table = self.live.class_table.copy()
            table.visible = [True] * len(table)
            target = LabelDocument(np.zeros(self.live.shape, np.uint32), None, table)
        self.live.swap_contents(target)  # the target's contents come in, undo included ...
        self._parked[self.active] = target  # ... and it now holds the outgoing set
        self.active = key
        return True

    # ------------------------------------------------------------------- saving
    def snapshot(self) -> SetsSnapshot:
        """Copies of every set for ``save_seg`` (empty channel sets are not written)."""
        shared = self.document(SHARED)
        table = shared.class_table
        channel_sets = {}
        for ch in self.channels():
            doc = self.document(ch)
            if doc.n_objects:
                t = doc.class_table
                channel_sets[ch] = ChannelSet(doc.masks.copy(), doc.classes, list(t.names),
                                              list(t.colors))
        kwargs: dict[str, Any] = {}
        if channel_sets:
            kwargs["channel_sets"] = channel_sets
        if self.active is not SHARED:
            kwargs["active_channel"] = int(self.active)
        if self.associations is not None:
            kwargs["associations"] = copy.deepcopy(self.associations)  # written off-thread
        return SetsSnapshot(
            (shared.masks.copy(), shared.classes, list(table.names), list(table.colors)),
            kwargs, {k: self.document(k).version for k in self.keys()}, self.generation)

    def mark_saved(self, snapshot: SetsSnapshot) -> None:
        """The snapshot is on disk: each set is clean at the version it had then."""
        if snapshot.generation != self.generation:
            return  # another plane was opened meanwhile
        for key, version in snapshot.versions.items():
            try:
                self.document(key).mark_saved(version)
            except KeyError:
                continue
