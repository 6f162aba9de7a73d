"""``_seg.npy`` label files: written the way the Cellpose GUI reads them, plus class data.

A ``_seg.npy`` file is ``np.save`` of a pickled dict. Upstream Cellpose writes ``masks``,
``outlines``, ``chan_choose``, ``ismanual``, ``filename``, ``flows`` and ``diameter``; its GUI
opens a file with only masks/outlines/filename/ismanual and ignores extra keys. We add
``classes`` (int32 per object id), ``class_names`` (background first), ``class_colors``
(uint8 (N+1, 3)) and ``mcp_seg_version``. We do not write MultiCellPose 0.9's per-pixel
``classes_map``: it duplicates ``classes`` at image size and goes stale after an edit;
reading still derives classes from it by majority vote. Label sets per channel and links
across channels (0.9's ``channel_segmentations``, ``active_channel_index``, ``associations``,
``object_ids``) are read and written by :mod:`cellpose_io.channel_labels`; the top-level
``masks``/``classes`` stay the default (shared) set, the one the Cellpose GUI shows.

Loading goes through a restricted unpickler (``safe_pickle``), so a crafted file cannot run
code, and every problem surfaces as ``LabelReadError(path, reason)``.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cellpose_io import channel_labels
from cellpose_io.atomic import atomic_write
from cellpose_io.errors import LabelReadError
from cellpose_io.label_classes import (
    MAX_CLASS_ID,
    classes_from_map,
    mask_dtype_for,
    normalise_class_table,
    renumber_sparse_ids,
)
from cellpose_io.label_paths import (  # re-exported: where label files live
    check_own_label_file,
    images_sharing_labels,
    parse_plane_tag,
    plane_of_file,
    plane_tag,
    seg_path_for,
)
from cellpose_io.outlines import outlines_from_masks
from cellpose_io.safe_pickle import load_pickled_npy
from cellpose_io.suffixes import PRED_SUFFIX, SEG_SUFFIX

__all__ = [
    "METADATA_KEYS", "SegData", "images_sharing_labels", "load_seg", "save_seg",
    "seg_path_for", "write_seg", "mask_dtype_for", "plane_tag", "save_seg_volume",
    "SEG_SUFFIX", "PRED_SUFFIX", "parse_plane_tag", "plane_of_file",
]

log = logging.getLogger(__name__)

SEG_FORMAT_VERSION = 1
# Keys this module interprets; anything else in a file is kept in SegData.extra.
_KNOWN_KEYS = {
    "masks", "outlines", "filename", "ismanual", "chan_choose", "diameter", "flows",
    "classes", "classes_map", "class_names", "class_colors", "mcp_seg_version",
    *channel_labels.CHANNEL_KEYS,
}
#: The bookkeeping keys MultiCellPose may add to a ``_seg.npy`` (``save_seg(metadata=...)``);
#: any other key is refused, so no stray key reaches a user's files.
METADATA_KEYS: dict[str, str] = {
    "mcp_pred_model": "name of the model that made this prediction (str)",
    "mcp_pred_params_hash": "hash of model + segmentation parameters, to skip reruns (str)",
    "mcp_pred_params": "the segmentation parameters of the prediction (dict)",
    "mcp_pred_edited": "True once the prediction was corrected by hand (bool)",
    "mcp_pred_created": "when the prediction was written, ISO 8601 UTC (str)",
    "promoted_from": "model whose prediction became these training labels (str)",
    "mcp_labels_from": "the mask image these labels were made from: {file, sha256} (dict)",
    "mcp_imported_from": "name of the file (e.g. an ImageJ RoiSet) these labels came from (str)",
    "mcp_anisotropy": "Z sampling / XY pixel size a 3-D prediction was made with (float)",
    # label sets per channel (MultiCellPose 0.9's keys; written through save_seg's
    # channel_sets= / active_channel= / associations=, read into SegData; layout and rules in
    # cellpose_io.channel_labels). The top-level masks/classes stay the shared set.
    "channel_segmentations": "objects labelled per channel: {str(channel): {'masks': (H, W) "
                             "uint16/uint32, 'classes': int16 per id, 'class_names', "
                             "'class_colors'}} (0.9 also wrote 'mask_classes', "
                             "'classes_map', 'instance_colors'; masks (1, H, W)) (dict)",
    "active_channel_index": "the channel whose set was being labelled; absent when it was "
                            "the shared set (int)",
    "associations": "objects linked across channels: {'version': 1, 'next_object_id': int, "
                    "'groups': [{'object_id': int, 'members': [{'channel': int, "
                    "'mask_id': int}]}]}; object_id is measure's link_id (dict)",
    "object_ids": "linked object id per mask id of the active channel, 0 = none; derived "
                  "from associations on save (int32 array)",
}


@dataclass
class SegData:
    """Everything in a ``_seg.npy`` file, normalised.

    ``masks`` (H, W) uint16, or uint32 when the largest id is >= 65535; ``classes`` int32
    indexed by object id (``classes[0] == 0``, 0 = unassigned); ``class_names[0] ==
    "background"``; one RGB tuple per class name; ``ismanual`` bool per id 1..max_id;
    ``extra`` keeps keys we do not interpret (e.g. upstream's ``img``, ``colors``) so a
    load/save round trip loses nothing.
    """

    masks: np.ndarray
    classes: np.ndarray
    class_names: list[str]
    class_colors: list[tuple[int, int, int]]
    filename: str
    outlines: np.ndarray | None = None
    ismanual: np.ndarray | None = None
    diameter: float | None = None
    chan_choose: list[int] = field(default_factory=lambda: [0, 0])
    flows: list[Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    # label sets per channel (cellpose_io.channel_labels): {channel: ChannelSet}, the
    # channel being labelled (None: the shared set), links across channels (0.9 layout)
    # and 0.9's object_ids as read (int32 per mask id of the active channel, or None)
    channel_sets: dict[int, channel_labels.ChannelSet] = field(default_factory=dict)
    active_channel: int | None = None
    associations: dict | None = None
    object_ids: np.ndarray | None = None

    @property
    def max_id(self) -> int:
        return int(self.masks.max()) if self.masks.size else 0

    @property
    def n_classes(self) -> int:
        """Number of user classes (background not counted)."""
        return len(self.class_names) - 1


def _as_masks(masks: Any) -> np.ndarray:
    """Validate an instance mask (H, W) (or (1, H, W)) and give it the stored dtype."""
    arr = np.asarray(masks)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise ValueError(f"masks must be 2-D (H, W), got shape {arr.shape}")
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.array_equal(arr, np.round(arr)):
            raise ValueError("masks must hold whole-number object ids, got fractions/NaN")
    elif arr.dtype.kind not in "ui":
        raise ValueError(f"masks must be an integer array, got dtype {arr.dtype}")
    lo = arr.min() if arr.size else 0
    hi = arr.max() if arr.size else 0
    if lo < 0:
        raise ValueError(f"masks hold a negative id ({int(lo)})")
    return arr.astype(mask_dtype_for(int(hi)), copy=False)


def _as_classes(classes: Any, max_id: int) -> np.ndarray:
    if classes is None:
        return np.zeros(max_id + 1, dtype=np.int32)
    arr = np.asarray(classes)
    if arr.ndim != 1 or arr.dtype.kind not in "uib":
        raise ValueError(
            f"classes must be a 1-D integer vector indexed by object id, got "
            f"shape {arr.shape} dtype {arr.dtype}"
        )
    if len(arr) != max_id + 1:
        raise ValueError(
            f"classes has {len(arr)} entries but masks have ids up to {max_id} "
            f"(need {max_id + 1}, entry 0 for the background)"
        )
    if arr.size and arr.min() < 0:
        raise ValueError("classes hold a negative class id")
    out = arr.astype(np.int32)
    out[0] = 0
    return out


def _check_storable(value: Any, where: str) -> None:
    """Refuse values our own restricted loader could not read back."""
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes, np.generic)):
        if isinstance(value, np.generic) and value.dtype.hasobject:
            raise TypeError(f"{where}: object-dtype numpy scalars cannot be stored")
        return
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            for i, item in enumerate(value.flat):
                _check_storable(item, f"{where}[{i}]")
        return
    if isinstance(value, (list, tuple, set, frozenset)):
        for i, item in enumerate(value):
            _check_storable(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key, f"{where} key")
            _check_storable(item, f"{where}[{key!r}]")
        return
    raise TypeError(
        f"{where}: {type(value).__name__} cannot be stored in a _seg.npy file "
        "(use numpy arrays, numbers, strings, lists, tuples or dicts)"
    )


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
    masks = _as_masks(masks)
    masks, classes, renumbered = renumber_sparse_ids(masks, classes)
    if renumbered:
        log.warning("%s: sparse object ids renumbered 1..%d before saving",
                    image_path, int(masks.max()))
    max_id = int(masks.max()) if masks.size else 0
    classes_arr = _as_classes(classes, max_id)
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
        if key in dat or key in _KNOWN_KEYS or key in METADATA_KEYS:
            raise ValueError(f"preserved key {key!r} clashes with a key save_seg writes itself")
        dat[key] = value
    for key, value in dat.items():
        _check_storable(value, key)

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
    adds keys of :data:`METADATA_KEYS` (a prediction's model and settings). :func:`load_seg` reads only
    2-D label images and refuses this file with a clear message. Atomic like
    :func:`save_seg`; ValueError for anything but a 3-D integer array.
    """
    arr = np.asarray(masks)
    if arr.ndim != 3 or arr.shape[0] < 2:
        raise ValueError(f"a volume's masks must be (Z, Y, X) with Z >= 2, got {arr.shape}")
    arr = np.stack([_as_masks(plane) for plane in arr]).astype(
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
        _check_storable(value, key)
        dat[key] = value
    target = Path(out_path)
    atomic_write(target, lambda fh: np.save(fh, dat, allow_pickle=True))
    return target


def write_seg(data: SegData, out_path: str | os.PathLike | None = None) -> Path:
    """Save a :class:`SegData` (e.g. after editing one loaded with :func:`load_seg`);
    its ``extra`` keys go back as metadata (ours) or preserved (foreign) keys."""
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


# ----------------------------------------------------------------------------- reading


def _read_masks(path: Path, raw: Any) -> np.ndarray:
    if not isinstance(raw, np.ndarray):
        raise LabelReadError(path, f"'masks' is a {type(raw).__name__}, not an array")
    arr = raw
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise LabelReadError(
            path, f"'masks' has shape {raw.shape}; only 2-D (H, W) label images are supported"
        )
    if arr.dtype.kind in "i" and arr.size and arr.min() == -1:
        arr = arr.astype(np.int64) + 1  # very old Cellpose files count from -1
    try:
        return _as_masks(arr)
    except ValueError as exc:
        raise LabelReadError(path, f"'masks': {exc}") from exc


def _read_classes(path: Path, dat: dict, masks: np.ndarray, max_id: int) -> np.ndarray:
    raw = dat.get("classes")
    class_map = dat.get("classes_map")
    if raw is not None and np.ndim(raw) >= 2:
        class_map, raw = raw, None  # some 0.9 files stored the per-pixel map as "classes"
    if raw is not None:
        arr = np.asarray(raw)
        if arr.dtype.kind not in "uifb" or (
            arr.dtype.kind == "f" and not np.array_equal(arr, np.round(arr))
        ):
            raise LabelReadError(path, f"'classes' must hold integer class ids, got {arr.dtype}")
        arr = arr.reshape(-1).astype(np.int64)
        if len(arr) < max_id + 1:
            raise LabelReadError(
                path,
                f"'classes' has {len(arr)} entries but masks have ids up to {max_id} "
                f"(classes length mismatch, need {max_id + 1})",
            )
        if len(arr) > max_id + 1:
            log.info("%s: ignoring %d class entries beyond the largest id %d",
                     path, len(arr) - max_id - 1, max_id)
            arr = arr[: max_id + 1]
        if arr.size and arr.min() < 0:
            raise LabelReadError(path, "'classes' holds a negative class id")
        arr = arr.astype(np.int32)
        arr[0] = 0
        return arr
    if class_map is not None:
        cmap = np.asarray(class_map)
        if cmap.ndim == 3 and cmap.shape[0] == 1:
            cmap = cmap[0]
        if cmap.shape != masks.shape or cmap.dtype.kind not in "uifb":
            raise LabelReadError(
                path, f"'classes_map' has shape {cmap.shape}, masks have {masks.shape}"
            )
        return classes_from_map(masks, cmap)
    return np.zeros(max_id + 1, dtype=np.int32)


def _read_optional(path: Path, dat: dict, masks: np.ndarray, max_id: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    outlines = dat.get("outlines")
    if isinstance(outlines, np.ndarray) and outlines.ndim == 3 and outlines.shape[0] == 1:
        outlines = outlines[0]
    if isinstance(outlines, np.ndarray) and outlines.shape == masks.shape:
        out["outlines"] = outlines.astype(masks.dtype)
    else:
        out["outlines"] = outlines_from_masks(masks)
    ismanual = dat.get("ismanual")
    if ismanual is not None and np.ndim(ismanual) == 1 and len(ismanual) == max_id:
        out["ismanual"] = np.asarray(ismanual, dtype=bool)
    else:
        out["ismanual"] = np.zeros(max_id, dtype=bool)
    diameter = dat.get("diameter")
    try:
        diameter = None if diameter is None else float(np.asarray(diameter).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        diameter = None
    out["diameter"] = None if diameter is None or math.isnan(diameter) else diameter
    chan = dat.get("chan_choose", [0, 0])
    try:
        out["chan_choose"] = [int(c) for c in np.asarray(chan).reshape(-1)]
    except (TypeError, ValueError):
        out["chan_choose"] = [0, 0]
    flows = dat.get("flows")
    out["flows"] = list(flows) if isinstance(flows, (list, tuple)) and len(flows) else None
    return out


def load_seg(path: str | os.PathLike, shape: tuple[int, int] | None = None) -> SegData:
    """Read a ``_seg.npy`` written by us, by Cellpose, or by MultiCellPose 0.9.x.

    With ``shape`` (the image's (H, W)), labels of another size are refused with a
    :class:`LabelReadError` saying both sizes.

    Files without class keys read as all objects unassigned (class 0). 0.9 files with a
    per-pixel ``classes_map`` ((H, W) or (1, H, W)) get per-object classes by majority
    vote. Sparse ids too large for tables indexed by id are renumbered 1..N in order.
    Raises only :class:`LabelReadError` naming the file and the problem, whatever the
    file holds (``MemoryError``, ``RecursionError`` and surprises included), so a caller
    can skip this one file.
    """
    try:
        seg = _load_seg(Path(path))
    except LabelReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a hostile file triggers names the file
        log.debug("unexpected failure reading %s", path, exc_info=True)
        text = " ".join(str(exc).split())
        raise LabelReadError(
            path, f"unreadable ({type(exc).__name__}{': ' + text[:200] if text else ''})"
        ) from exc
    if shape is not None and tuple(seg.masks.shape) != tuple(shape):
        (h, w), (H, W) = seg.masks.shape, shape
        raise LabelReadError(path, f"labels are {h}x{w} but the image is {H}x{W}")
    return seg


def _load_seg(path: Path) -> SegData:
    obj = load_pickled_npy(path)
    if isinstance(obj, np.ndarray) and obj.dtype.hasobject and obj.size == 1:
        obj = obj.reshape(-1)[0]
    if not isinstance(obj, dict):
        raise LabelReadError(path, f"holds a {type(obj).__name__}, not a _seg.npy dictionary")
    if "masks" not in obj:
        if isinstance(obj.get("outlines"), list):
            raise LabelReadError(path, "old Cellpose outline-list file without 'masks'")
        raise LabelReadError(path, f"missing key 'masks' (keys: {sorted(map(str, obj))})")
    masks = _read_masks(path, obj["masks"])
    raw_classes = obj.get("classes")
    vector = raw_classes if isinstance(raw_classes, np.ndarray) and raw_classes.ndim == 1 \
        and raw_classes.dtype.kind in "uib" else None
    masks, moved, renumbered = renumber_sparse_ids(masks, vector)
    if renumbered:  # ids up to 2**32-1 are valid, but no table is built per possible id
        log.warning("%s: sparse object ids renumbered 1..%d in order (as the Cellpose GUI "
                    "does)", path, int(masks.max()))
        obj = {**obj, "classes": moved}
    max_id = int(masks.max()) if masks.size else 0
    classes = _read_classes(path, obj, masks, max_id)
    n_user = int(classes.max()) if classes.size else 0
    if n_user > MAX_CLASS_ID:
        raise LabelReadError(
            path, f"'classes' uses class id {n_user}, above the limit of {MAX_CLASS_ID} classes"
        )
    try:
        names, colors = normalise_class_table(
            obj.get("class_names"), obj.get("class_colors"), n_user
        )
        named = len(normalise_class_table(obj.get("class_names"), None, 0)[0])
    except (ValueError, TypeError) as exc:
        raise LabelReadError(path, f"unreadable class table: {exc}") from exc
    if obj.get("class_names") is not None and n_user >= named:
        log.warning("%s: objects use class %d but only %d classes are named; "
                    "added placeholder names", path, n_user, named - 1)
    filename = obj.get("filename", "")
    filename = filename.decode("utf-8", "replace") if isinstance(filename, bytes) else filename
    optional = _read_optional(path, obj, masks, max_id)
    extra = {k: v for k, v in obj.items() if k not in _KNOWN_KEYS}
    per_channel = channel_labels.read_channel_keys(
        path, obj, masks.shape, obj.get("class_names"), obj.get("class_colors"))
    return SegData(
        masks=masks,
        classes=classes,
        class_names=names,
        class_colors=colors,
        filename=str(filename),
        extra=extra,
        path=path,
        **optional,
        **per_channel,
    )
