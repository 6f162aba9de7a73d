"""Flow targets from label images, computed once by upstream cellpose and cached by content.

Computing flows (``cellpose.dynamics``) takes about a second per 512x512 label image, so the
result is kept in ``paths.cache_dir()/flows/<hash>.npy`` keyed by the label pixels and the
cellpose version. The cache never lives in the user's folders and is safe to delete.
"""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_CACHE_VERSION = "flows-v1"


def _cellpose_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cellpose")
    except PackageNotFoundError:  # pragma: no cover - cellpose is a hard dependency
        return "unknown"


def masks_key(masks: np.ndarray) -> str:
    """Content hash of a label image (shape + pixels + cellpose version)."""
    masks = np.ascontiguousarray(masks, dtype=np.uint32)
    h = hashlib.sha256()
    h.update(f"{_CACHE_VERSION}|{_cellpose_version()}|{masks.shape}".encode())
    h.update(masks.tobytes())
    return h.hexdigest()[:32]


def flows_cache_dir() -> Path:
    from guv_app import paths

    folder = paths.cache_dir() / "flows"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def compute_flows(masks: np.ndarray) -> np.ndarray:
    """(2, H, W) float32 unit flows (dY, dX) of ``masks`` by cellpose dynamics, no cache."""
    import torch
    from cellpose import dynamics

    # labels_to_flows renumbers its input in place: give it a copy, ids stay ours.
    labels = np.array(masks, dtype=np.int64, copy=True)
    if labels.max() == 0:
        return np.zeros((2, *labels.shape), dtype=np.float32)
    out = dynamics.labels_to_flows([labels], device=torch.device("cpu"))[0]
    return np.ascontiguousarray(out[-2:], dtype=np.float32)


def flows_for(masks: np.ndarray, *, use_cache: bool = True) -> np.ndarray:
    """Cached :func:`compute_flows`: a second call with the same labels reads the cache."""
    if not use_cache:
        return compute_flows(masks)
    path = flows_cache_dir() / f"{masks_key(masks)}.npy"
    if path.is_file():
        try:
            flows = np.load(path, allow_pickle=False)
            if flows.shape == (2, *masks.shape) and flows.dtype == np.float32:
                return flows
            log.warning("%s: cached flows have the wrong shape, recomputing", path)
        except (OSError, ValueError) as exc:
            log.warning("%s: unreadable cached flows (%s), recomputing", path, exc)
    flows = compute_flows(masks)
    buf = io.BytesIO()
    np.save(buf, flows, allow_pickle=False)
    from cellpose_io.atomic import atomic_write_bytes

    atomic_write_bytes(path, buf.getvalue())
    return flows
