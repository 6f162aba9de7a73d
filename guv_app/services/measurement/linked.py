"""Measure the label set of every channel of a plane and tag rows with their ``link_id``.

A label file may hold one set of objects per channel (MultiCellPose 0.9's
``channel_segmentations``) linked across channels (``associations``; see
``guv_app.services.linking``). For such a file every channel's set is measured on all image
channels and its rows get two columns after the key columns:

* ``label_channel``: the channel whose label set the object belongs to (-1: the shared
  set, measured only when it differs from every channel's set);
* ``link_id``: the linked object (the group's ``object_id``) the object belongs to, 0 when
  unlinked.

A file without channel sets but with 0.9's ``object_ids`` gets ``link_id`` on its rows; a
plain file is measured as before (no extra columns; they stay empty in a CSV of a mixed
folder). :func:`per_link_table` turns the rows into one row per linked object with the
columns of each channel's object side by side (``<column>_set<c>``), so per linked object
the membrane intensity in channel 0 can be compared with the content intensity in
channel 1.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from guv_app.plugins.base import MeasurementPlugin, Table
from guv_app.services.linking import LinkError, LinkSet, from_associations
from guv_app.services.measurement.runner import ImageMeasurement, measure_arrays

log = logging.getLogger(__name__)
_SET_COLUMN = re.compile(r"^.+_set\d+$")

SHARED_SET = -1  # label_channel of the shared (default) set's rows
LINK_COLUMNS = ("label_channel", "link_id")
#: Columns of the per-link table that identify the plane and the link (not suffixed).
PER_LINK_KEYS = ("image", "series", "t", "z", "time_s", "z_um", "link_id")


@dataclass
class LabelSet:
    """One set of objects: its channel (``SHARED_SET`` for the shared one), (H, W) masks,
    classes per id (or None), ``link_ids[mask_id]`` (int64, 0 = unlinked) and its class
    names (None: the file's)."""

    channel: int
    masks: np.ndarray
    classes: np.ndarray | None
    link_ids: np.ndarray
    class_names: list[str] | None = None


def _key(seg: Any, name: str) -> Any:
    """A file key of a ``SegData``: its attribute when the reader parses it, else ``extra``."""
    value = getattr(seg, name, None)
    if value is None:
        value = (getattr(seg, "extra", None) or {}).get(name)
    return value


def _plain_masks(masks: Any) -> np.ndarray:
    arr = np.asarray(masks)
    return arr[0] if arr.ndim == 3 and arr.shape[0] == 1 else arr


def channel_sets(seg: Any) -> dict[int, tuple[np.ndarray, np.ndarray | None, list[str] | None]]:
    """``{channel: (masks, classes, class names or None)}`` of a label file's per-channel
    sets (may be empty): ``SegData.channel_sets`` (``cellpose_io.channel_labels``), else the
    raw ``channel_segmentations`` key."""
    out: dict[int, tuple[np.ndarray, np.ndarray | None, list[str] | None]] = {}
    parsed = getattr(seg, "channel_sets", None)
    if parsed:
        for channel, cset in parsed.items():
            out[int(channel)] = (_plain_masks(cset.masks), np.asarray(cset.classes),
                                 list(getattr(cset, "class_names", None) or []) or None)
        return dict(sorted(out.items()))
    raw = (getattr(seg, "extra", None) or {}).get("channel_segmentations")
    if isinstance(raw, Mapping):
        for channel, entry in raw.items():
            if isinstance(entry, Mapping) and entry.get("masks") is not None:
                classes = entry.get("classes")
                if classes is None:
                    classes = entry.get("mask_classes")
                out[int(channel)] = (_plain_masks(entry["masks"]),
                                     None if classes is None else np.asarray(classes).ravel(),
                                     None)
    return dict(sorted(out.items()))


def file_links(seg: Any, sets: Mapping[int, tuple] | None = None) -> LinkSet:
    """The label file's links without members whose mask is absent (deleted objects)."""
    try:
        links = from_associations(_key(seg, "associations"),
                                  source=str(getattr(seg, "path", "") or "associations"))
    except LinkError as exc:
        log.warning("%s: links ignored", exc)
        return LinkSet()
    sets = channel_sets(seg) if sets is None else sets
    return links.pruned({c: np.unique(m)[1:] for c, (m, *_) in sets.items()})


def label_sets(seg: Any) -> list[LabelSet] | None:
    """The sets to measure of a label file with channel sets or links; None for a plain file."""
    sets = channel_sets(seg)
    object_ids = _key(seg, "object_ids")
    masks = np.asarray(seg.masks)
    if not sets:
        if object_ids is None:
            return None
        lut = np.asarray(object_ids).astype(np.int64).ravel()
        return [LabelSet(SHARED_SET, masks, seg.classes, lut)]
    links = file_links(seg, sets)
    out = []
    if not any(m.shape == masks.shape and np.array_equal(m, masks) for m, *_ in sets.values()):
        out.append(LabelSet(SHARED_SET, masks, seg.classes, np.zeros(1, np.int64)))
    for channel, (m, classes, class_names) in sets.items():
        out.append(LabelSet(channel, m, classes, links.object_id_lut(channel).astype(np.int64),
                            class_names))
    return out


def _tagged(table: Table, label_set: LabelSet, with_channel: bool) -> Table:
    ids = np.asarray(table["object_id"], np.int64)
    lut = label_set.link_ids
    link = np.where(ids < len(lut), lut[np.minimum(ids, len(lut) - 1)], 0) if len(lut) else \
        np.zeros(len(ids), np.int64)
    extra: Table = {"link_id": link.astype(np.int64)}
    if with_channel:
        extra = {"label_channel": np.full(len(ids), label_set.channel, np.int64), **extra}
    keys = ("image", "object_id", "class_id", "class_name")
    head = {k: table[k] for k in keys if k in table}
    return {**head, **extra, **{k: v for k, v in table.items() if k not in head}}


def _concat(tables: Sequence[Table]) -> Table:
    return {k: np.concatenate([np.asarray(t[k]) for t in tables]) for k in tables[0]}


def measure_label_sets(
    channels: np.ndarray,
    seg: Any,
    plugins: Sequence[tuple[MeasurementPlugin, dict[str, Any]]],
    image: str = "",
    plugin_timeout: float | None | str = "default",
) -> ImageMeasurement:
    """Measure a label file's sets (see the module doc) on one (C, Y, X) plane.

    A plain file is measured as :func:`measure_arrays` does. A plugin that fails on one set
    is reported (naming the set) and its columns are left out for the whole plane, so every
    kept table has a row for every object of every set. Raises ``MeasurementError`` like
    :func:`measure_arrays`.
    """
    names = list(seg.class_names or [])
    sets = label_sets(seg)
    if sets is None:
        return measure_arrays(channels, seg.masks, seg.classes, names, plugins, image,
                              plugin_timeout)
    with_channel = any(s.channel != SHARED_SET for s in sets)
    parts = [(s, measure_arrays(channels, s.masks, s.classes, s.class_names or names, plugins,
                                image, plugin_timeout)) for s in sets]
    errors: dict[str, str] = {}
    warnings: dict[str, str] = {}
    for s, m in parts:
        where = "shared labels" if s.channel == SHARED_SET else f"labels of channel {s.channel}"
        for name, text in m.errors.items():
            errors.setdefault(name, f"{where}: {text}")
        for name, text in m.warnings.items():
            warnings.setdefault(name, f"{where}: {text}")
    key = _concat([_tagged(m.key, s, with_channel) for s, m in parts])
    tables = {}
    for plugin, _ in plugins:
        if plugin.name not in errors:
            tables[plugin.name] = _concat([_tagged(m.tables[plugin.name], s, with_channel)
                                           for s, m in parts])
    return ImageMeasurement(image, sum(m.n_objects for _, m in parts), key, tables, errors,
                            warnings)


def is_per_link_table(table: Table) -> bool:
    """True for a table already in the per-link layout (read back from its CSV)."""
    return "link_id" in table and "label_channel" not in table and any(
        _SET_COLUMN.match(k) for k in table)


def _stack(tables: Sequence[Table]) -> Table:
    """Tables with link rows stacked on the columns they all have."""
    linked = [t for t in tables if "label_channel" in t and "link_id" in t]
    if not linked:
        return {}
    shared = [c for c in linked[0] if all(c in t for t in linked)]
    return {c: np.concatenate([np.asarray(t[c]) for t in linked]) for c in shared}


def per_link_table(table: Table | Sequence[Table]) -> Table:
    """One row per linked object (``link_id`` > 0) of every plane, each channel's object
    side by side: ``image``, ``series``, ``t``, ``z`` (and ``time_s`` / ``z_um``),
    ``link_id``, then every other column of the rows as ``<column>_set<c>`` for each label
    channel c (NaN / "" where the link has no object in that channel's set).

    ``table`` holds rows with ``label_channel`` and ``link_id`` (:func:`measure_label_sets`,
    merged or read back from CSV), or a list of such tables (rows stacked); an empty table
    is returned when none has link rows.
    """
    if not isinstance(table, Mapping):
        table = _stack(table)
    if "link_id" not in table or "label_channel" not in table:
        return {}
    link = np.asarray(table["link_id"], np.float64)
    chan = np.asarray(table["label_channel"], np.float64)
    keep = np.isfinite(link) & (link > 0) & np.isfinite(chan) & (chan >= 0)
    if not keep.any():
        return {}
    plane_keys = [k for k in PER_LINK_KEYS if k in table]
    group_keys = [k for k in plane_keys if k not in ("time_s", "z_um")]  # follow the plane
    rows: dict[tuple, int] = {}
    columns = [np.asarray(table[k])[keep].tolist() for k in group_keys]
    row_of = np.array([rows.setdefault(key, len(rows)) for key in zip(*columns, strict=True)],
                      np.int64)
    first = np.zeros(len(rows), np.int64)
    first[row_of[::-1]] = np.flatnonzero(keep)[::-1]  # the first row of each link
    out: Table = {k: np.asarray(table[k])[first] for k in plane_keys}
    out["link_id"] = out["link_id"].astype(np.int64)
    chans = np.asarray(chan[keep], np.int64)
    skip = set(plane_keys) | set(LINK_COLUMNS)
    for c in sorted(set(chans.tolist())):
        here = chans == c
        for column, values in table.items():
            if column in skip:
                continue
            src = np.asarray(values)[keep][here]
            if src.dtype.kind in "iufb":
                col = np.full(len(rows), np.nan)
                col[row_of[here]] = src.astype(np.float64)
                if src.dtype.kind in "iu" and (np.bincount(row_of[here], minlength=len(rows))
                                               == 1).all():
                    col = col.astype(np.int64)
            else:
                col = np.full(len(rows), "", dtype=object)
                col[row_of[here]] = src
            out[f"{column}_set{c}"] = col
    return out
