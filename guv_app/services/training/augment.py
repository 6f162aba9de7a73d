"""Random crop + scale + rotation + flip of an image and its targets, as Cellpose augments.

One affine warp per sample (OpenCV): the image and the flows are interpolated bilinearly (the
flow vectors are also rotated/flipped), the instance masks and the class map
NEAREST-neighbour so class ids never blend (upstream's augmentation crashes or blends when
labels carry a class channel, see shared notes). The cell-probability target is derived from
the warped masks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from guv_app.services.datasets.builder import Sample


@dataclass
class Batch:
    """Numpy batch ready for torch: x (B,3,b,b), flows (B,2,b,b), cellprob, classes, masks."""

    x: np.ndarray
    flows: np.ndarray
    cellprob: np.ndarray
    classes: np.ndarray  # int64, -1 = ignore
    masks: np.ndarray  # float32 instance ids (exact below 2**24)


def _affine(shape: tuple[int, int], bsize: int, rng: np.random.Generator,
            scale_range: float, rotate: bool) -> tuple[np.ndarray, float, bool]:
    """3x3 matrix mapping input (x, y) to output (x, y), the angle and whether it flips."""
    h, w = shape
    scale = 1.0 - scale_range / 2 + scale_range * rng.random() if scale_range > 0 else 1.0
    angle = float(rng.uniform(-np.pi, np.pi)) if rotate else 0.0
    flip = bool(rng.random() > 0.5) if rotate else False
    # centre of the crop in input pixels: anywhere that keeps the crop inside if possible
    half = bsize / (2 * scale)
    cy = rng.uniform(half, h - half) if h > 2 * half else h / 2
    cx = rng.uniform(half, w - half) if w > 2 * half else w / 2
    flip_m = np.array([[-1, 0, w - 1], [0, 1, 0], [0, 0, 1]], float) if flip else np.eye(3)
    c, s = np.cos(angle), np.sin(angle)
    to_origin = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]], float)
    if flip:
        to_origin[0, 2] = -(w - 1 - cx)
    rot = np.array([[scale * c, -scale * s, 0], [scale * s, scale * c, 0], [0, 0, 1]], float)
    to_out = np.array([[1, 0, bsize / 2], [0, 1, bsize / 2], [0, 0, 1]], float)
    return to_out @ rot @ to_origin @ flip_m, angle, flip


def _warp(plane: np.ndarray, m: np.ndarray, bsize: int, nearest: bool) -> np.ndarray:
    import cv2

    flag = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return cv2.warpAffine(plane, m[:2], (bsize, bsize), flags=flag,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _warp_labels(sample: Sample, m: np.ndarray, bsize: int) -> tuple[np.ndarray, np.ndarray]:
    """Masks and class map through ONE nearest-neighbour warp, so they stay aligned."""
    both = np.dstack([sample.masks.astype(np.float32), sample.class_map.astype(np.float32)])
    out = _warp(both, m, bsize, True)
    return out[..., 0], out[..., 1].astype(np.int64)


def augment_sample(sample: Sample, bsize: int, rng: np.random.Generator,
                   scale_range: float = 0.5, rotate: bool = True) -> tuple[np.ndarray, ...]:
    """Warp one sample; returns x (3,b,b), flows (2,b,b), cellprob, classes, masks."""
    m, angle, flip = _affine(sample.masks.shape, bsize, rng, scale_range, rotate)
    x = np.stack([_warp(ch, m, bsize, False) for ch in sample.image])
    dy = _warp(sample.flows[0], m, bsize, False)
    dx = _warp(sample.flows[1], m, bsize, False)
    if flip:
        dx = -dx
    c, s = np.cos(angle), np.sin(angle)
    flows = np.stack([s * dx + c * dy, c * dx - s * dy]).astype(np.float32)
    masks, classes = _warp_labels(sample, m, bsize)
    return x, flows, (masks > 0).astype(np.float32), classes, masks


def make_batch(samples: Sequence[Sample], bsize: int, rng: np.random.Generator,
               scale_range: float = 0.5, rotate: bool = True) -> Batch:
    parts = [augment_sample(s, bsize, rng, scale_range, rotate) for s in samples]
    x, flows, cellprob, classes, masks = (np.stack(p) for p in zip(*parts, strict=True))
    return Batch(x, flows, cellprob, classes, masks)


def center_batch(samples: Sequence[Sample], bsize: int) -> Batch:
    """Deterministic batch for validation: centre crop, no scale, no rotation."""
    parts = []
    for smp in samples:
        h, w = smp.masks.shape
        m = np.array([[1, 0, bsize / 2 - w / 2], [0, 1, bsize / 2 - h / 2], [0, 0, 1]], float)
        x = np.stack([_warp(ch, m, bsize, False) for ch in smp.image])
        flows = np.stack([_warp(f, m, bsize, False) for f in smp.flows]).astype(np.float32)
        masks, classes = _warp_labels(smp, m, bsize)
        parts.append((x, flows, (masks > 0).astype(np.float32), classes, masks))
    x, flows, cellprob, classes, masks = (np.stack(p) for p in zip(*parts, strict=True))
    return Batch(x, flows, cellprob, classes, masks)
