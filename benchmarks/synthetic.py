"""Synthetic inputs the benchmarks share: grids of disc-shaped objects, an open Trainer and a
random-weight vit_l model file.

Kept in one place so every benchmark measures on the same kind of label image.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def disc_grid(
    size: int,
    n: int,
    *,
    radius_frac: float = 0.4,
    jitter_y: float = 2.0,
    jitter_x: float = 2.0,
    shift_x: float = 0.0,
    seed: int = 0,
    dtype: type = np.uint32,
) -> np.ndarray:
    """``(size, size)`` label image of ``n`` discs (ids 1..n) on a jittered square grid.

    Each disc has radius ``radius_frac`` x grid cell (px) and is moved by up to ``jitter_y``
    / ``jitter_x`` px (uniform, seeded) and by ``shift_x`` px to the right, wrapping around
    (a drifting movie frame). Background (0) separates the discs.
    """
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    cell = size / side
    r = cell * radius_frac
    masks = np.zeros((size, size), dtype)
    k = 0
    for i in range(side):
        for j in range(side):
            if k >= n:
                break
            cy = (i + 0.5) * cell + rng.uniform(-jitter_y, jitter_y)
            cx = (j + 0.5) * cell + (rng.uniform(-jitter_x, jitter_x) if jitter_x else 0.0)
            cx = (cx + shift_x) % size
            r0, r1 = int(max(cy - r - 1, 0)), int(min(cy + r + 2, size))
            c0, c1 = int(max(cx - r - 1, 0)), int(min(cx + r + 2, size))
            yy, xx = np.ogrid[r0:r1, c0:c1]
            k += 1
            masks[r0:r1, c0:c1][(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = k
    return masks


def open_trainer(planes: np.ndarray):
    """A shown Trainer (offscreen) on ``planes`` ``(C, H, W)``: ``(app, controller)``."""
    from PyQt6 import QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    from guv_app.controllers.trainer_controller import TrainerController

    ctl = TrainerController()
    ctl.window.resize(1400, 1000)
    ctl.show()
    ctl.set_planes(planes, new_image=True)
    return app, ctl


def close_trainer(ctl) -> None:
    """Close a benchmark's Trainer without the unsaved-changes question."""
    ctl.files.autosaver.shutdown()
    ctl.window.close_guard = None
    ctl.window.close()


def timed_ms(app, fn: Callable[[], object]) -> float:
    """Milliseconds for ``fn()`` plus the paint events it caused (edit to screen)."""
    t0 = time.perf_counter()
    fn()
    app.processEvents()
    return (time.perf_counter() - t0) * 1000


def random_vit_l_file(path: Path, seed: int = 0) -> Path:
    """Cellpose-SAM (vit_l) with random weights saved as a Cellpose model file (a float32
    state dict, as upstream saves models) at ``path``; kept when it already exists.

    Upstream's CLI loads it with ``--pretrained_model path``, ours with ``--model path``:
    the stand-in for ``cpsam``, whose weights cannot be downloaded here (~1.2 GB, ~10 s)."""
    path = Path(path)
    if path.exists():
        return path
    import torch

    from guv_app.services.engine.network import build_network

    state = build_network("vit_l", 0, seed=seed).state_dict()
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
    return path
