"""Helpers for the dataset tests (unique module name: imported by test files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DSB = Path(__file__).resolve().parents[1] / "data" / "labelled" / "dsb2018"
STEMS = ["fluorescence_00071198d059", "fluorescence_573e1480b500",
         "histology_color_4cbd6c37f3a5"]


def read_mask(stem: str) -> np.ndarray:
    import tifffile

    return tifffile.imread(DSB / "masks" / f"{stem}.tif")


def size_classes(masks: np.ndarray) -> np.ndarray:
    """Class 1 ("small") below the median area, 2 ("large") otherwise; classes[0] = 0."""
    areas = np.bincount(masks.ravel())
    classes = np.zeros(len(areas), np.int32)
    ids = np.nonzero(areas)[0]
    ids = ids[ids > 0]
    median = np.median(areas[ids])
    classes[ids] = np.where(areas[ids] < median, 1, 2)
    return classes


def snapshot(folder: Path) -> dict:
    """Every file under ``folder`` with its size and mtime (to prove nothing was written)."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}
