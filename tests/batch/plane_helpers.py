"""Helpers for the plane tests: sample copies, synthetic disc movies, ImageJ hyperstacks."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"


def copy_sample(kind: str, name: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for path in (FORMATS / kind).glob(Path(name).stem + ".*"):
        shutil.copy(path, folder / path.name)
    return folder / name


def disc_movie(shape=(3, 2), size=(48, 64)):
    """(T, Z, Y, X) uint16 frames with discs whose centres move by 2 px per frame along X and
    whose radius grows by 1 px per slice: known areas and centroids on every plane."""
    n_t, n_z = shape
    yy, xx = np.mgrid[: size[0], : size[1]]
    frames = np.zeros((n_t, n_z, *size), np.uint16)
    labels = np.zeros((n_t, n_z, *size), np.uint16)
    for t in range(n_t):
        for z in range(n_z):
            for k, (cy, cx) in enumerate([(14, 12), (32, 40)], start=1):
                inside = (yy - cy) ** 2 + (xx - (cx + 2 * t)) ** 2 <= (5 + z + k) ** 2
                labels[t, z][inside] = k
                frames[t, z][inside] = 1000 * k
    return frames, labels


def write_hyperstack(path: Path, frames: np.ndarray, *, pixel_um=0.5, spacing_um=2.0,
                     interval_s=5.0) -> Path:
    """An ImageJ hyperstack (TZYX) written by tifffile with calibration."""
    import tifffile

    tifffile.imwrite(path, frames, imagej=True, resolution=(1 / pixel_um, 1 / pixel_um),
                     metadata={"axes": "TZYX", "unit": "um", "spacing": spacing_um,
                               "finterval": interval_s})
    return path
