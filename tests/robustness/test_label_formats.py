"""Malformed label images, ImageJ ROI files and GeoJSON: one line naming the file, never a
crash or a huge allocation (a canvas inferred from far-away polygons is refused)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image as PILImage

from cellpose_io import LabelReadError, read_geojson, read_imagej_rois
from cellpose_io.label_images import read_label_image


def _tif(array, photometric: str = "minisblack") -> bytes:
    buf = io.BytesIO()
    tifffile.imwrite(buf, array, photometric=photometric)
    return buf.getvalue()


def _png(array) -> bytes:
    buf = io.BytesIO()
    PILImage.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def _feature(coords) -> str:
    return json.dumps({"type": "Feature", "properties": {},
                       "geometry": {"type": "Polygon", "coordinates": coords}})


LABEL_IMAGES = {
    "rgb_masks.tif": (_tif(np.zeros((8, 8, 3), np.uint8) + np.uint8(2), "rgb"),
                      "has shape (8, 8, 3); a label image must be a single 2-D plane"),
    "rgb_masks.png": (_png((np.zeros((8, 8, 3)) + [1, 2, 3]).astype(np.uint8)),
                      "is a colour (RGB) image; a label image holds one object id per pixel"),
    "frac_masks.tif": (_tif(np.full((8, 8), 1.5, np.float32)),
                       "holds fractional values, not object ids"),
    "nan_masks.tif": (_tif(np.full((8, 8), np.nan, np.float32)),
                      "holds fractional values, not object ids"),
    "neg_masks.tif": (_tif(np.full((8, 8), -3, np.int16)), "holds a negative object id (-3)"),
    "stack_masks.tif": (_tif(np.arange(3, dtype=np.uint16)[:, None, None].repeat(8, 1)
                              .repeat(8, 2)),
                        "has shape (3, 8, 8); a label image must be a single 2-D plane"),
    "big_masks.tif": (_tif(np.full((8, 8), 2**40, np.uint64)),
                      "holds object id 1099511627776, above the limit 4294967295"),
    "cut_masks.tif": (_tif(np.ones((64, 64), np.uint16))[:300],
                      "cannot decode image (ValueError: failed to read 8192 bytes, got 44)"),
    "empty_masks.png": (b"", "cannot decode image (UnidentifiedImageError: cannot identify "
                             "image file '{path}')"),
    "x_masks.jpg": (b"\xff\xd8", "unsupported label image type '.jpg' (use .tif, .tiff or "
                                 ".png)"),
}

REGION_FILES = {
    "garbage.roi": (b"Iout" + b"\0" * 10, "not a readable ImageJ ROI file (ValueError: ImageJ "
                                          "ROI data too short: 14 < 64 bytes)"),
    "set.zip": (_zip({"a.roi": b"garbage"}), "not a readable ImageJ ROI file (ValueError: "
                                             "ImageJ ROI data too short: 7 < 64 bytes)"),
    "notzip.zip": (b"PK\x03\x04xx", "not a readable ImageJ ROI file (BadZipFile: File is not "
                                    "a zip file)"),
    "bad.geojson": (b"{not json", "not valid JSON (Expecting property name enclosed in double "
                                  "quotes: line 1 column 2 (char 1))"),
    "deep.geojson": (b"[" * 100_000 + b"]" * 100_000, "not valid GeoJSON (nested too deeply)"),
    "feat.geojson": (json.dumps({"type": "FeatureCollection", "features": [1]}).encode(),
                     "feature 0 is not a JSON object"),
    "far.geojson": (_feature([[[0, 0], [1e6, 0], [1e6, 1e6], [0, 0]]]).encode(),
                    "declares 1000000x1000000 pixels (1,000,000,000,000 per plane), above the "
                    "limit of 1,073,741,824 (set MULTICELLPOSE_MAX_IMAGE_PIXELS to change it); "
                    "not decoded"),
    "nan.geojson": (b'{"type":"Feature","properties":{},"geometry":{"type":"Polygon",'
                    b'"coordinates":[[[0,0],[NaN,0],[5,5],[0,0]]]}}',
                    "feature 0: ring coordinates are not finite [x, y] pairs"),
    "text.geojson": (_feature([[["a", "b"]]]).encode(),
                     "feature 0: ring coordinates are not [x, y] numbers"),
}


@pytest.mark.parametrize("name", sorted(LABEL_IMAGES))
def test_malformed_label_image(tmp_path, name):
    data, reason = LABEL_IMAGES[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LabelReadError) as info:
        read_label_image(path)
    assert str(info.value) == f"{path}: " + reason.format(path=path)


@pytest.mark.parametrize("name", sorted(REGION_FILES))
def test_malformed_roi_or_geojson(tmp_path, name):
    data, reason = REGION_FILES[name]
    path = tmp_path / name
    path.write_bytes(data)
    reader = read_geojson if path.suffix == ".geojson" else read_imagej_rois
    with pytest.raises(LabelReadError) as info:
        reader(path)
    assert str(info.value) == f"{path}: {reason}"
    assert Path(path).read_bytes() == data  # only read
