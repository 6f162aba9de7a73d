"""Checks on the values that go into a ``_seg.npy``, shared by its reader and its writer.

An instance mask is validated the same way whether it comes from a caller (``save_seg``)
or from a file (``load_seg``), and a value is only written when our own restricted
unpickler (:mod:`cellpose_io.safe_pickle`) can read it back. Each check raises
ValueError/TypeError with a message naming the problem; the reader wraps them in
:class:`~cellpose_io.errors.LabelReadError` with the file's name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cellpose_io.label_classes import mask_dtype_for

__all__ = ["as_classes", "as_masks", "check_storable"]


def as_masks(masks: Any) -> np.ndarray:
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


def as_classes(classes: Any, max_id: int) -> np.ndarray:
    """A caller's class vector as stored: int32 indexed by object id, entry 0 = 0."""
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


def check_storable(value: Any, where: str) -> None:
    """Refuse values our own restricted loader could not read back."""
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes, np.generic)):
        if isinstance(value, np.generic) and value.dtype.hasobject:
            raise TypeError(f"{where}: object-dtype numpy scalars cannot be stored")
        return
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            for i, item in enumerate(value.flat):
                check_storable(item, f"{where}[{i}]")
        return
    if isinstance(value, (list, tuple, set, frozenset)):
        for i, item in enumerate(value):
            check_storable(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            check_storable(key, f"{where} key")
            check_storable(item, f"{where}[{key!r}]")
        return
    raise TypeError(
        f"{where}: {type(value).__name__} cannot be stored in a _seg.npy file "
        "(use numpy arrays, numbers, strings, lists, tuples or dicts)"
    )
