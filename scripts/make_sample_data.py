"""Rebuild the bundled sample (guv_app/data): a DSB2018 image and its real mask, 2 classes.

Classes are given by object size (below / above the median area) so the sample shows
class colours on real objects. Run: python scripts/make_sample_data.py
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import tifffile

import cellpose_io

ROOT = Path(__file__).resolve().parents[1]
NAME = "fluorescence_02903040e19d"


def main() -> None:
    src = ROOT / "tests/data/labelled/dsb2018"
    out = ROOT / "guv_app/data"
    out.mkdir(exist_ok=True)
    shutil.copy2(src / "images" / f"{NAME}.png", out / "sample.png")
    masks = tifffile.imread(src / "masks" / f"{NAME}.tif").astype(np.uint16)
    areas = np.bincount(masks.ravel())
    ids = np.flatnonzero(areas[1:]) + 1
    median = np.median(areas[ids])
    classes = np.zeros(int(masks.max()) + 1, np.int32)
    classes[ids] = np.where(areas[ids] >= median, 1, 2)
    cellpose_io.save_seg(
        out / "sample.png", masks, classes, ["background", "large nucleus", "small nucleus"],
        [(0, 0, 0), (230, 159, 0), (86, 180, 233)],
    )
    print(f"{len(ids)} objects, {np.bincount(classes[ids])[1:]} per class -> {out}")


if __name__ == "__main__":
    main()
