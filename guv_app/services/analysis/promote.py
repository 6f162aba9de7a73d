"""Promote predictions to training labels: copy ``_pred_seg.npy`` to ``_seg.npy``.

Two steps so a front end can ask before anything is replaced: :func:`promote_conflicts` lists
the images whose training labels already exist, then :func:`promote` copies, overwriting only
the images the caller explicitly allows.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from guv_app.services.analysis.predictions import PRED_KEYS, label_path_for, pred_path_for

log = logging.getLogger(__name__)


@dataclass
class PromoteResult:
    """Which images were promoted, left alone (labels exist, not allowed) or had a problem."""

    promoted: list[str] = field(default_factory=list)
    kept_existing: list[str] = field(default_factory=list)
    no_prediction: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def promote_conflicts(images: Sequence[str | os.PathLike]) -> list[str]:
    """Images (with a prediction) whose training label file already exists."""
    return [str(p) for p in images
            if pred_path_for(p).exists() and label_path_for(p).exists()]


def _key(path: str | os.PathLike) -> str:
    return os.path.normcase(os.path.abspath(path))


def promote(
    images: Sequence[str | os.PathLike],
    overwrite: Collection[str | os.PathLike] = (),
) -> PromoteResult:
    """Copy each image's prediction to its training labels.

    An existing ``_seg.npy`` is replaced only when the image is in ``overwrite``; otherwise
    it is kept and reported in ``kept_existing``. The written file is a plain label file
    (prediction bookkeeping dropped, ``promoted_from`` recording the model); atomic.
    """
    from cellpose_io import CellposeIOError, load_seg, save_seg
    from cellpose_io.seg import METADATA_KEYS

    allowed = {_key(p) for p in overwrite}
    result = PromoteResult()
    for image in images:
        image = Path(image)
        pred, labels = pred_path_for(image), label_path_for(image)
        if not pred.exists():
            result.no_prediction.append(str(image))
            continue
        if labels.exists() and _key(image) not in allowed:
            result.kept_existing.append(str(image))
            continue
        try:
            seg = load_seg(pred)
            kept = {k: v for k, v in seg.extra.items() if k not in PRED_KEYS}
            metadata = {k: v for k, v in kept.items() if k in METADATA_KEYS}
            metadata["promoted_from"] = str(seg.extra.get("mcp_pred_model", ""))
            save_seg(
                image, seg.masks, seg.classes, seg.class_names, seg.class_colors,
                out_path=labels, outlines=seg.outlines, diameter=seg.diameter,
                chan_choose=seg.chan_choose, metadata=metadata,
                preserved={k: v for k, v in kept.items() if k not in METADATA_KEYS},
            )
        except (CellposeIOError, OSError, ValueError, TypeError) as exc:
            log.warning("cannot promote %s: %s", pred, exc)
            result.failed[str(image)] = str(exc)
            continue
        result.promoted.append(str(image))
    return result
