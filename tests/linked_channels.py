"""A synthetic two-channel plane whose objects differ per channel, with a known right
pairing, and a MultiCellPose 0.9-style label file for it (built from 0.9's documented keys)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SHAPE = (120, 160)


def disc(cy: float, cx: float, r: float, shape=SHAPE) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def two_channel_labels() -> tuple[np.ndarray, np.ndarray, set[tuple[int, int]]]:
    """Label images of channel 0 (outer objects) and 1 (inner objects), the right pairs.

    - A1/B1, A2/B2: concentric discs (B inside A): the right pairs;
    - A3: no partner at all; B9: no partner at all;
    - A5, A6 side by side strips, B7 straddles both (IoU 0.433 with A5, 0.303 with A6) and
      B8 lies in A5 only (0.35): greedy-by-IoU would take A5-B7 and leave A6 alone; the
      optimal one-to-one assignment is A5-B8 + A6-B7;
    - A4/B4: offset discs with IoU below 0.25: not a pair.
    """
    a = np.zeros(SHAPE, np.uint16)
    b = np.zeros(SHAPE, np.uint16)
    a[disc(20, 20, 12)] = 1
    b[disc(20, 20, 9)] = 1
    a[disc(20, 60, 12)] = 2
    b[disc(20, 60, 10)] = 2
    a[disc(20, 100, 10)] = 3
    a[disc(60, 20, 10)] = 4
    b[disc(60, 36, 10)] = 4
    a[80:90, 40:60] = 5
    a[80:90, 60:80] = 6
    b[80:90, 47:70] = 7
    b[80:90, 40:47] = 8
    b[disc(60, 130, 8)] = 9
    return a, b, {(1, 1), (2, 2), (5, 8), (6, 7)}


def two_channel_image(seed: int = 0) -> np.ndarray:
    """(2, H, W) uint16: channel 0 bright on the outer objects, channel 1 on the inner ones,
    with noise so every object's mean differs."""
    a, b, _ = two_channel_labels()
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 50, size=(2, *SHAPE)).astype(np.uint16)
    img[0] += (a > 0).astype(np.uint16) * 400 + a.astype(np.uint16) * 7
    img[1] += (b > 0).astype(np.uint16) * 900 + b.astype(np.uint16) * 11
    return img


def associations(groups: dict[int, dict[int, int]], next_id: int) -> dict:
    """0.9's ``associations`` dict."""
    return {"version": 1, "next_object_id": next_id, "groups": [
        {"object_id": oid, "members": [{"channel": c, "mask_id": i} for c, i in m.items()]}
        for oid, m in groups.items()]}


def write_09_file(image_path: Path, a: np.ndarray, b: np.ndarray,
                  groups: dict[int, dict[int, int]], active: int = 0) -> Path:
    """A ``_seg.npy`` as MultiCellPose 0.9 wrote one: the active channel's set at the top,
    every set in ``channel_segmentations``, links in ``associations`` and ``object_ids``."""
    sets = {0: a, 1: b}
    top = sets[active]
    object_ids = np.zeros(int(top.max()) + 1, np.int32)
    for oid, members in groups.items():
        if active in members:
            object_ids[members[active]] = oid
    dat = {
        "masks": top, "outlines": np.zeros_like(top), "filename": str(image_path),
        "ismanual": np.ones(int(top.max()), bool), "chan_choose": [0, 0],
        "classes": np.zeros(int(top.max()) + 1, np.int16),
        "channel_segmentations": {
            str(c): {"masks": m[None], "classes": np.zeros(int(m.max()) + 1, np.int16),
                     "mask_classes": np.zeros(int(m.max()) + 1, np.int16)}
            for c, m in sets.items()},
        "active_channel_index": active,
        "associations": associations(groups, max(groups, default=0) + 1),
        "object_ids": object_ids,
    }
    out = image_path.with_name(image_path.stem + "_seg.npy")
    np.save(out, dat, allow_pickle=True)
    return out
