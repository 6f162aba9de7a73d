"""Keep links on the objects they were made with, when a bulk edit reuses their ids.

Labels replaced by a prediction or an import number their objects 1..N again, so an id of
a linked object may come to name another object; the rule is
:mod:`guv_app.services.linking.identity`. The guard remembers the boxes of the active
channel's linked objects and, inside such an edit, unlinks the replaced ones in the same
undo step.
"""

from __future__ import annotations

import numpy as np

from guv_app.services.linking import LinkSet, Member, unlink
from guv_app.services.linking.identity import SAME_OBJECT, box_coverage, object_boxes


class LinkIdentityGuard:
    """Boxes of linked objects per (channel, mask id), checked on bulk edits."""

    def __init__(self, doc, links: LinkSet, status) -> None:
        self.doc = doc  # the live label document (the active set)
        self.links = links
        self.status = status  # a QStatusBar: says when links were removed
        self._boxes: dict[Member, tuple[int, int, int, int]] = {}

    def forget(self) -> None:
        """Another plane was opened."""
        self._boxes = {}

    def check(self, ev, active: int | None) -> None:
        """Unlink objects whose id now names another object (labels replaced by a
        prediction or an import reuse ids 1..N), in the same undo step as that edit.

        Only bulk edits (a quarter of the image or more) can give an old id to a new object
        (strokes and drawings get fresh ids). An object is the same while its bounding box
        still covers at least half of the one it had when last drawn (a merge into it or a
        move keep its link). Only during an edit: undo/redo replay the recorded unlink.
        """
        doc = self.doc
        if active is None or ev.ids is None or not len(ev.ids) or not doc.in_group:
            return
        sl = ev.slices
        h, w = doc.shape
        if sl is None or (sl[0].stop - sl[0].start) * (sl[1].stop - sl[1].start) * 4 < h * w:
            return
        touched = [Member(active, int(i)) for i in np.asarray(ev.ids).tolist()
                   if Member(active, int(i)) in self._boxes
                   and self.links.group_of(Member(active, int(i)))]
        if not touched:
            return
        now = object_boxes(doc.masks)
        gone = [m for m in touched if m.mask_id in now
                and box_coverage(self._boxes[m], now[m.mask_id]) < SAME_OBJECT]
        for member in touched:
            if member.mask_id in now:
                self._boxes[member] = now[member.mask_id]
        for member in gone:
            unlink(self.links, member, record=doc)
        if gone:
            self.status.showMessage(
                f"{len(gone)} linked object(s) were replaced by other objects: their links "
                "are removed (Ctrl+Z brings them back)", 8000)

    def remember(self, active: int | None) -> None:
        """Bounding boxes of the active channel's linked objects (see :meth:`check`)."""
        linked = self.links.members(active)
        if active is None or not linked:
            return
        now = object_boxes(self.doc.masks)
        for m in linked:
            if m.mask_id in now:
                self._boxes[m] = now[m.mask_id]
