"""Reading ``_seg.npy`` files written by us, by Cellpose, or by MultiCellPose 0.9.x.

A label file comes from anywhere (another lab, an old Cellpose, a crafted attachment), so
loading goes through a restricted unpickler (:mod:`cellpose_io.safe_pickle`) that cannot
run code, older layouts are normalised into one :class:`~cellpose_io.seg_format.SegData`
(very old ids counting from -1, 0.9's per-pixel ``classes_map``, sparse ids), and every
problem surfaces as one ``LabelReadError(path, reason)`` so a caller can skip that file.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from cellpose_io import channel_labels
from cellpose_io.errors import LabelReadError
from cellpose_io.label_classes import (
    MAX_CLASS_ID,
    classes_from_map,
    normalise_class_table,
    renumber_sparse_ids,
)
from cellpose_io.outlines import outlines_from_masks
from cellpose_io.safe_pickle import load_pickled_npy
from cellpose_io.seg_format import KNOWN_KEYS, SegData
from cellpose_io.seg_values import as_masks

__all__ = ["load_seg"]

log = logging.getLogger(__name__)


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
        return as_masks(arr)
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
    extra = {k: v for k, v in obj.items() if k not in KNOWN_KEYS}
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
