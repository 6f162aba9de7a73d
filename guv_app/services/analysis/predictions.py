"""Prediction files: ``<stem>_pred_seg.npy`` beside the image, kept apart from ``_seg.npy``.

A prediction file is a normal ``_seg.npy``-format file (the Cellpose GUI opens it) with extra
keys saying how it was made: the model name, a fingerprint of the model and the inference
parameters, and whether a person has edited it since. A rerun compares the fingerprint to
decide that an image is already done, so changing any parameter that changes the result
(thresholds, diameter, channels...) makes it run again, while the device or batch size,
which do not, leave it skipped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from cellpose_io.seg import PRED_SUFFIX, SEG_SUFFIX  # noqa: F401 - the one definition

log = logging.getLogger(__name__)

# extra keys written into a prediction file
KEY_MODEL = "mcp_pred_model"
KEY_HASH = "mcp_pred_params_hash"
KEY_PARAMS = "mcp_pred_params"
KEY_EDITED = "mcp_pred_edited"
KEY_CREATED = "mcp_pred_created"
PRED_KEYS = (KEY_MODEL, KEY_HASH, KEY_PARAMS, KEY_EDITED, KEY_CREATED)
# SegmentParams fields that do not change the masks, so they are not part of the fingerprint
_NOT_IN_HASH = ("device", "batch_size")


def pred_path_for(image_path: str | os.PathLike, out_dir: str | os.PathLike | None = None) -> Path:
    """Where the prediction of ``image_path`` is saved (Cellpose naming, own suffix):
    beside the image, or in ``out_dir`` when the user keeps results elsewhere."""
    from cellpose_io import seg_path_for

    path = seg_path_for(image_path, suffix=PRED_SUFFIX)
    return path if out_dir is None else Path(out_dir) / path.name


def label_path_for(image_path: str | os.PathLike) -> Path:
    """The training label file of ``image_path`` (what the Trainer reads and writes)."""
    from cellpose_io import seg_path_for

    return seg_path_for(image_path, suffix=SEG_SUFFIX)


def params_dict(params: Any) -> dict[str, Any]:
    """The result-relevant inference settings as plain JSON-able data."""
    data = asdict(params) if hasattr(params, "__dataclass_fields__") else dict(params)
    return {k: v for k, v in sorted(data.items()) if k not in _NOT_IN_HASH}


def model_fingerprint(model_name: str) -> str:
    """Name plus creation time of a trained model, so a model re-made under the same name
    counts as different; built-ins (and unknown names) are just their name."""
    try:
        from guv_app.services.engine.registry import get_model_meta

        created = get_model_meta(model_name).created
    except Exception as exc:  # noqa: BLE001 - a path or unknown name still fingerprints
        log.debug("no registry entry for %s: %s", model_name, exc)
        created = None
    return f"{model_name}@{created}" if created else model_name


def settings_hash(model_name: str, params: Any) -> str:
    """Fingerprint of (model, inference parameters): equal means the same prediction."""
    payload = json.dumps(
        {"model": model_fingerprint(model_name), "params": params_dict(params)},
        sort_keys=True, default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class PredictionInfo:
    """What a prediction file says about itself (without its arrays)."""

    path: Path
    model: str
    params_hash: str
    edited: bool
    n_objects: int
    params: dict[str, Any]


def read_prediction_info(path: str | os.PathLike) -> PredictionInfo:
    """Read a prediction file's metadata; ``LabelReadError`` when it cannot be read."""
    from cellpose_io import load_seg

    seg = load_seg(path)
    extra = seg.extra
    params = extra.get(KEY_PARAMS)
    return PredictionInfo(
        path=Path(path),
        model=str(extra.get(KEY_MODEL, "")),
        params_hash=str(extra.get(KEY_HASH, "")),
        edited=bool(extra.get(KEY_EDITED, False)),
        n_objects=seg.max_id,
        params=dict(params) if isinstance(params, dict) else {},
    )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def keep_unreadable(path: Path) -> None:
    """Move an existing prediction file that cannot be read aside (``<name>.unreadable``)
    before it is replaced: it may hold hours of hand corrections a newer reader could
    recover. A prediction corrected by hand (which only a forced rerun replaces) is copied
    to ``<name>.bak`` first: the corrections are a person's work. Another readable file is
    left for the caller's own rules (skip or replace)."""
    from cellpose_io import CellposeIOError
    from cellpose_io.atomic import set_aside
    from cellpose_io.label_sources import backup_copy

    if not path.exists():
        return
    try:
        info = read_prediction_info(path)
    except CellposeIOError as exc:
        log.warning("prediction %s unreadable (%s); kept aside", path, exc.reason)
        set_aside(path)
        return
    if info.edited:
        log.warning("prediction %s was corrected by hand; kept as %s before it is replaced",
                    path, backup_copy(path).name)


def save_prediction(
    image_path: str | os.PathLike,
    masks: np.ndarray,
    classes: np.ndarray | None,
    class_names: list[str] | None,
    class_colors: list | None,
    *,
    model: str,
    params: Any,
    diameter: float | None = None,
    out_dir: str | os.PathLike | None = None,
    out_path: str | os.PathLike | None = None,
) -> Path:
    """Write a fresh model prediction for ``image_path`` (atomically) and return its path:
    ``out_path`` (a plane's file), else :func:`pred_path_for` (beside it or in ``out_dir``).

    An existing prediction that cannot be read is kept as ``<name>.unreadable`` first.
    """
    from cellpose_io import save_seg

    target = Path(out_path) if out_path is not None else pred_path_for(image_path, out_dir)
    keep_unreadable(target)
    return save_seg(
        image_path, masks, classes, class_names, class_colors, suffix=PRED_SUFFIX,
        out_path=target, diameter=diameter, metadata=prediction_keys(model, params),
    )


def prediction_keys(model: str, params: Any) -> dict[str, Any]:
    """The keys a fresh prediction file carries: model, settings fingerprint and parameters,
    not edited, creation time."""
    return {KEY_MODEL: model, KEY_HASH: settings_hash(model, params),
            KEY_PARAMS: params_dict(params), KEY_EDITED: False, KEY_CREATED: _now()}


def save_edited_prediction(
    image_path: str | os.PathLike,
    masks: np.ndarray,
    classes: np.ndarray | None,
    class_names: list[str] | None,
    class_colors: list | None,
    target: str | os.PathLike | None = None,
) -> Path:
    """Save hand edits to the prediction, keeping how it was made and marking it edited.

    An edited prediction is not replaced by a rerun unless forced, so corrections are not
    lost when the parameters change. ``target`` is a plane's prediction file (default:
    the single-plane :func:`pred_path_for`).
    """
    from cellpose_io import CellposeIOError, save_seg

    target = Path(target) if target is not None else pred_path_for(image_path)
    keep: dict[str, Any] = {KEY_MODEL: "", KEY_HASH: "", KEY_PARAMS: {}}
    if target.exists():
        try:
            info = read_prediction_info(target)
            keep = {KEY_MODEL: info.model, KEY_HASH: info.params_hash, KEY_PARAMS: info.params}
        except CellposeIOError as exc:
            log.warning("prediction %s unreadable (%s); kept aside", target, exc.reason)
            from cellpose_io.atomic import set_aside

            set_aside(target)
    return save_seg(
        image_path, masks, classes, class_names, class_colors, suffix=PRED_SUFFIX,
        out_path=target, metadata={**keep, KEY_EDITED: True, KEY_CREATED: _now()},
    )


def plane_predictions(image_path: str | os.PathLike) -> list[Path]:
    """The prediction files beside ``image_path``: its single-plane ``<stem>_pred_seg.npy``
    and every per-plane ``<stem>[_s{S}]_t{T}_z{Z}_pred_seg.npy`` / ``<stem>_s{S}_...``."""
    import glob
    import re

    single = pred_path_for(image_path)
    stem = single.name[: -len(PRED_SUFFIX)]
    tagged = re.compile(re.escape(stem) + r"(_s\d+)?(_t\d+_z\d+)?" + re.escape(PRED_SUFFIX))
    pattern = glob.escape(str(single)[: -len(PRED_SUFFIX)]) + "_*" + PRED_SUFFIX
    found = {Path(p) for p in glob.glob(pattern) if tagged.fullmatch(Path(p).name)}
    if single.exists():
        found.add(single)
    return sorted(found)


def has_prediction(image_path: str | os.PathLike) -> bool:
    """True when any plane of ``image_path`` has a prediction beside it."""
    return pred_path_for(image_path).exists() or bool(plane_predictions(image_path))


def prediction_state(image_path: str | os.PathLike, settings: str | None = None,
                     path: str | os.PathLike | None = None) -> str:
    """One word for the file list: ``none``, ``current`` (same settings), ``edited``,
    ``other`` (made with other settings) or ``unreadable``; ``path`` is a plane's
    prediction file (default: the single-plane one)."""
    from cellpose_io import CellposeIOError

    path = Path(path) if path is not None else pred_path_for(image_path)
    if not path.exists():
        return "none"
    try:
        info = read_prediction_info(path)
    except CellposeIOError:
        return "unreadable"
    if info.edited:
        return "edited"
    return "current" if settings is not None and info.params_hash == settings else "other"
