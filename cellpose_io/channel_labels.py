"""Label sets per channel in a ``_seg.npy``: MultiCellPose 0.9's keys, read and written.

MultiCellPose 0.9 let a user segment each channel of an image separately (a vesicle
membrane in one channel, its content in another) and link objects across channels. It
stored, beside upstream Cellpose's top-level ``masks`` (which stay the default / shared
set, what the Cellpose GUI shows):

* ``channel_segmentations``: ``{str(channel): {"masks": (H, W) or (1, H, W) uint16/uint32,
  "classes" (0.9 also wrote "mask_classes"): int16 per mask id, "classes_map",
  "instance_colors"}}``. 0.9 read an entry whose classes are all 0 (or missing) as class 1
  for every object; we do the same for entries without our ``class_names``.
* ``active_channel_index``: int, the channel being labelled when the file was saved.
* ``associations``: ``{"version": 1, "next_object_id": int, "groups": [{"object_id": int,
  "members": [{"channel": int, "mask_id": int}, ...]}]}``; one group is one object linked
  across channels (its ``object_id`` is the ``link_id`` ``measure`` writes).
* ``object_ids``: int32 indexed by mask id of the active channel -> object id (0 = none).

We write entries with ``masks`` (2-D, uint16 or uint32), ``classes`` (int16 per id) and
our own ``class_names`` / ``class_colors`` (each channel has its own class table); we do
not write ``classes_map`` or ``instance_colors`` (image-sized or per-id copies that go
stale after an edit). ``object_ids`` is derived from ``associations`` when writing.
No Qt, no torch: plain numpy and dicts, so the Trainer, the CLI and workers share it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cellpose_io.errors import LabelReadError
from cellpose_io.label_classes import (
    MAX_CLASS_ID,
    classes_from_map,
    mask_dtype_for,
    normalise_class_table,
    object_ids,
    renumber_sparse_ids,
)

log = logging.getLogger(__name__)

CHANNEL_SETS_KEY = "channel_segmentations"
ACTIVE_KEY = "active_channel_index"
ASSOCIATIONS_KEY = "associations"
OBJECT_IDS_KEY = "object_ids"
#: the keys this module reads and writes (documented in ``cellpose_io.seg.METADATA_KEYS``)
CHANNEL_KEYS = (CHANNEL_SETS_KEY, ACTIVE_KEY, ASSOCIATIONS_KEY, OBJECT_IDS_KEY)
ASSOCIATIONS_VERSION = 1
MAX_CHANNEL = 4096  # a channel index beyond this is a corrupt file, not a real image


@dataclass
class ChannelSet:
    """The objects labelled on one channel: ``masks`` (H, W) uint16/uint32 instance ids,
    ``classes`` int32 per id (``classes[0] == 0``), the channel's own class table
    (``class_names[0] == "background"``, one RGB tuple per name)."""

    masks: np.ndarray
    classes: np.ndarray
    class_names: list[str] = field(default_factory=lambda: ["background"])
    class_colors: list[tuple[int, int, int]] = field(default_factory=lambda: [(0, 0, 0)])

    @property
    def n_objects(self) -> int:
        return len(object_ids(self.masks)[0])


# ------------------------------------------------------------------------------ reading


def _int(value: Any, what: str) -> int:
    """An integer from an int, numpy integer or a decimal string; ValueError otherwise."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{what} is a boolean, not an integer")
    if isinstance(value, (bytes, str)):
        text = value.decode() if isinstance(value, bytes) else value
        if not text.strip().lstrip("-").isdigit():
            raise ValueError(f"{what} {text!r} is not an integer")
        return int(text)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    if isinstance(value, np.ndarray) and value.size == 1:
        return _int(value.reshape(-1)[0], what)
    raise ValueError(f"{what} is a {type(value).__name__}, not an integer")


def _entry_masks(raw: Any, shape: tuple[int, int], where: str) -> np.ndarray:
    if not isinstance(raw, np.ndarray):
        raise ValueError(f"{where}: 'masks' is a {type(raw).__name__}, not an array")
    arr = raw[0] if raw.ndim == 3 and raw.shape[0] == 1 else raw
    if arr.ndim != 2:
        raise ValueError(f"{where}: 'masks' has shape {raw.shape}, expected (H, W) or (1, H, W)")
    if tuple(arr.shape) != tuple(shape):
        raise ValueError(f"{where}: masks are {arr.shape[0]}x{arr.shape[1]} but the file's "
                         f"labels are {shape[0]}x{shape[1]}")
    if arr.dtype.kind == "f" and np.array_equal(arr, np.round(arr)) and np.isfinite(arr).all():
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "ui":
        raise ValueError(f"{where}: 'masks' must hold integer ids, got {arr.dtype}")
    if arr.size and arr.min() < 0:
        raise ValueError(f"{where}: 'masks' hold a negative id")
    hi = int(arr.max()) if arr.size else 0
    return np.ascontiguousarray(arr, dtype=mask_dtype_for(hi))


def _entry_classes(entry: dict, masks: np.ndarray, where: str) -> np.ndarray:
    """Classes per id of one entry; 0.9's rule: all 0 or missing -> class 1 (0.9 entries)."""
    max_id = int(masks.max()) if masks.size else 0
    raw = entry.get("mask_classes")
    if raw is None:
        raw = entry.get("classes")
    out = np.zeros(max_id + 1, np.int32)
    if raw is not None and np.ndim(raw) >= 2:  # a per-pixel map stored as "classes"
        entry = {**entry, "classes_map": raw}
        raw = None
    if raw is not None:
        arr = np.asarray(raw)
        if arr.dtype.kind not in "uifb" or (
                arr.dtype.kind == "f" and not np.array_equal(arr, np.round(arr))):
            raise ValueError(f"{where}: 'classes' must hold integer class ids, got {arr.dtype}")
        arr = arr.reshape(-1).astype(np.int64)
        if arr.size and arr.min() < 0:
            raise ValueError(f"{where}: 'classes' holds a negative class id")
        if arr.size and arr.max() > MAX_CLASS_ID:
            raise ValueError(f"{where}: 'classes' uses class {int(arr.max())}, above the "
                             f"limit of {MAX_CLASS_ID}")
        n = min(len(arr), max_id + 1)
        out[:n] = arr[:n]
    elif entry.get("classes_map") is not None:
        cmap = np.asarray(entry["classes_map"])
        cmap = cmap[0] if cmap.ndim == 3 and cmap.shape[0] == 1 else cmap
        if cmap.shape != masks.shape or cmap.dtype.kind not in "uifb":
            raise ValueError(f"{where}: 'classes_map' has shape {cmap.shape}, masks have "
                             f"{masks.shape}")
        out = classes_from_map(masks, cmap).astype(np.int32)
    out[0] = 0
    if "class_names" not in entry and max_id and not out[1:].any():
        out[1:] = 1  # MultiCellPose 0.9: unclassified objects are class 1
    return out


def _read_entry(key: Any, entry: Any, shape: tuple[int, int],
                default_table: tuple[list, list]) -> tuple[int, ChannelSet, np.ndarray | None]:
    channel = _int(key, "channel key")
    where = f"'{CHANNEL_SETS_KEY}' channel {key!r}"
    if not 0 <= channel <= MAX_CHANNEL:
        raise ValueError(f"{where}: channel index must be 0..{MAX_CHANNEL}")
    if not isinstance(entry, dict):
        raise ValueError(f"{where} is a {type(entry).__name__}, not a dictionary")
    if "masks" not in entry:
        raise ValueError(f"{where} has no 'masks' (keys: {sorted(map(str, entry))})")
    masks = _entry_masks(entry["masks"], shape, where)
    classes = _entry_classes(entry, masks, where)
    masks, classes, renumbered = renumber_sparse_ids(masks, classes)
    old_ids = object_ids(np.asarray(entry["masks"]))[0] if renumbered else None
    n_user = int(classes.max()) if classes.size else 0
    names = entry.get("class_names", default_table[0])
    colors = entry.get("class_colors", default_table[1] if "class_names" not in entry else None)
    try:
        names, colors = normalise_class_table(names, colors, n_user)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: unreadable class table ({exc})") from exc
    return channel, ChannelSet(masks, classes.astype(np.int32), names, colors), old_ids


def read_associations(raw: Any) -> dict | None:
    """0.9's association payload, checked and normalised (plain ints, ``version`` 1).

    Groups keep their order and every member (a group of one is kept as the file has it);
    ValueError names what is malformed.
    """
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError(f"'{ASSOCIATIONS_KEY}' is a {type(raw).__name__}, not a dictionary")
    groups_in = raw.get("groups") or []
    if isinstance(groups_in, np.ndarray):
        groups_in = groups_in.tolist()
    if not isinstance(groups_in, (list, tuple)):
        raise ValueError(f"'{ASSOCIATIONS_KEY}' groups is a {type(groups_in).__name__}, "
                         "not a list")
    groups = []
    seen: set[int] = set()
    for i, group in enumerate(groups_in):
        where = f"'{ASSOCIATIONS_KEY}' group {i}"
        if not isinstance(group, dict):
            raise ValueError(f"{where} is a {type(group).__name__}, not a dictionary")
        oid = _int(group.get("object_id"), f"{where} object_id")
        if oid <= 0 or oid in seen:
            raise ValueError(f"{where}: object_id {oid} is not a new positive id")
        seen.add(oid)
        members = []
        for j, member in enumerate(group.get("members") or []):
            if not isinstance(member, dict):
                raise ValueError(f"{where} member {j} is a {type(member).__name__}, "
                                 "not a dictionary")
            ch = _int(member.get("channel"), f"{where} member {j} channel")
            mid = _int(member.get("mask_id"), f"{where} member {j} mask_id")
            if ch < 0 or mid <= 0:
                raise ValueError(f"{where} member {j}: channel {ch} / mask_id {mid} out of range")
            members.append({"channel": ch, "mask_id": mid})
        groups.append({"object_id": oid, "members": members})
    next_id = raw.get("next_object_id")
    next_id = 1 if next_id is None else _int(next_id, f"'{ASSOCIATIONS_KEY}' next_object_id")
    next_id = max([next_id, 1] + [g["object_id"] + 1 for g in groups])
    return {"version": ASSOCIATIONS_VERSION, "next_object_id": next_id, "groups": groups}


def read_channel_keys(path: str | os.PathLike, dat: dict, shape: tuple[int, int],
                      class_names: Any = None, class_colors: Any = None) -> dict[str, Any]:
    """The per-channel keys of a loaded ``_seg.npy`` dict as ``SegData`` fields:
    ``channel_sets`` ({channel: :class:`ChannelSet`}), ``active_channel`` (int or None),
    ``associations`` (normalised dict or None), ``object_ids`` (int32 or None).

    ``class_names``/``class_colors`` (the file's top-level table) name the classes of 0.9
    entries, which had one table for all channels. Raises :class:`LabelReadError` naming
    the file and the malformed part; nothing is changed on disk.
    """
    try:
        return _read_channel_keys(dat, tuple(shape), class_names, class_colors)
    except ValueError as exc:
        raise LabelReadError(path, str(exc)) from exc


def _read_channel_keys(dat: dict, shape: tuple[int, int], class_names: Any,
                       class_colors: Any) -> dict[str, Any]:
    sets: dict[int, ChannelSet] = {}
    renumbered: dict[int, np.ndarray] = {}
    raw = dat.get(CHANNEL_SETS_KEY)
    if raw is not None:
        if not isinstance(raw, dict):
            raise ValueError(f"'{CHANNEL_SETS_KEY}' is a {type(raw).__name__}, "
                             "not a dictionary of channels")
        table = (class_names, class_colors)
        for key, entry in raw.items():
            channel, cset, old_ids = _read_entry(key, entry, shape, table)
            if channel in sets:
                raise ValueError(f"'{CHANNEL_SETS_KEY}': channel {channel} appears twice")
            sets[channel] = cset
            if old_ids is not None:
                renumbered[channel] = old_ids
    active = dat.get(ACTIVE_KEY)
    active = None if active is None else _int(active, f"'{ACTIVE_KEY}'")
    if active is not None and not 0 <= active <= MAX_CHANNEL:
        raise ValueError(f"'{ACTIVE_KEY}' {active} is not a channel index")
    associations = read_associations(dat.get(ASSOCIATIONS_KEY))
    if associations is not None and renumbered:  # ids moved to 1..N: links follow them
        for group in associations["groups"]:
            for m in group["members"]:
                old = renumbered.get(m["channel"])
                if old is not None:
                    k = int(np.searchsorted(old, m["mask_id"]))
                    m["mask_id"] = k + 1 if k < len(old) and old[k] == m["mask_id"] else 0
            group["members"] = [m for m in group["members"] if m["mask_id"]]
    oids = dat.get(OBJECT_IDS_KEY)
    if oids is not None:
        arr = np.asarray(oids)
        if arr.ndim != 1 or arr.dtype.kind not in "ui":
            raise ValueError(f"'{OBJECT_IDS_KEY}' must be a 1-D integer array, got shape "
                             f"{arr.shape} dtype {arr.dtype}")
        oids = arr.astype(np.int32)
    return {"channel_sets": sets, "active_channel": active, "associations": associations,
            "object_ids": oids}


# ------------------------------------------------------------------------------ writing


def object_ids_for(associations: dict | None, channel: int | None, max_id: int) -> np.ndarray:
    """int32 (max_id + 1,): the linked object id of each mask id of ``channel`` (0 = none),
    0.9's ``object_ids`` key."""
    out = np.zeros(max_id + 1, np.int32)
    if associations is None or channel is None:
        return out
    for group in associations.get("groups", []):
        for m in group["members"]:
            if m["channel"] == channel and 0 < m["mask_id"] <= max_id:
                out[m["mask_id"]] = group["object_id"]
    return out


def channel_keys(channel_sets: dict[int, ChannelSet] | None, active_channel: int | None,
                 associations: dict | None, shape: tuple[int, int]) -> dict[str, Any]:
    """The keys to add to a ``_seg.npy`` dict for these sets (empty dict when none).

    Every set must have the top-level masks' ``shape``. ValueError for a bad set, class id
    or association payload, before anything is written.
    """
    out: dict[str, Any] = {}
    payload: dict[str, dict] = {}
    for channel, cset in sorted((channel_sets or {}).items()):
        channel = _int(channel, "channel")
        if not 0 <= channel <= MAX_CHANNEL:
            raise ValueError(f"channel {channel} is not a channel index")
        where = f"channel {channel}"
        masks = _entry_masks(np.asarray(cset.masks), shape, where)
        masks, classes, renumbered = renumber_sparse_ids(masks, cset.classes)
        if renumbered:
            raise ValueError(f"{where}: object ids up to {int(np.max(cset.masks))} are too "
                             "sparse; renumber them before saving")
        max_id = int(masks.max()) if masks.size else 0
        cls = np.zeros(max_id + 1, np.int16)
        given = np.asarray(classes if classes is not None else [], np.int64).reshape(-1)
        n = min(len(given), max_id + 1)
        if n and (given[:n].min() < 0 or given[:n].max() > MAX_CLASS_ID):
            raise ValueError(f"{where}: class ids must be 0..{MAX_CLASS_ID}")
        cls[:n] = given[:n]
        cls[0] = 0
        names, colors = normalise_class_table(cset.class_names, cset.class_colors,
                                              int(cls.max()) if cls.size else 0)
        payload[str(channel)] = {
            "masks": masks, "classes": cls, "class_names": list(names),
            "class_colors": np.asarray(colors, np.uint8).reshape(-1, 3),
        }
    if payload:
        out[CHANNEL_SETS_KEY] = payload
    if active_channel is not None:
        out[ACTIVE_KEY] = _int(active_channel, "active channel")
    assoc = read_associations(associations)
    if assoc is not None:
        out[ASSOCIATIONS_KEY] = assoc
        if active_channel is not None and str(active_channel) in payload:
            top = int(payload[str(active_channel)]["masks"].max())
            out[OBJECT_IDS_KEY] = object_ids_for(assoc, active_channel, top)
    return out
