"""Links between objects of different channels: one linked object = one group of masks.

MultiCellPose 0.9 users segment different structures in different channels (a vesicle
membrane in one, its content or a nucleus in another) and link them. A :class:`LinkSet`
holds the groups: each group has an ``object_id`` (the ``link_id`` that ``measure`` writes)
and at most one mask per channel, and a mask belongs to at most one group, so between two
channels every mask has at most one partner (0.9's rule). An edit that leaves a group with
one mask removes it (no longer a link); a group of one read from a file (0.9 may give an
object its object_id before it is linked) is kept as it is, and a link to its mask joins it.

Plain Python (no Qt). Edits go through :func:`link`, :func:`unlink` and
:func:`replace_channel_pair` which record a :class:`LinkAtom` in a label document's history,
so one hand link (or one auto-match) is one Ctrl+Z. A link whose mask is deleted is not
erased from the set: it is hidden by :meth:`LinkSet.pruned` (what is drawn, saved and
measured), so undoing the delete brings the link back.

The file layout is 0.9's ``associations`` key of a ``_seg.npy`` (see
``cellpose_io.seg.METADATA_KEYS``)::

    {"version": 1, "next_object_id": int,
     "groups": [{"object_id": int, "members": [{"channel": int, "mask_id": int}, ...]}]}

and ``object_ids``: int32 indexed by mask id of the active channel -> object_id (0 = none).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)

ASSOCIATIONS_VERSION = 1

Members = dict[int, int]  # channel -> mask id of one group


@dataclass(frozen=True, order=True)
class Member:
    """One mask of one channel's label image."""

    channel: int
    mask_id: int


class LinkError(ValueError):
    """A link that cannot be made (same channel, background) or a malformed associations dict."""


class LinkSet:
    """Groups of linked masks by ``object_id`` (>= 1), with a reverse index by member.

    Listeners (``connect``) are called with no argument after every change, so views redraw
    the link lines and tables.
    """

    def __init__(self, groups: Mapping[int, Mapping[int, int]] | None = None,
                 next_object_id: int = 1) -> None:
        self._groups: dict[int, Members] = {}
        self._of: dict[Member, int] = {}
        self._listeners: list[Callable[[], None]] = []
        self.next_object_id = max(int(next_object_id), 1)
        for oid, members in (groups or {}).items():
            self._set_group(int(oid), dict(members))
        if self._groups:
            self.next_object_id = max(self.next_object_id, max(self._groups) + 1)

    # ---------------------------------------------------------------- reading
    @property
    def groups(self) -> dict[int, Members]:
        """``{object_id: {channel: mask_id}}`` (a copy)."""
        return {oid: dict(m) for oid, m in self._groups.items()}

    def __len__(self) -> int:
        return len(self._groups)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LinkSet) and self._groups == other._groups

    def group_of(self, member: Member) -> int:
        """object_id of the group holding ``member`` (0 = not linked)."""
        return self._of.get(member, 0)

    def partner(self, member: Member, channel: int) -> int:
        """Mask id linked to ``member`` in ``channel`` (0 = none)."""
        oid = self._of.get(member, 0)
        return self._groups[oid].get(channel, 0) if oid else 0

    def members(self, channel: int | None = None) -> list[Member]:
        """Every linked mask (of ``channel`` only, when given)."""
        return [m for m in self._of if channel is None or m.channel == channel]

    def channels(self) -> list[int]:
        return sorted({c for m in self._groups.values() for c in m})

    def object_id_lut(self, channel: int, size: int | None = None) -> np.ndarray:
        """int32 ``lut[mask_id] -> object_id`` of ``channel`` (0 = none): 0.9's ``object_ids``."""
        ids = [(m.mask_id, oid) for m, oid in self._of.items() if m.channel == channel]
        top = max((i for i, _ in ids), default=0) + 1
        lut = np.zeros(max(top, size or 0), np.int32)
        for mask_id, oid in ids:
            if mask_id < len(lut):
                lut[mask_id] = oid
        return lut

    def pruned(self, existing: Mapping[int, Iterable[int] | np.ndarray]) -> LinkSet:
        """A copy without members whose mask is not in ``existing[channel]`` (deleted
        objects) and without the groups a deletion left with fewer than two members (a
        group of one read from a file stays while its mask exists); channels not in
        ``existing`` are kept as they are."""
        present = {c: set(np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
                          .astype(np.int64).tolist()) for c, ids in existing.items()}
        out: dict[int, Members] = {}
        for oid, members in self._groups.items():
            kept = {c: i for c, i in members.items() if c not in present or i in present[c]}
            if len(kept) >= min(2, len(members)) and kept:
                out[oid] = kept
        return LinkSet(out, self.next_object_id)

    def copy(self) -> LinkSet:
        return LinkSet(self._groups, self.next_object_id)

    # ------------------------------------------------------------- listeners
    def connect(self, callback: Callable[[], None]) -> None:
        if callback not in self._listeners:
            self._listeners.append(callback)

    def disconnect(self, callback: Callable[[], None]) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _notify(self) -> None:
        for cb in list(self._listeners):
            cb()

    # ------------------------------------------------------------ low level
    def _set_group(self, oid: int, members: Members | None) -> None:
        """Replace group ``oid`` (None or no member: remove it); keeps the index."""
        for c, i in self._groups.pop(oid, {}).items():
            if self._of.get(Member(c, i)) == oid:
                del self._of[Member(c, i)]
        if members:
            members = {int(c): int(i) for c, i in members.items()}
            self._groups[oid] = members
            for c, i in members.items():
                self._of[Member(c, i)] = oid

    def apply_groups(self, groups: Mapping[int, Members | None], next_object_id: int) -> None:
        """Set the given groups (None removes one) and notify: what undo/redo replays."""
        for oid, members in groups.items():
            self._set_group(oid, members)
        self.next_object_id = next_object_id
        self._notify()

    def replace_all(self, other: LinkSet) -> None:
        """Take ``other``'s groups without undo (opening a file)."""
        self._groups, self._of = {}, {}
        for oid, members in other._groups.items():
            self._set_group(oid, members)
        self.next_object_id = other.next_object_id
        self._notify()


# ----------------------------------------------------------------- undoable edits
class _History(Protocol):
    def record(self, atom: Any) -> None: ...


@dataclass
class LinkAtom:
    """Groups ``before`` -> ``after`` (None = no such group): one step of a link edit.

    Recorded in a :class:`~guv_app.services.annotation.document.LabelDocument` history
    (``doc.record``); ``apply(doc, forward)`` is the atom protocol of ``history.Step``.
    """

    links: LinkSet
    before: dict[int, Members | None]
    after: dict[int, Members | None]
    next_before: int
    next_after: int

    def apply(self, doc: object, forward: bool) -> None:
        if forward:
            self.links.apply_groups(self.after, self.next_after)
        else:
            self.links.apply_groups(self.before, self.next_before)


class _Edit:
    """Collects group changes over a working copy, then applies them as one atom."""

    def __init__(self, links: LinkSet) -> None:
        self.links = links
        self.work: dict[int, Members | None] = {}  # changed groups
        self.of: dict[Member, int] = {}  # member -> group in the working copy (0 = none)
        self.next_id = links.next_object_id

    def get(self, oid: int) -> Members | None:
        if oid in self.work:
            m = self.work[oid]
            return dict(m) if m is not None else None
        g = self.links._groups.get(oid)
        return dict(g) if g is not None else None

    def put(self, oid: int, members: Members | None) -> None:
        for c, i in (self.get(oid) or {}).items():
            self.of[Member(c, i)] = 0
        if members is not None and len(members) < 2:
            members = None
        self.work[oid] = members
        for c, i in (members or {}).items():
            self.of[Member(c, i)] = oid

    def group_of(self, member: Member) -> int:
        if member in self.of:
            return self.of[member]
        return self.links._of.get(member, 0)

    def remove_member(self, member: Member) -> None:
        oid = self.group_of(member)
        if oid:
            members = self.get(oid) or {}
            members.pop(member.channel, None)
            self.put(oid, members)

    def new_id(self) -> int:
        oid = self.next_id
        self.next_id += 1
        return oid

    def commit(self, record: _History | None) -> LinkAtom | None:
        before = {oid: (dict(self.links._groups[oid]) if oid in self.links._groups else None)
                  for oid in self.work}
        after = dict(self.work)
        if before == after:
            return None
        atom = LinkAtom(self.links, before, after, self.links.next_object_id, self.next_id)
        if record is not None:
            record.record(atom)
        atom.apply(None, True)
        return atom


def _link_into(edit: _Edit, a: Member, b: Member) -> int:
    if a.channel == b.channel:
        raise LinkError(f"objects {a.mask_id} and {b.mask_id} are both in channel "
                        f"{a.channel}: a link joins objects of two different channels")
    if a.mask_id <= 0 or b.mask_id <= 0:
        raise LinkError("pick an object in each channel (background cannot be linked)")
    ga, gb = edit.group_of(a), edit.group_of(b)
    if ga and ga == gb:
        return ga
    if not (ga or gb):
        target = edit.new_id()
        edit.put(target, {a.channel: a.mask_id, b.channel: b.mask_id})
        return target
    target = ga or gb
    moving = b if ga else a  # the member that joins the other's group
    edit.remove_member(moving)  # leaves its old group
    members = edit.get(target) or {}
    members[moving.channel] = moving.mask_id  # replaces that channel's former partner
    edit.put(target, members)
    return target


def link(links: LinkSet, a: Member, b: Member, record: _History | None = None) -> int:
    """Link mask ``a`` with mask ``b`` of another channel; returns the object_id.

    If ``a`` is linked already, ``b`` joins its group (replacing the group's mask of
    ``b.channel``, which becomes unlinked) and leaves its own group; else ``a`` joins
    ``b``'s group; else a new group gets the next object_id. ``record`` (a label document)
    makes it one undo step. Raises :class:`LinkError` for two masks of one channel or a
    background pick.
    """
    edit = _Edit(links)
    oid = _link_into(edit, a, b)
    edit.commit(record)
    return oid


def unlink(links: LinkSet, member: Member, record: _History | None = None) -> bool:
    """Take ``member`` out of its group (a two-mask group disappears); True if it was linked."""
    edit = _Edit(links)
    edit.remove_member(member)
    return edit.commit(record) is not None


def unlink_groups(links: LinkSet, object_ids: Iterable[int],
                  record: _History | None = None) -> int:
    """Remove whole groups; returns how many existed."""
    edit = _Edit(links)
    n = 0
    for oid in object_ids:
        if edit.get(int(oid)) is not None:
            edit.put(int(oid), None)
            n += 1
    edit.commit(record)
    return n


def replace_channel_pair(links: LinkSet, channel_a: int, channel_b: int,
                         pairs: Iterable[tuple[int, int]],
                         record: _History | None = None) -> list[int]:
    """Make ``pairs`` (mask of ``channel_a``, mask of ``channel_b``) the links between the
    two channels, as one undo step (an auto-match): every former link between them is
    cut first (links to other channels stay). Returns the object_id of each pair."""
    edit = _Edit(links)
    for members in links.groups.values():
        if channel_a in members and channel_b in members:
            edit.remove_member(Member(channel_b, members[channel_b]))
    oids = [_link_into(edit, Member(channel_a, int(a)), Member(channel_b, int(b)))
            for a, b in pairs]
    edit.commit(record)
    return oids


# ------------------------------------------------------------------ file layout
def to_associations(links: LinkSet) -> dict[str, Any]:
    """0.9's ``associations`` dict (groups sorted by object_id, members by channel)."""
    return {
        "version": ASSOCIATIONS_VERSION,
        "next_object_id": int(links.next_object_id),
        "groups": [
            {"object_id": int(oid),
             "members": [{"channel": int(c), "mask_id": int(i)} for c, i in sorted(m.items())]}
            for oid, m in sorted(links.groups.items())
        ],
    }


def from_associations(data: Mapping[str, Any] | None, *, source: str = "associations") -> LinkSet:
    """A :class:`LinkSet` from 0.9's ``associations`` dict (None or {} -> empty).

    A mask listed in two groups stays in the first one (0.9 allowed one group per channel
    pair; a second is dropped with a warning in the log), as does a second mask of one
    channel in a group; groups of one are kept, empty groups dropped. Raises :class:`LinkError` naming ``source`` for a malformed dict.
    """
    if not data:
        return LinkSet()
    if not isinstance(data, Mapping):
        raise LinkError(f"{source}: expected a dict, got {type(data).__name__}")
    try:
        groups_in = list(data.get("groups") or [])
        next_id = int(data.get("next_object_id", 1) or 1)
        groups: dict[int, Members] = {}
        seen: set[Member] = set()
        dropped = 0
        for g in groups_in:
            oid = int(g["object_id"])
            members: Members = {}
            for m in g.get("members") or []:
                member = Member(int(m["channel"]), int(m["mask_id"]))
                if member.mask_id <= 0 or member in seen or member.channel in members:
                    dropped += 1
                    continue
                seen.add(member)
                members[member.channel] = member.mask_id
            if oid <= 0 or oid in groups:
                raise LinkError(f"{source}: object_id {oid} is not a unique positive id")
            groups[oid] = members
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, LinkError):
            raise
        raise LinkError(f"{source}: malformed associations ({type(exc).__name__}: {exc})") \
            from None
    if dropped:
        log.warning("%s: %d repeated or background member(s) ignored", source, dropped)
    return LinkSet(groups, next_id)

