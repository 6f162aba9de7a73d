"""One folder of labelled images in which most items are broken in a different way, used by
the batch tests (measure, train --dry-run, the training-set build)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import tifffile
from hostile import seg_bytes, seg_bytes_with_deep_list, tiff_declaring

BAD = Path(__file__).resolve().parents[1] / "data" / "bad_inputs"


def _masks(n: int = 3, size: int = 64) -> np.ndarray:
    masks = np.zeros((size, size), np.uint16)
    for k in range(n):
        masks[4 + 12 * k: 14 + 12 * k, 6:20] = k + 1
    return masks


def _image(path: Path, size: int = 64, seed: int = 0) -> Path:
    tifffile.imwrite(path, np.random.default_rng(seed).integers(100, 2000, (size, size),
                                                                  dtype=np.uint16))
    return path


def _seg(image: Path, masks: np.ndarray, **extra) -> Path:
    from cellpose_io import save_seg

    return save_seg(image, masks, **extra)


def build_corpus(folder: Path) -> dict[str, str]:
    """Write the corpus; returns {image name: what is wrong with it}."""
    folder.mkdir(parents=True, exist_ok=True)
    what: dict[str, str] = {}
    _seg(_image(folder / "good.tif"), _masks())
    what["good.tif"] = "fine"
    for name in ("forged.tif", "forged_seg.npy"):
        shutil.copy(BAD / name, folder / name)
    what["forged.tif"] = "forged pickled array in its labels"
    for name in ("plain.npy", "plain_seg.npy", "ref.tif", "ref_seg.npy"):
        shutil.copy(BAD / "npy_image" / name, folder / name)
    what["plain.npy"] = what["ref.tif"] = "fine (same pixels as .npy and TIFF)"
    img = _image(folder / "mismatch.tif")
    (folder / "mismatch_seg.npy").write_bytes(seg_bytes({"masks": _masks(2, 32)}))
    what[img.name] = "labels 32x32 for a 64x64 image"
    img = _image(folder / "deep.tif")
    (folder / "deep_seg.npy").write_bytes(
        seg_bytes_with_deep_list({"masks": _masks()}, "filename", 100_000))
    what[img.name] = "label file nested 100000 deep"
    tiff_declaring(folder / "bomb.tif", 60000, 60000)
    (folder / "bomb_seg.npy").write_bytes(seg_bytes({"masks": _masks()}))
    what["bomb.tif"] = "TIFF declaring 60000x60000 in 139 bytes"
    _image(folder / "nolabels.tif")
    what["nolabels.tif"] = "no label file"
    _image(folder / "twin.tif")
    from PIL import Image as PILImage

    PILImage.fromarray(np.zeros((64, 64), np.uint8)).save(folder / "twin.png")
    (folder / "twin_seg.npy").write_bytes(seg_bytes({"masks": _masks()}))
    what["twin.tif"] = what["twin.png"] = "two images share twin_seg.npy"
    huge = _masks().astype(np.uint32)
    huge[huge == 3] = 3_000_000_000
    _image(folder / "hugeid.tif")
    (folder / "hugeid_seg.npy").write_bytes(seg_bytes({"masks": huge}))
    what["hugeid.tif"] = "object id 3e9"
    _seg(_image(folder / "=cmd.tif"), _masks(), class_names=["background", "=HYPERLINK(1)"],
         classes=np.array([0, 1, 1, 1]))
    what["=cmd.tif"] = "formula-like image and class names"
    (folder / "cut_seg.npy").write_bytes(seg_bytes({"masks": _masks()})[:-50])
    _image(folder / "cut.tif")
    what["cut.tif"] = "truncated label file"
    return what


def add_region_files(folder: Path) -> dict[str, str]:
    """Images whose ``<stem>_regions.*`` file is broken (training and dry run only)."""
    what = {}
    broken = {
        "regjson": ("_regions.geojson", b"{not json"),
        "regdeep": ("_regions.geojson", b"[" * 200_000 + b"]" * 200_000),
        "regroi": ("_regions.roi", b"Iout" + b"\0" * 10),
        "regzip": ("_regions.zip", b"PK\x03\x04 not a zip"),
        "regoutside": ("_regions.geojson", json.dumps({
            "type": "Feature", "properties": {},
            "geometry": {"type": "Polygon", "coordinates": [[[500, 500], [600, 500],
                                                             [600, 600], [500, 500]]]},
        }).encode()),
    }
    for stem, (suffix, data) in broken.items():
        _seg(_image(folder / f"{stem}.tif"), _masks())
        (folder / f"{stem}{suffix}").write_bytes(data)
        what[f"{stem}.tif"] = f"broken {suffix}"
    return what
