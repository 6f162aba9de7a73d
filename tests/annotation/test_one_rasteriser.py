"""One polygon rasteriser: an outline traced in the Trainer and the same outline imported
from ImageJ cover the same pixels, and those are ImageJ's (pixel centre inside, even-odd).

The reference here is written independently of ``cellpose_io.rasterize``: a plain
point-in-polygon test at every pixel centre, the rule of ImageJ's ``PolygonFiller``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cellpose_io.imagej_rois import read_imagej_rois
from cellpose_io.rasterize import fill_polygon
from guv_app.services.annotation import LabelDocument

DATA = Path(__file__).resolve().parents[1] / "data" / "annotations"
ROIS = DATA / "imagej_roi"
CRYO = DATA / "cryonuseg_roiset" / "TCGA-DE-A4MA" / "RoiSet.zip"
SHAPE = (256, 256)


def _centres_inside(ring: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """ImageJ's rule, pixel by pixel: centre (c+0.5, r+0.5) inside by crossing count, with
    an edge counted when its lower end is at or above the centre line and its upper end
    below it (half-open), crossings at x >= centre's x (the pixel's own left edge counts)."""
    out = np.zeros(shape, bool)
    pts = [(float(x), float(y)) for x, y in ring]
    for r in range(shape[0]):
        yc = r + 0.5
        xs = []
        for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True):
            if min(y0, y1) <= yc < max(y0, y1):
                xs.append(x0 + (yc - y0) * (x1 - x0) / (y1 - y0))
        xs.sort()
        for left, right in zip(xs[0::2], xs[1::2], strict=True):
            for c in range(shape[1]):
                if left <= c + 0.5 < right:
                    out[r, c] = True
    return out


def _traced(ring: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    doc = LabelDocument(shape=shape)
    obj = doc.add_polygon(ring)
    return doc.masks == obj


def test_a_4x4_square_is_16_pixels_on_every_path():
    """ImageJ measures the polygon (0,0)-(4,4) as 16 px; skimage's polygon2mask would give
    25 (it puts vertices on pixel centres). Both of our paths give ImageJ's 16."""
    square = np.array([[2, 2], [6, 2], [6, 6], [2, 6]], float)
    traced = _traced(square, (10, 10))
    imported = fill_polygon(square, (10, 10))
    assert traced.sum() == imported.sum() == 16
    np.testing.assert_array_equal(traced, imported)
    assert traced[2:6, 2:6].all()


@pytest.mark.parametrize("name", ["polygon", "freehand"])
def test_imagej_rois_traced_and_imported_match_the_reference(name):
    ref = json.loads((ROIS / f"{name}.expected.json").read_text())[name]
    ring = np.stack([ref["x"], ref["y"]], axis=1).astype(float)
    want = _centres_inside(ring, SHAPE)
    imported = read_imagej_rois(ROIS / f"{name}.roi", SHAPE).masks == 1
    np.testing.assert_array_equal(imported, want)
    np.testing.assert_array_equal(_traced(ring, SHAPE), want)


def test_real_roiset_nuclei_traced_and_imported_agree():
    """59 hand-drawn nuclei (CryoNuSeg): each outline, traced or imported, same pixels."""
    roifile = pytest.importorskip("roifile")
    shape = (512, 512)
    seg = read_imagej_rois(CRYO, shape)
    with zipfile.ZipFile(CRYO) as zf:
        rois = [roifile.ImagejRoi.frombytes(zf.read(n)) for n in sorted(zf.namelist())]
    assert len(rois) == 59
    checked = 0
    for roi in rois[:12]:
        ring = np.asarray(roi.coordinates(), float)
        want = _centres_inside(ring, shape)
        if not want.any():
            continue
        np.testing.assert_array_equal(_traced(ring, shape), want)
        ids = np.unique(seg.masks[want])
        assert len(ids) >= 1 and ids[0] > 0  # the imported object sits on the same pixels
        checked += 1
    assert checked >= 10


def test_a_shape_with_centres_on_its_edges_follows_the_half_open_rule():
    """A diamond through pixel centres: left/top edge centres in, right/bottom out, so two
    touching shapes never share a pixel."""
    diamond = np.array([[2.5, 0.5], [4.5, 2.5], [2.5, 4.5], [0.5, 2.5]])
    want = _centres_inside(diamond, (6, 6))
    np.testing.assert_array_equal(_traced(diamond, (6, 6)), want)
    left = np.array([[0.5, 0.5], [2.5, 0.5], [2.5, 3.5], [0.5, 3.5]])
    right = np.array([[2.5, 0.5], [4.5, 0.5], [4.5, 3.5], [2.5, 3.5]])
    assert not (_traced(left, (6, 6)) & _traced(right, (6, 6))).any()
