"""Auto-match the objects of two channels by overlap, and the per-link table.

IoU of every overlapping pair is computed sparsely: the (a, b) ids of the pixels where both
label images are foreground are packed into one integer key and counted with ``np.unique``,
so the cost follows the pixels, never an N x M matrix (``cellpose.metrics`` builds a dense
(max_a + 1) x (max_b + 1) one). The one-to-one matching that maximises the summed IoU is
solved with ``scipy.optimize.linear_sum_assignment`` on each connected group of overlapping
objects separately (the groups share no object, so this is the global optimum, and each
dense sub-problem is a handful of objects).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from guv_app.services.linking.links import LinkSet

#: Default IoU threshold of the auto-match. 0.5 (AP@0.5) suits two segmentations of the same
#: structure; linked channels usually hold different structures of one object (membrane
#: vs content, cell vs nucleus) whose areas differ, so a contained object reaches only its
#: area ratio. 0.25 keeps a content object down to half the outer object's radius and still
#: rejects a neighbour's slight touch; the assignment settles the ambiguous cases.
DEFAULT_IOU_THRESHOLD = 0.25


@dataclass
class Overlaps:
    """Every pair of objects that share pixels: ids (int64), shared pixels and IoU (float64)."""

    a: np.ndarray
    b: np.ndarray
    intersection: np.ndarray
    iou: np.ndarray


@dataclass
class Match:
    """The one-to-one pairs (``a[k]`` with ``b[k]``) at or above the threshold and their IoU."""

    a: np.ndarray
    b: np.ndarray
    iou: np.ndarray

    @property
    def pairs(self) -> list[tuple[int, int]]:
        return list(zip(self.a.tolist(), self.b.tolist(), strict=True))


def _check_pair(masks_a: np.ndarray, masks_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(masks_a), np.asarray(masks_b)
    a = a[0] if a.ndim == 3 and a.shape[0] == 1 else a
    b = b[0] if b.ndim == 3 and b.shape[0] == 1 else b
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"label images must be 2-D and the same size, got {a.shape} and {b.shape}")
    return a, b


def overlaps(masks_a: np.ndarray, masks_b: np.ndarray) -> Overlaps:
    """IoU of every overlapping pair of objects of two (H, W) label images (0 = background).

    Raises ``ValueError`` for label images of different sizes.
    """
    a, b = _check_pair(masks_a, masks_b)
    a, b = a.ravel(), b.ravel()
    top_a = int(a.max(initial=0))
    top_b = int(b.max(initial=0))
    area_a = np.bincount(a.astype(np.intp, copy=False), minlength=top_a + 1)
    area_b = np.bincount(b.astype(np.intp, copy=False), minlength=top_b + 1)
    both = (a > 0) & (b > 0)
    # one integer key per pixel pair; uint32 when it fits (a faster sort than uint64)
    key_type = np.uint32 if (top_a + 1) * (top_b + 1) < 1 << 32 else np.uint64
    key = a[both].astype(key_type) * key_type(top_b + 1) + b[both].astype(key_type)
    pairs, inter = np.unique(key, return_counts=True)
    pa, pb = np.divmod(pairs.astype(np.int64), top_b + 1)
    inter = inter.astype(np.int64)
    iou = inter / (area_a[pa] + area_b[pb] - inter)
    return Overlaps(pa, pb, inter, iou.astype(np.float64))


def match_by_iou(masks_a: np.ndarray, masks_b: np.ndarray,
                 threshold: float = DEFAULT_IOU_THRESHOLD) -> Match:
    """Optimal one-to-one matching of the objects of two label images by IoU.

    Only pairs with IoU >= ``threshold`` (0 < threshold <= 1) may be matched; among those,
    the matching maximises the summed IoU (``linear_sum_assignment``). Unmatched objects
    stay unlinked. Pairs come sorted by the id in ``masks_a``. Raises ``ValueError`` for a
    threshold outside (0, 1] or label images of different sizes.
    """
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not 0 < float(threshold) <= 1:
        raise ValueError(f"IoU threshold must be in (0, 1], got {threshold}")
    ov = overlaps(masks_a, masks_b)
    keep = ov.iou >= threshold
    pa, pb, iou = ov.a[keep], ov.b[keep], ov.iou[keep]
    empty = Match(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if not len(pa):
        return empty
    ua, ia = np.unique(pa, return_inverse=True)
    ub, ib = np.unique(pb, return_inverse=True)
    # a pair whose two objects overlap nothing else (the usual case) is matched as it is;
    # only the groups of objects with several candidates need an assignment
    alone = (np.bincount(ia)[ia] == 1) & (np.bincount(ib)[ib] == 1)
    out_a, out_b, out_iou = [pa[alone]], [pb[alone]], [iou[alone]]
    rest = np.flatnonzero(~alone)
    if len(rest):
        na = len(ua)
        graph = coo_matrix((np.ones(len(rest)), (ia[rest], na + ib[rest])),
                           shape=(na + len(ub),) * 2)
        _, comp = connected_components(graph, directed=False)
        edge_comp = comp[ia[rest]]
        order = rest[np.argsort(edge_comp, kind="stable")]
        bounds = np.flatnonzero(np.diff(comp[ia[order]])) + 1
        for edges in np.split(order, bounds):
            ra, ra_i = np.unique(ia[edges], return_inverse=True)
            rb, rb_i = np.unique(ib[edges], return_inverse=True)
            gain = np.zeros((len(ra), len(rb)))
            gain[ra_i, rb_i] = iou[edges]
            rows, cols = linear_sum_assignment(gain, maximize=True)
            good = gain[rows, cols] > 0
            rows, cols = rows[good], cols[good]
            out_a.append(ua[ra[rows]])
            out_b.append(ub[rb[cols]])
            out_iou.append(gain[rows, cols])
    a, b, v = np.concatenate(out_a), np.concatenate(out_b), np.concatenate(out_iou)
    order = np.argsort(a, kind="stable")
    return Match(a[order], b[order], v[order])


def centroids(masks: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """(len(ids), 2) float64 (y, x) centroid of each object in px (NaN for a missing id)."""
    m = np.asarray(masks)
    m = m[0] if m.ndim == 3 and m.shape[0] == 1 else m
    flat = m.ravel().astype(np.int64)
    n = max(int(flat.max(initial=0)), int(np.max(ids, initial=0))) + 1
    rows, cols = np.divmod(np.arange(flat.size), m.shape[1])
    area = np.bincount(flat, minlength=n).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        cy = np.bincount(flat, weights=rows, minlength=n) / area
        cx = np.bincount(flat, weights=cols, minlength=n) / area
    ids = np.asarray(ids, np.int64)
    out = np.full((len(ids), 2), np.nan)
    ok = (ids > 0) & (ids < n)
    out[ok, 0], out[ok, 1] = cy[ids[ok]], cx[ids[ok]]
    return out


def group_iou(masks: Mapping[int, np.ndarray], members: Mapping[int, int]) -> float:
    """IoU of a group's masks: pixels in all of them over pixels in any (NaN if a channel's
    label image is missing)."""
    if any(c not in masks for c in members):
        return float("nan")
    inside = [np.asarray(masks[c]).reshape(np.shape(masks[c])[-2:]) == i
              for c, i in members.items()]
    union = np.logical_or.reduce(inside)
    n = int(union.sum())
    return float(np.logical_and.reduce(inside).sum() / n) if n else float("nan")


def _pair_iou(masks: Mapping[int, np.ndarray], groups: list[tuple[int, dict[int, int]]]
              ) -> np.ndarray:
    """IoU of each group: from the sparse overlaps of its channel pair for two members,
    else by :func:`group_iou`."""
    out = np.full(len(groups), np.nan)
    cache: dict[tuple[int, int], dict[tuple[int, int], float]] = {}
    for k, (_, members) in enumerate(groups):
        if len(members) != 2:
            if len(members) > 2:  # a group of one has no overlap to speak of: NaN
                out[k] = group_iou(masks, members)
            continue
        (c1, i1), (c2, i2) = sorted(members.items())
        if c1 not in masks or c2 not in masks:
            continue
        if (c1, c2) not in cache:
            ov = overlaps(masks[c1], masks[c2])
            cache[(c1, c2)] = dict(zip(zip(ov.a.tolist(), ov.b.tolist(), strict=True),
                                       ov.iou.tolist(), strict=True))
        out[k] = cache[(c1, c2)].get((i1, i2), 0.0)
    return out


def link_table(links: LinkSet, masks: Mapping[int, np.ndarray]) -> dict[str, np.ndarray]:
    """One row per link: ``link_id``, ``n_members``, ``iou`` (pixels in all members over
    pixels in any), and per channel c ``mask_c`` (0 = none), ``centroid_y_c``,
    ``centroid_x_c`` (px).

    ``masks`` maps channel -> its (H, W) label image; members of a channel without one get
    NaN centroids and IoU.
    """
    groups = sorted(links.groups.items())
    chans = sorted({c for _, m in groups for c in m})
    table: dict[str, np.ndarray] = {
        "link_id": np.array([oid for oid, _ in groups], np.int64),
        "n_members": np.array([len(m) for _, m in groups], np.int64),
        "iou": _pair_iou(masks, groups),
    }
    for c in chans:
        ids = np.array([m.get(c, 0) for _, m in groups], np.int64)
        table[f"mask_{c}"] = ids
        cen = centroids(masks[c], ids) if c in masks else np.full((len(ids), 2), np.nan)
        table[f"centroid_y_{c}"], table[f"centroid_x_{c}"] = cen[:, 0], cen[:, 1]
    return table
