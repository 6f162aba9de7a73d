"""Writing ``_seg.npy`` files the way the Cellpose GUI reads them, atomically.

Every value is checked before anything touches the disk (bad input raises
ValueError/TypeError and leaves the old file as it was), then the dict is written through
:func:`cellpose_io.atomic.atomic_write`, so a crash mid-save keeps the previous file. The
layout written is described in :mod:`cellpose_io.seg_format`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cellpose_io import channel_labels
from cellpose_io.atomic import atomic_write
from cellpose_io.label_classes import (
    mask_dtype_for,
    normalise_class_table,
    renumber_sparse_ids,
)
from cellpose_io.label_paths import check_own_label_file, seg_path_for
from cellpose_io.outlines import outlines_from_masks
from cellpose_io.seg_format import KNOWN_KEYS, METADATA_KEYS, SEG_FORMAT_VERSION, SegData
from cellpose_io.seg_values import as_classes, as_masks, check_storable
from cellpose_io.suffixes import SEG_SUFFIX

__all__ = ["save_seg", "save_seg_volume", "write_seg"]

log = logging.getLogger(__name__)


def save_seg(
    image_path: str | os.PathLike,
    masks: np.ndarray,
    classes: np.ndarray | None = None,
    class_names: list[str] | None = None,
    class_colors: list[Any] | None = None,
    *,
    out_path: str | os.PathLike | None = None,
    suffix: str = SEG_SUFFIX,
    outlines: np.ndarray | None = None,
    ismanual: np.ndarray | None = None,
    diameter: float | None = None,
    chan_choose: list[int] | None = None,
    flows: list[Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    preserved: Mapping[str, Any] | None = None,
    channel_sets: Mapping[int, channel_labels.ChannelSet] | None = None,
    active_channel: int | None = None,
    associations: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``masks`` (and classes) for ``image_path`` as a Cellpose-readable ``_seg.npy``.

    The file holds exactly: upstream Cellpose's keys (``masks``, ``outlines`` -- computed
    when not given --, ``chan_choose``, ``ismanual`` (bool per id 1..max_id), ``filename``,
    ``diameter``, ``flows`` in Cellpose's layout, omitted when empty), ours (``classes``,
    ``class_names``, ``class_colors``, ``mcp_seg_version``), the ``metadata`` keys (each
    one of :data:`METADATA_KEYS`) and ``preserved``: keys read from an existing file that we
    do not interpret (``SegData.extra``, e.g. upstream's ``img``), written back unchanged so
    a load/save round trip loses nothing. ``channel_sets`` ({channel: ChannelSet}),
    ``active_channel`` and ``associations`` add the per-channel keys of
    :mod:`cellpose_io.channel_labels` (0.9's layout). The write is atomic: a crash leaves
    the previous file intact. Raises ValueError/TypeError for bad input (unknown metadata key, a
    preserved key that clashes with ours, unstorable values) before anything is written.
    """
    masks = as_masks(masks)
    masks, classes, renumbered = renumber_sparse_ids(masks, classes)
    if renumbered:
        log.warning("%s: sparse object ids renumbered 1..%d before saving",
                    image_path, int(masks.max()))
    max_id = int(masks.max()) if masks.size else 0
    classes_arr = as_classes(classes, max_id)
    n_user = int(classes_arr.max()) if classes_arr.size else 0
    if class_names is not None:
        named = len(normalise_class_table(class_names, None, 0)[0])
        if n_user >= named:
            raise ValueError(f"classes use class {n_user} but only {named - 1} classes are named")
    names, colors = normalise_class_table(class_names, class_colors, n_user)

    if outlines is None:
        outlines = outlines_from_masks(masks)
    else:
        outlines = np.asarray(outlines)
        if outlines.shape != masks.shape:
            raise ValueError(f"outlines shape {outlines.shape} != masks shape {masks.shape}")
        outlines = outlines.astype(masks.dtype)
    ismanual = (
        np.zeros(max_id, dtype=bool) if ismanual is None else np.asarray(ismanual, dtype=bool)
    )
    if ismanual.shape != (max_id,):
        raise ValueError(f"ismanual must have one entry per id 1..{max_id}, got {ismanual.shape}")
    chan_choose = [int(c) for c in chan_choose or [0, 0]]

    dat: dict[str, Any] = {
        "masks": masks,
        "outlines": outlines,
        "chan_choose": chan_choose,
        "ismanual": ismanual,
        "filename": os.fspath(Path(image_path).absolute()),
        "diameter": float("nan") if diameter is None else float(diameter),
        "classes": classes_arr,
        "class_names": list(names),
        "class_colors": np.asarray(colors, dtype=np.uint8).reshape(-1, 3),
        "mcp_seg_version": SEG_FORMAT_VERSION,
    }
    if flows is not None and len(flows) > 0:
        dat["flows"] = list(flows)
    unknown = sorted(set(metadata or {}) - set(METADATA_KEYS))
    if unknown:
        raise ValueError(f"unknown _seg.npy metadata key(s) {', '.join(map(repr, unknown))} "
                         f"(known: {', '.join(METADATA_KEYS)})")
    routed = sorted(set(metadata or {}) & set(channel_labels.CHANNEL_KEYS))
    if routed:
        raise ValueError(f"{', '.join(routed)}: pass label sets per channel as channel_sets= "
                         "/ active_channel= / associations=, not as metadata")
    dat.update(metadata or {})
    dat.update(channel_labels.channel_keys(
        dict(channel_sets or {}), active_channel,
        None if associations is None else dict(associations), masks.shape))
    for key, value in (preserved or {}).items():
        if key in dat or key in KNOWN_KEYS or key in METADATA_KEYS:
            raise ValueError(f"preserved key {key!r} clashes with a key save_seg writes itself")
        dat[key] = value
    for key, value in dat.items():
        check_storable(value, key)

    target = Path(out_path) if out_path is not None else seg_path_for(image_path, suffix)
    check_own_label_file(image_path, target)
    atomic_write(target, lambda fh: np.save(fh, dat, allow_pickle=True))
    log.debug("saved %d objects to %s", max_id, target)
    return target


def save_seg_volume(
    image_path: str | os.PathLike,
    masks: np.ndarray,
    out_path: str | os.PathLike,
    *,
    diameter: float | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write a 3-D segmentation (Z, Y, X) of a Z stack as the Cellpose GUI saves one.

    Upstream's 3-D ``_seg.npy`` holds ``masks`` and ``outlines`` of shape (Z, Y, X); its GUI
    opens such a file with the stack. Objects carry no class (all unassigned). ``metadata``
    adds keys of :data:`METADATA_KEYS` (a prediction's model and settings).
    :func:`~cellpose_io.seg_read.load_seg` reads only 2-D label images and refuses this file
    with a clear message. Atomic like :func:`save_seg`; ValueError for anything but a 3-D
    integer array.
    """
    arr = np.asarray(masks)
    if arr.ndim != 3 or arr.shape[0] < 2:
        raise ValueError(f"a volume's masks must be (Z, Y, X) with Z >= 2, got {arr.shape}")
    arr = np.stack([as_masks(plane) for plane in arr]).astype(
        mask_dtype_for(int(arr.max()) if arr.size else 0), copy=False)
    max_id = int(arr.max()) if arr.size else 0
    dat: dict[str, Any] = {
        "masks": arr,
        "outlines": np.stack([outlines_from_masks(plane) for plane in arr]),
        "chan_choose": [0, 0],
        "ismanual": np.zeros(max_id, dtype=bool),
        "filename": os.fspath(Path(image_path).absolute()),
        "diameter": float("nan") if diameter is None else float(diameter),
        "classes": np.zeros(max_id + 1, np.int32),
        "class_names": ["background"],
        "class_colors": np.zeros((1, 3), np.uint8),
        "mcp_seg_version": SEG_FORMAT_VERSION,
    }
    unknown = sorted(set(metadata or {}) - set(METADATA_KEYS))
    if unknown:
        raise ValueError(f"unknown _seg.npy metadata key(s) {', '.join(map(repr, unknown))}")
    for key, value in (metadata or {}).items():
        check_storable(value, key)
        dat[key] = value
    target = Path(out_path)
    atomic_write(target, lambda fh: np.save(fh, dat, allow_pickle=True))
    return target


def write_seg(data: SegData, out_path: str | os.PathLike | None = None) -> Path:
    """Save a :class:`SegData` (e.g. after editing one loaded with
    :func:`~cellpose_io.seg_read.load_seg`); its ``extra`` keys go back as metadata (ours)
    or preserved (foreign) keys."""
    metadata = {k: v for k, v in data.extra.items() if k in METADATA_KEYS}
    preserved = {k: v for k, v in data.extra.items() if k not in METADATA_KEYS}
    return save_seg(
        data.filename, data.masks, data.classes, data.class_names, data.class_colors,
        out_path=out_path if out_path is not None else data.path,
        outlines=data.outlines, ismanual=data.ismanual, diameter=data.diameter,
        chan_choose=data.chan_choose, flows=data.flows, metadata=metadata,
        preserved=preserved, channel_sets=data.channel_sets,
        active_channel=data.active_channel, associations=data.associations,
    )
