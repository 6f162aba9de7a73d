"""Rasterise view-space shapes (polygons, brush strokes, lines) onto bounding-box crops.

Coordinates are view coordinates ``(x, y)`` where pixel ``(row, col)`` covers
``[col, col+1) x [row, row+1)`` and has its centre at ``(col + 0.5, row + 0.5)`` -- the
image-pixel coordinates of ImageJ and QuPath. Work is done on the shape's bounding box only,
which keeps one edit far below a millisecond on large images instead of touching every pixel.

Polygons are filled by :func:`cellpose_io.rasterize.polygon_window`, the one polygon
rasteriser of the project (ImageJ's ``PolygonFiller`` rule: a pixel belongs to the polygon
when its centre is inside, even-odd, half-open edges), so an object traced here and the same
outline imported from ImageJ or QuPath cover the same pixels. Brush strokes and cut lines
are not polygons and keep their own rules below.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from cellpose_io.rasterize import polygon_window

Slices = tuple[slice, slice]
_SHIFT = 4  # cv2 fixed-point bits: 1/16 pixel precision
_SCALE = 1 << _SHIFT


def scipy_ndimage():
    """scipy.ndimage, imported on first use: it costs ~0.4 s, too much for start-up."""
    from scipy import ndimage

    return ndimage


def _bbox(points: np.ndarray, pad: float, shape: tuple[int, int]) -> Slices | None:
    """Pixel bbox (as slices) of points given in pixel-index coordinates, clipped."""
    h, w = shape
    r0 = max(int(math.floor(points[:, 1].min() - pad)), 0)
    r1 = min(int(math.ceil(points[:, 1].max() + pad)) + 1, h)
    c0 = max(int(math.floor(points[:, 0].min() - pad)), 0)
    c1 = min(int(math.ceil(points[:, 0].max() + pad)) + 1, w)
    if r0 >= r1 or c0 >= c1:
        return None
    return slice(r0, r1), slice(c0, c1)


def _to_pixel_index(points_xy: np.ndarray) -> np.ndarray:
    pts = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    return pts - 0.5  # view (x, y) -> column/row index space where centres are integers


def _fixed(points: np.ndarray, sl: Slices) -> np.ndarray:
    off = np.array([sl[1].start, sl[0].start], dtype=np.float64)
    return np.round((points - off) * _SCALE).astype(np.int32)


def polygon_mask(points_xy: np.ndarray, shape: tuple[int, int]) -> tuple[Slices, np.ndarray] | None:
    """Pixels whose centre lies inside the polygon (ImageJ's rule), on its bbox crop.

    ``points_xy`` is an (n, 2) float array of view (x, y) vertices, closed implicitly;
    returns (row/col slices, bool crop) or None when no pixel centre is inside.
    """
    pts = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 3:
        return None
    window = polygon_window(pts, shape)
    if window is None:
        return None
    (r0, c0), inside = window
    if not inside.any():
        return None
    return (slice(r0, r0 + inside.shape[0]), slice(c0, c0 + inside.shape[1])), inside


def stroke_mask(
    points_xy: np.ndarray, radius: float, shape: tuple[int, int]
) -> tuple[Slices, np.ndarray] | None:
    """A brush stroke: discs of ``radius`` at each point joined by thick segments.

    Radius 0.5 paints single pixels; the disc covers pixel centres within ``radius``.
    """
    pts = _to_pixel_index(points_xy)
    if len(pts) == 0:
        return None
    radius = max(float(radius), 0.5)
    sl = _bbox(pts, radius + 1, shape)
    if sl is None:
        return None
    hh, ww = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
    rr = np.arange(sl[0].start, sl[0].stop, dtype=np.float64)[:, None]
    cc = np.arange(sl[1].start, sl[1].stop, dtype=np.float64)[None, :]
    out = np.zeros((hh, ww), bool)
    r2 = radius * radius
    for x, y in pts:
        out |= (rr - y) ** 2 + (cc - x) ** 2 <= r2
    if len(pts) > 1:
        crop = np.zeros((hh, ww), np.uint8)
        thick = max(int(round(2 * radius)), 1)
        fx = _fixed(pts, sl)
        cv2.polylines(crop, [fx], False, 1, thickness=thick, lineType=cv2.LINE_8, shift=_SHIFT)
        out |= crop.view(bool)
    if not out.any():
        return None
    return sl, out


def line_mask(points_xy: np.ndarray, shape: tuple[int, int]) -> tuple[Slices, np.ndarray] | None:
    """A one-pixel, 8-connected polyline (it separates 4-connected regions)."""
    pts = _to_pixel_index(points_xy)
    if len(pts) < 2:
        return None
    sl = _bbox(pts, 1.0, shape)
    if sl is None:
        return None
    crop = np.zeros((sl[0].stop - sl[0].start, sl[1].stop - sl[1].start), np.uint8)
    cv2.polylines(crop, [_fixed(pts, sl)], False, 1, thickness=1, lineType=cv2.LINE_8, shift=_SHIFT)
    return sl, crop.view(bool)


def union_slices(a: Slices | None, b: Slices | None) -> Slices | None:
    if a is None:
        return b
    if b is None:
        return a
    return (
        slice(min(a[0].start, b[0].start), max(a[0].stop, b[0].stop)),
        slice(min(a[1].start, b[1].start), max(a[1].stop, b[1].stop)),
    )
