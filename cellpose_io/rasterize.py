"""Polygons <-> pixel masks with one convention: pixel (row r, col c) covers the square
[c, c+1) x [r, r+1) and belongs to a shape when its centre (c+0.5, r+0.5) lies inside.

This is the convention of ImageJ (``PolygonFiller``) and QuPath, so a polygon drawn there
and a mask made here agree pixel for pixel. The other direction traces each object's
boundary along pixel edges ("crack" polygons with integer corners), which rasterises back
to exactly the same pixels.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

__all__ = [
    "Polygon",
    "fill_ellipse",
    "fill_polygon",
    "mask_to_polygons",
    "masks_to_polygons",
    "object_slices",
    "paint_polygon",
    "polygon_window",
]


@dataclass
class Polygon:
    """One polygon in image pixel coordinates (x, y): an exterior ring and its holes.

    Rings are (n, 2) float arrays, not closed (first point not repeated). Exterior rings
    from :func:`mask_to_polygons` have positive shoelace area, holes negative.
    """

    exterior: np.ndarray
    holes: list[np.ndarray] = field(default_factory=list)

    def rings(self) -> list[np.ndarray]:
        return [self.exterior, *self.holes]


def fill_polygon(
    rings: Sequence[np.ndarray] | np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    """Boolean (H, W) mask of pixels whose centres lie inside ``rings`` (even-odd rule).

    ``rings`` is one (n, 2) array of x, y vertices or a list of them (exterior plus holes);
    rings are closed implicitly. Edges are half-open so a pixel centre exactly on a shared
    edge belongs to exactly one of two touching polygons. Parts outside ``shape`` are
    clipped.
    """
    out = np.zeros((int(shape[0]), int(shape[1])), dtype=bool)
    window = polygon_window(rings, shape)
    if window is not None:
        (r0, c0), sub = window
        out[r0 : r0 + sub.shape[0], c0 : c0 + sub.shape[1]] = sub
    return out


def paint_polygon(
    labels: np.ndarray, rings: Sequence[np.ndarray] | np.ndarray, value: int
) -> int:
    """Set the pixels of ``labels`` inside ``rings`` to ``value``; return how many."""
    window = polygon_window(rings, labels.shape[:2])
    if window is None:
        return 0
    (r0, c0), sub = window
    labels[r0 : r0 + sub.shape[0], c0 : c0 + sub.shape[1]][sub] = value
    return int(np.count_nonzero(sub))


def polygon_window(
    rings: Sequence[np.ndarray] | np.ndarray, shape: tuple[int, int]
) -> tuple[tuple[int, int], np.ndarray] | None:
    """Rasterise ``rings`` inside their clipped bounding box: ((row0, col0), bool mask).

    Returns None when nothing of the polygon falls inside ``shape``.
    """
    height, width = int(shape[0]), int(shape[1])
    if isinstance(rings, np.ndarray) and rings.ndim == 2:
        rings = [rings]
    starts, ends = [], []
    for ring in rings:
        pts = np.asarray(ring, dtype=np.float64).reshape(-1, 2)
        if len(pts) < 3:
            continue
        starts.append(pts)
        ends.append(np.roll(pts, -1, axis=0))
    if not starts or height == 0 or width == 0:
        return None
    p0, p1 = np.concatenate(starts), np.concatenate(ends)
    if not np.isfinite(p0).all():
        raise ValueError("polygon has non-finite coordinates")
    r0 = int(np.clip(np.floor(p0[:, 1].min()), 0, height))
    r1 = int(np.clip(np.ceil(p0[:, 1].max()), 0, height))
    c0 = int(np.clip(np.floor(p0[:, 0].min()), 0, width))
    c1 = int(np.clip(np.ceil(p0[:, 0].max()), 0, width))
    if r1 <= r0 or c1 <= c0:
        return None
    win_h, win_w = r1 - r0, c1 - c0
    y_lo, y_hi = np.minimum(p0[:, 1], p1[:, 1]), np.maximum(p0[:, 1], p1[:, 1])
    # Rows whose centre line y = r + 0.5 crosses the edge, half-open: y_lo <= r+0.5 < y_hi.
    r_start = np.clip(np.ceil(y_lo - 0.5), r0, r1).astype(np.int64)
    r_end = np.clip(np.ceil(y_hi - 0.5), r0, r1).astype(np.int64)
    counts = np.maximum(r_end - r_start, 0)
    total = int(counts.sum())
    if total == 0:
        return None
    edge = np.repeat(np.arange(len(p0)), counts)
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    rows = r_start[edge] + offsets
    yc = rows + 0.5
    x0, y0, x1, y1 = p0[edge, 0], p0[edge, 1], p1[edge, 0], p1[edge, 1]
    xs = x0 + (yc - y0) * (x1 - x0) / (y1 - y0)
    order = np.lexsort((xs, rows))
    rows, xs = rows[order], xs[order]
    # Crossings come in pairs per row (closed rings); even-odd fills between each pair.
    pair_rows, x_left, x_right = rows[0::2] - r0, xs[0::2], xs[1::2]
    c_start = np.clip(np.ceil(x_left - 0.5), c0, c1).astype(np.int64) - c0
    c_end = np.clip(np.ceil(x_right - 0.5), c0, c1).astype(np.int64) - c0
    keep = c_end > c_start
    diff = np.zeros((win_h, win_w + 1), dtype=np.int32)
    np.add.at(diff, (pair_rows[keep], c_start[keep]), 1)
    np.add.at(diff, (pair_rows[keep], c_end[keep]), -1)
    return (r0, c0), np.cumsum(diff[:, :win_w], axis=1) > 0


def fill_ellipse(
    left: float, top: float, width: float, height: float, shape: tuple[int, int]
) -> np.ndarray:
    """Boolean mask of pixel centres inside the ellipse inscribed in the given box."""
    out = np.zeros((int(shape[0]), int(shape[1])), dtype=bool)
    if width <= 0 or height <= 0:
        return out
    a, b = width / 2.0, height / 2.0
    cx, cy = left + a, top + b
    r0, r1 = max(int(np.floor(top)), 0), min(int(np.ceil(top + height)), out.shape[0])
    c0, c1 = max(int(np.floor(left)), 0), min(int(np.ceil(left + width)), out.shape[1])
    if r1 <= r0 or c1 <= c0:
        return out
    yy = (np.arange(r0, r1) + 0.5 - cy)[:, None] / b
    xx = (np.arange(c0, c1) + 0.5 - cx)[None, :] / a
    out[r0:r1, c0:c1] = xx * xx + yy * yy <= 1.0
    return out


# Directions in (dx, dy) with y pointing down; the object is always on the right-hand side.
_RIGHT_TURN = {(1, 0): (0, 1), (0, 1): (-1, 0), (-1, 0): (0, -1), (0, -1): (1, 0)}


def _boundary_edges(mask: np.ndarray) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """Directed pixel-edge segments around ``mask`` (padded by one), keyed by start corner."""
    m = mask
    up = np.zeros_like(m)
    up[1:] = m[:-1]
    down = np.zeros_like(m)
    down[:-1] = m[1:]
    left = np.zeros_like(m)
    left[:, 1:] = m[:, :-1]
    right = np.zeros_like(m)
    right[:, :-1] = m[:, 1:]
    edges: dict[tuple[int, int], list[tuple[int, int]]] = {}
    # top side runs +x from (c, r); right side +y from (c+1, r); bottom -x from (c+1, r+1);
    # left side -y from (c, r+1): a clockwise (on screen) loop around each pixel.
    for sel, (ox, oy), d in (
        (m & ~up, (0, 0), (1, 0)),
        (m & ~right, (1, 0), (0, 1)),
        (m & ~down, (1, 1), (-1, 0)),
        (m & ~left, (0, 1), (0, -1)),
    ):
        rr, cc = np.nonzero(sel)
        for x, y in zip((cc + ox).tolist(), (rr + oy).tolist(), strict=True):
            edges.setdefault((x, y), []).append(d)
    return edges


def _trace_rings(mask: np.ndarray) -> list[np.ndarray]:
    """Closed crack rings of a boolean mask, vertices only at corners (x, y)."""
    edges = _boundary_edges(mask)
    rings: list[np.ndarray] = []
    while edges:
        # The top-left-most corner is never a diagonal-touch vertex with two exits left,
        # so starting there the right-turn rule closes every ring where it began.
        start = min(edges, key=lambda p: (p[1], p[0]))
        pos = start
        corners: list[tuple[int, int]] = []
        prev = None
        while True:
            out = edges.get(pos)
            if not out:
                break
            if len(out) > 1 and prev is not None:
                # Diagonal touch: turn right to keep diagonal pixels apart (4-connectivity).
                d = _RIGHT_TURN[prev] if _RIGHT_TURN[prev] in out else out[0]
            else:
                d = out[0]
            out.remove(d)
            if not out:
                del edges[pos]
            if d != prev:
                corners.append(pos)
            prev = d
            pos = (pos[0] + d[0], pos[1] + d[1])
        if corners and corners[0] == pos and len(corners) > 1:
            # The start corner may sit mid-way along a straight run: drop it then.
            first_dir = (
                np.sign(corners[1][0] - corners[0][0]),
                np.sign(corners[1][1] - corners[0][1]),
            )
            if first_dir == prev:
                corners = corners[1:]
        if len(corners) >= 4:
            rings.append(np.asarray(corners, dtype=np.float64))
    return rings


def _signed_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _inside(point: tuple[float, float], ring: np.ndarray) -> bool:
    """Even-odd point-in-ring test (the point never lies on an edge here)."""
    px, py = point
    x0, y0 = ring[:, 0], ring[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    crosses = (y0 <= py) != (y1 <= py)
    with np.errstate(divide="ignore", invalid="ignore"):
        xs = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
    return bool(np.count_nonzero(crosses & (xs > px)) % 2)


def mask_to_polygons(mask: np.ndarray, offset: tuple[float, float] = (0.0, 0.0)) -> list[Polygon]:
    """Exact polygons (with holes) of a boolean mask, one per 4-connected part.

    ``offset`` (x, y) is added to every vertex (for masks cut from a larger image).
    Rasterising the result with :func:`fill_polygon` gives back ``mask`` exactly.
    """
    padded = np.pad(np.asarray(mask, dtype=bool), 1)
    rings = _trace_rings(padded)
    outers = [r for r in rings if _signed_area(r) > 0]
    holes = [r for r in rings if _signed_area(r) < 0]
    polygons = [Polygon(exterior=r) for r in outers]
    areas = [_signed_area(r) for r in outers]
    for hole in holes:
        # A background pixel centre just inside the hole: left of the hole's first edge.
        (x0, y0), (x1, y1) = hole[0], hole[1]
        dx, dy = np.sign(x1 - x0), np.sign(y1 - y0)
        probe = (x0 + dx * 0.5 + dy * 0.5, y0 + dy * 0.5 - dx * 0.5)
        owners = [i for i, outer in enumerate(outers) if _inside(probe, outer)]
        if owners:
            polygons[min(owners, key=lambda i: areas[i])].holes.append(hole)
    shift = np.array([offset[0] - 1.0, offset[1] - 1.0])
    for poly in polygons:
        poly.exterior = poly.exterior + shift
        poly.holes = [h + shift for h in poly.holes]
    return polygons


def object_slices(masks: np.ndarray) -> Iterable[tuple[int, tuple[slice, slice]]]:
    """(object id, bounding-box slices) for each id present, in increasing id order.

    Works for sparse ids up to 2**32-1 without a per-id table (``find_objects`` alone would
    allocate one entry per possible id).
    """
    ids, inverse = np.unique(masks, return_inverse=True)
    labels = inverse.reshape(masks.shape)
    has_background = bool(ids.size) and ids[0] == 0
    if not has_background:
        labels = labels + 1
    # find_objects entry j describes label j + 1.
    for j, slc in enumerate(ndimage.find_objects(labels)):
        obj_id = ids[j + 1] if has_background else ids[j]
        if slc is not None:
            yield int(obj_id), slc


def masks_to_polygons(masks: np.ndarray) -> dict[int, list[Polygon]]:
    """Exact polygons of every object in an instance mask, keyed by object id."""
    result: dict[int, list[Polygon]] = {}
    for obj_id, (sr, sc) in object_slices(masks):
        crop = masks[sr, sc] == obj_id
        result[obj_id] = mask_to_polygons(crop, offset=(sc.start, sr.start))
    return result
