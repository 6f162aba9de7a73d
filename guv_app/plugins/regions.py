"""Vectorised per-object bookkeeping shared by the built-in plugins.

Why: measuring 10,000 objects with a Python loop over objects (what ``regionprops`` does)
is slow. Here the foreground pixels are sorted once by object id, so every per-object
statistic becomes one ``ufunc.reduceat`` over contiguous runs. Sorting packs (id, pixel
index) into one unsigned integer key and uses ``np.sort`` (SIMD-accelerated in numpy 2,
~5x faster than ``argsort``); the pixel index in the low bits keeps pixels in raster order
within an object, which the shape code uses to find each row's first and last pixel.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

import numpy as np

_CACHE: list = []  # [(copy of the masks, Objects)]: the last masks measured
_CACHE_LOCK = threading.Lock()


def _sortable_u32(values: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Values mapped to unsigned ints of the same order, and their bit width (16 or 32).

    None for 64-bit types, which cannot share a 64-bit sort key with a group id.
    """
    kind, size = values.dtype.kind, values.dtype.itemsize
    if kind in "ub" and size <= 2:
        return values.astype(np.uint32), 16
    if kind == "i" and size <= 2:
        return (values.astype(np.int32) + (1 << 15)).astype(np.uint32), 16
    if kind == "u" and size == 4:
        return values, 32
    if kind == "i" and size == 4:
        return (values.astype(np.int64) + (1 << 31)).astype(np.uint32), 32
    if kind == "f" and size <= 4:
        bits = values.astype(np.float32).view(np.uint32)
        negative = (bits >> 31).astype(bool)
        return np.where(negative, ~bits, bits | np.uint32(1 << 31)), 32
    return None


def _unsort_u32(u: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Inverse of :func:`_sortable_u32`, as float64."""
    kind, size = dtype.kind, dtype.itemsize
    if kind in "ub":
        return u.astype(np.float64)
    if kind == "i":
        return u.astype(np.float64) - (1 << (15 if size <= 2 else 31))
    u = u.astype(np.uint32)
    positive = (u >> 31).astype(bool)
    bits = np.where(positive, u & np.uint32(0x7FFFFFFF), ~u)
    return bits.view(np.float32).astype(np.float64)


def group_by_id(ids: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(``index`` reordered so equal ``ids`` are contiguous and ascending, the ids so sorted).

    Order is kept within an id. Packs (id, index) into one uint64 and sorts it: much faster
    than a stable argsort. Needs ids and index below 2**32 (images up to 4 gigapixels).
    """
    if ids.size == 0:
        return index.astype(np.intp), ids
    key = (ids.astype(np.uint64) << np.uint64(32)) | index.astype(np.uint64)
    key.sort()
    return (key & np.uint64(0xFFFFFFFF)).astype(np.intp), (key >> np.uint64(32))


def clear_cache() -> None:
    """Forget the cached grouping of the last masks (frees its memory)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def check_masks(masks: np.ndarray) -> np.ndarray:
    """Return ``masks`` as a 2-D unsigned integer array or raise ``ValueError`` saying why."""
    masks = np.asarray(masks)
    if masks.ndim != 2:
        raise ValueError(f"masks must be 2-D (Y, X), got shape {masks.shape}")
    if masks.dtype.kind == "i":
        if masks.size and masks.min() < 0:
            raise ValueError("masks contain negative ids")
        masks = masks.astype(np.uint32)
    elif masks.dtype.kind != "u":
        raise ValueError(f"masks must hold integer ids, got dtype {masks.dtype}")
    return masks


def check_channels(channels: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Return ``channels`` as (C, Y, X) matching ``masks`` or raise ``ValueError``."""
    channels = np.asarray(channels)
    if channels.ndim == 2:
        channels = channels[np.newaxis]
    if channels.ndim != 3 or channels.shape[1:] != masks.shape:
        raise ValueError(
            f"channels must be (C, Y, X) with Y, X = masks shape {masks.shape}, "
            f"got {channels.shape}"
        )
    return channels


@dataclass
class Objects:
    """Foreground pixels grouped by object id (ascending), raster order within each object."""

    shape: tuple[int, int]
    ids: np.ndarray  # (n,) object ids present, ascending
    counts: np.ndarray  # (n,) pixels per object
    starts: np.ndarray  # (n,) offset of each object's first pixel in ``pixels``
    pixels: np.ndarray  # (P,) flat indices into the image, grouped by object

    @classmethod
    def from_masks(cls, masks: np.ndarray) -> Objects:
        masks = check_masks(masks)
        flat = masks.ravel()
        if flat.size >= 1 << 32:
            raise ValueError(f"masks of {flat.size} pixels are too large (max 2**32)")
        foreground = np.flatnonzero(flat)
        labels = flat[foreground]
        pixels, sorted_ids = group_by_id(labels, foreground)
        # ids may be sparse and large (up to 2**32 - 1): no bincount over the id range
        starts = np.flatnonzero(np.diff(sorted_ids, prepend=np.uint64(0))).astype(np.int64)
        counts = np.diff(np.append(starts, labels.size))
        return cls(masks.shape, sorted_ids[starts].astype(np.uint32), counts, starts, pixels)

    @classmethod
    def cached(cls, masks: np.ndarray) -> Objects:
        """Like :meth:`from_masks`, reusing the last result for masks with the same content.

        The plugins of one image run one after the other on the same masks. Comparing with
        a kept copy (a memcmp-speed check, far cheaper than grouping or hashing) lets the
        built-ins share one grouping safely, even if the caller edited the array in place.
        """
        masks = check_masks(masks)
        with _CACHE_LOCK:
            if _CACHE:
                kept, objects = _CACHE[0]
                if kept.shape == masks.shape and kept.dtype == masks.dtype \
                        and np.array_equal(kept, masks):
                    return objects
        objects = cls.from_masks(masks)
        with _CACHE_LOCK:
            _CACHE[:] = [(masks.copy(), objects)]
        return objects

    @property
    def n(self) -> int:
        return len(self.ids)

    @cached_property
    def rank(self) -> np.ndarray:
        """Per pixel (in ``pixels`` order): the object's row index 0..n-1."""
        return np.repeat(np.arange(self.n, dtype=np.int64), self.counts)

    @cached_property
    def rows(self) -> np.ndarray:
        return self.pixels // self.shape[1]

    @cached_property
    def cols(self) -> np.ndarray:
        return self.pixels % self.shape[1]

    def index_of(self, object_ids: np.ndarray) -> np.ndarray:
        """Row index of each of ``object_ids`` (which must be present)."""
        return np.searchsorted(self.ids, object_ids)

    def gather(self, image: np.ndarray) -> np.ndarray:
        """Values of a (Y, X) image at every object pixel, grouped like ``pixels``."""
        return image.ravel()[self.pixels]

    def spread(self, per_object: np.ndarray) -> np.ndarray:
        """Per-object values repeated to every pixel of the object."""
        return np.repeat(per_object, self.counts)

    # ---- reductions over each object's run of pixels ---------------------------------------
    def sum(self, values: np.ndarray) -> np.ndarray:
        if not self.n:
            return np.zeros(0)
        return np.add.reduceat(values, self.starts, dtype=np.float64)

    def min(self, values: np.ndarray) -> np.ndarray:
        if not self.n:
            return np.zeros(0, dtype=values.dtype)
        return np.minimum.reduceat(values, self.starts)

    def max(self, values: np.ndarray) -> np.ndarray:
        if not self.n:
            return np.zeros(0, dtype=values.dtype)
        return np.maximum.reduceat(values, self.starts)

    def mean(self, values: np.ndarray) -> np.ndarray:
        return self.sum(values) / np.maximum(self.counts, 1)

    def std(self, values: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
        """Population standard deviation (ddof=0, like ``np.std``), two-pass for accuracy."""
        if mean is None:
            mean = self.mean(values)
        dev = values.astype(np.float64) - self.spread(mean)
        return np.sqrt(self.sum(dev * dev) / np.maximum(self.counts, 1))

    def median(self, values: np.ndarray) -> np.ndarray:
        return grouped_median(values, self.rank, self.n)


def grouped_median(values: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """Median of ``values`` per group 0..n-1 (``np.median`` semantics; NaN for empty groups).

    No Python loop: (group, value) is packed into one integer key and sorted, so each
    group's values end up sorted and contiguous; the median is two lookups per group.
    64-bit values fall back to ``np.lexsort`` (slower, same result). NaNs sort last instead
    of making the median NaN.
    """
    out = np.full(n, np.nan)
    if values.size == 0:
        return out
    counts = np.bincount(group, minlength=n)
    starts = np.cumsum(counts) - counts
    has = counts > 0
    lo_pos = (starts + (counts - 1) // 2)[has]
    hi_pos = (starts + counts // 2)[has]
    packed = _sortable_u32(values)
    if packed is None:
        ordered = values[np.lexsort((values, group))].astype(np.float64)
        out[has] = (ordered[lo_pos] + ordered[hi_pos]) / 2
        return out
    u, bits = packed
    if bits == 16 and n <= 1 << 16:
        key = (group.astype(np.uint32) << np.uint32(16)) | u.astype(np.uint32)
        mask = 0xFFFF
    else:
        key = (group.astype(np.uint64) << np.uint64(32)) | u.astype(np.uint64)
        mask = 0xFFFFFFFF
    key.sort()
    low = _unsort_u32(key[lo_pos] & key.dtype.type(mask), values.dtype)
    high = _unsort_u32(key[hi_pos] & key.dtype.type(mask), values.dtype)
    out[has] = (low + high) / 2
    return out


def grouped_mean(values: np.ndarray, group: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, count) of ``values`` per group 0..n-1; NaN mean for empty groups."""
    counts = np.bincount(group, minlength=n)
    sums = np.bincount(group, weights=values.astype(np.float64, copy=False), minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan), counts


NEIGHBOURS_4 = ((0, -1), (0, 1), (-1, 0), (1, 0))
NEIGHBOURS_DIAGONAL = ((-1, -1), (-1, 1), (1, -1), (1, 1))


def neighbour_index(
    shape: tuple[int, int], pixels: np.ndarray, rows: np.ndarray, cols: np.ndarray,
    dy: int, dx: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(flat index of the (dy, dx) neighbour, whether it lies inside the image).

    Off-image neighbours point back at the pixel itself; callers must use the validity.
    """
    height, width = shape
    valid = np.ones(len(pixels), dtype=bool)
    if dy:
        valid &= (rows > 0) if dy < 0 else (rows < height - 1)
    if dx:
        valid &= (cols > 0) if dx < 0 else (cols < width - 1)
    index = pixels + (dy * width + dx)
    return np.where(valid, index, pixels), valid


def inner_border(masks: np.ndarray, objects: Objects) -> np.ndarray:
    """Boolean per object pixel: True where a 4-neighbour has another id (or is off-image).

    This is the ``border_image`` of ``skimage.measure.perimeter(region, 4)`` for every
    object at once.
    """
    flat = masks.ravel()
    own = flat[objects.pixels]
    border = np.zeros(len(own), dtype=bool)
    for dy, dx in NEIGHBOURS_4:
        index, valid = neighbour_index(
            masks.shape, objects.pixels, objects.rows, objects.cols, dy, dx)
        border |= ~valid | (flat[index] != own)
    return border


def _distance_to_zeros(src: np.ndarray, labels: bool = False):
    """OpenCV distance transform (5x5 mask, within ~2% of Euclidean) to the zero pixels."""
    import cv2

    if labels:
        return cv2.distanceTransformWithLabels(
            src, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
        )
    return cv2.distanceTransform(src, cv2.DIST_L2, 5)


def outer_ring(masks: np.ndarray, objects: Objects, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Background pixels within ``width`` px of an object, each given to its nearest object.

    Returns (flat pixel indices, object row index of each). The nearest-object rule keeps
    rings of close neighbours from overlapping; pixels of other objects are never included.
    Distances use OpenCV's 5x5 chamfer transform (scipy's exact EDT is ~5x slower).
    """
    if objects.n == 0 or width <= 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.int64)
    background = (masks == 0).astype(np.uint8)
    dist, nearest = _distance_to_zeros(background, labels=True)
    # each object pixel carries its own label; map those labels back to object rows
    lut = np.zeros(int(nearest.max()) + 1, dtype=np.int64)
    lut[nearest.ravel()[objects.pixels]] = objects.rank
    ring = np.flatnonzero(background.ravel().view(bool) & (dist.ravel() <= width))
    return ring, lut[nearest.ravel()[ring]]


def inner_ring(masks: np.ndarray, objects: Objects, width: float) -> np.ndarray:
    """Boolean per object pixel (``pixels`` order): within ``width`` px of the object's edge.

    ``width`` = 1 gives exactly the 4-connected border pixels; wider rings add pixels whose
    distance to the nearest border pixel is below ``width`` - 1 (chamfer distance).
    """
    border = inner_border(masks, objects)
    if width <= 1:
        return border
    src = np.ones(masks.shape, dtype=np.uint8)
    src.ravel()[objects.pixels[border]] = 0
    dist = _distance_to_zeros(src)
    return dist.ravel()[objects.pixels] <= width - 1
