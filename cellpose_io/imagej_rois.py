"""ImageJ/Fiji ROIs (``.roi`` and ``RoiSet.zip``, via roifile) to and from instance masks.

Reading fills each area ROI (polygon, freehand, traced, rectangle, oval, ellipse,
composite) with the pixel-centre rule of :mod:`cellpose_io.rasterize`, which is the rule
ImageJ itself uses, so a mask made here matches ImageJ's "Create Mask". Line and point ROIs
have no area and are skipped (logged). The ROI ``group`` (0-255) carries the class.

Writing traces every object along pixel edges: an object with one part and no holes becomes
a traced polygon ROI; one with holes or several parts a composite (shape) ROI. Both fill
back to exactly the same pixels.
"""

from __future__ import annotations

import io
import logging
import os
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from cellpose_io.atomic import atomic_write_bytes
from cellpose_io.errors import LabelReadError
from cellpose_io.label_classes import compact_labels, normalise_class_table, normalise_color
from cellpose_io.limits import check_plane_size
from cellpose_io.rasterize import (
    Polygon,
    fill_ellipse,
    masks_to_polygons,
    polygon_window,
)
from cellpose_io.seg import SegData

__all__ = ["read_imagej_roi_planes", "read_imagej_rois", "roi_plane", "roi_to_mask",
           "write_imagej_rois"]

log = logging.getLogger(__name__)

_MOVETO, _LINETO, _CLOSE = 0.0, 1.0, 4.0


def _roifile() -> Any:
    import roifile

    return roifile


def _load_rois(path: Path) -> list[Any]:
    roifile = _roifile()
    if not path.is_file():
        raise LabelReadError(path, "file not found")
    try:
        rois = roifile.ImagejRoi.fromfile(path)
    except Exception as exc:  # roifile raises ValueError/struct.error/BadZipFile/...
        raise LabelReadError(path, f"not a readable ImageJ ROI file ({type(exc).__name__}: {exc})") from exc
    if not isinstance(rois, list):
        rois = [rois]
    if not rois:
        raise LabelReadError(path, "contains no ROIs")
    return rois


def roi_to_mask(roi: Any, shape: tuple[int, int]) -> tuple[tuple[int, int], np.ndarray] | None:
    """Rasterise one area ROI: ((row0, col0), bool window), or None for non-area ROIs.

    Raises ValueError for a composite path with curves (ImageJ stores ovals in shapes as
    polygons, so curves only come from hand-made files).
    """
    roi_type = _roifile().ROI_TYPE
    kind = roi.roitype
    if roi.composite:
        paths = roi.coordinates(multi=True)
        return polygon_window([np.asarray(p, dtype=np.float64) for p in paths], shape)
    if kind == roi_type.OVAL:
        if roi.subpixelrect:
            box = (float(roi.xd), float(roi.yd), float(roi.widthd), float(roi.heightd))
        else:
            box = (roi.left, roi.top, roi.right - roi.left, roi.bottom - roi.top)
        full = fill_ellipse(*box, shape)
        return ((0, 0), full) if full.any() else None
    if kind == roi_type.RECT:
        if roi.rounded_rect_arc_size:
            log.debug("rounded rectangle ROI %r filled as a plain rectangle", roi.name)
        if roi.subpixelrect:
            x, y = float(roi.xd), float(roi.yd)
            w, h = float(roi.widthd), float(roi.heightd)
        else:
            x, y = roi.left, roi.top
            w, h = roi.right - roi.left, roi.bottom - roi.top
        ring = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float64)
        return polygon_window(ring, shape)
    if kind in (roi_type.POLYGON, roi_type.FREEHAND, roi_type.TRACED):
        coords = np.asarray(roi.coordinates(), dtype=np.float64)
        if len(coords) < 3:
            return None
        return polygon_window(coords, shape)
    return None


def _infer_shape(rois: list[Any]) -> tuple[int, int]:
    bottom = max((int(r.bottom) for r in rois), default=0)
    right = max((int(r.right) for r in rois), default=0)
    return (max(bottom, 1), max(right, 1))


def _color_of(roi: Any) -> tuple[int, int, int] | None:
    hex_color = roi.hexcolor(roi.stroke_color) or roi.hexcolor(roi.fill_color)
    return normalise_color(hex_color) if hex_color else None


def read_imagej_rois(
    path: str | os.PathLike,
    shape: tuple[int, int] | None = None,
    class_names: list[str] | None = None,
) -> SegData:
    """Read a ``.roi`` or ``RoiSet.zip`` into one instance mask of ``shape`` (H, W).

    Objects get ids 1..N in file order; a later ROI overwrites an earlier one where they
    overlap, and ROIs left without pixels are dropped (logged). ``shape`` defaults to the
    ROIs' bounding box from (0, 0). Class ids come from the ROI group (0 = unassigned); names
    from ``class_names`` or "class k", colours from the first ROI of each group with a
    stroke or fill colour. Every ROI lands on this one plane, whatever slice it was drawn
    on (a warning says so); :func:`read_imagej_roi_planes` keeps the slices apart. Raises
    :class:`LabelReadError` for unreadable files or when no ROI has an area.
    """
    path = Path(path)
    rois = _load_rois(path)
    drawn_on = {(r.position, r.c_position, r.z_position, r.t_position) for r in rois}
    if len(drawn_on) > 1:
        log.warning("%s: ROIs drawn on %d different slices are flattened onto one plane",
                    path, len(drawn_on))
    return _rasterise(path, rois, shape, class_names)


def roi_plane(roi: Any, size_t: int = 1, size_z: int = 1, size_c: int = 1) -> tuple[int, int]:
    """The (t, z) plane (0-based) an ImageJ ROI was drawn on.

    ImageJ keeps either hyperstack positions (``c_position``, ``z_position``,
    ``t_position``, 1-based) or one stack ``position`` (1-based slice number in ImageJ's
    C-fastest, then Z, then T order); 0 means "not set", which ImageJ shows on every slice
    and which is placed on index 0 here. Raises ``ValueError`` for a position beyond the
    image's sizes.
    """
    if roi.z_position or roi.t_position or roi.c_position:
        t, z = max(int(roi.t_position) - 1, 0), max(int(roi.z_position) - 1, 0)
    elif roi.position:
        index = int(roi.position) - 1
        z = (index // size_c) % size_z
        t = index // (size_c * size_z)
        if t >= size_t:
            raise ValueError(f"slice {roi.position} is beyond the image's "
                             f"{size_c * size_z * size_t} slices (C={size_c} Z={size_z} T={size_t})")
    else:
        t = z = 0
    if t >= size_t or z >= size_z:
        raise ValueError(f"position t={t + 1} z={z + 1} is beyond the image's T={size_t} Z={size_z}")
    return t, z


def read_imagej_roi_planes(
    path: str | os.PathLike,
    shape: tuple[int, int] | None = None,
    class_names: list[str] | None = None,
    *,
    size_t: int = 1,
    size_z: int = 1,
    size_c: int = 1,
) -> dict[tuple[int, int], SegData]:
    """Read a RoiSet drawn on a stack: one instance mask per (t, z) plane that has ROIs.

    Each ROI goes onto the plane it was drawn on (:func:`roi_plane`; the image's
    ``size_t``/``size_z``/``size_c`` turn a plain stack position into t and z, the way
    ImageJ numbers slices). Within a plane, ids, classes and overlaps follow
    :func:`read_imagej_rois`; all planes share one class table. ROIs without a position go
    onto plane (0, 0) (logged). Raises :class:`LabelReadError` for an unreadable file, a ROI
    beyond the image's planes, or when no ROI has an area.
    """
    path = Path(path)
    rois = _load_rois(path)
    by_plane: dict[tuple[int, int], list[Any]] = {}
    unpositioned = 0
    for index, roi in enumerate(rois):
        try:
            plane = roi_plane(roi, size_t, size_z, size_c)
        except ValueError as exc:
            raise LabelReadError(path, f"ROI {index} ({roi.name!r}): {exc}") from exc
        unpositioned += not (roi.position or roi.z_position or roi.t_position or roi.c_position)
        by_plane.setdefault(plane, []).append(roi)
    if unpositioned and len(by_plane) > 1:
        log.warning("%s: %d ROI(s) have no slice position and were put on the first plane",
                    path, unpositioned)
    n_groups = max((int(r.group) for r in rois), default=0)
    out: dict[tuple[int, int], SegData] = {}
    for plane in sorted(by_plane):
        try:
            out[plane] = _rasterise(path, by_plane[plane], shape, class_names, n_groups)
        except LabelReadError:
            log.warning("%s: plane t=%d z=%d has no area ROI", path, *plane)
    if not out:
        raise LabelReadError(path, "contains no area ROIs to turn into masks")
    return out


def _rasterise(
    path: Path,
    rois: list[Any],
    shape: tuple[int, int] | None,
    class_names: list[str] | None,
    n_groups: int = 0,
) -> SegData:
    """Fill ``rois`` into one instance mask (ids in list order, later ROIs on top)."""
    shape = _infer_shape(rois) if shape is None else (int(shape[0]), int(shape[1]))
    check_plane_size(path, shape[0], shape[1], LabelReadError)  # before allocating it
    labels = np.zeros(shape, dtype=np.uint32)
    groups: list[int] = []
    colors: dict[int, tuple[int, int, int]] = {}
    group_names: dict[int, str] = {}  # from ROI names "<id>-<class name>" (our writer)
    skipped: Counter[str] = Counter()
    for index, roi in enumerate(rois):
        try:
            window = roi_to_mask(roi, shape)
        except (ValueError, NotImplementedError, RuntimeError) as exc:
            raise LabelReadError(path, f"ROI {index} ({roi.name!r}): {exc}") from exc
        if window is None:
            skipped[getattr(roi.roitype, "name", str(roi.roitype)).lower()] += 1
            continue
        (r0, c0), sub = window
        if not sub.any():
            skipped["outside the image"] += 1
            continue
        groups.append(int(roi.group))
        tagged = _class_in_name(roi.name)
        if roi.group and tagged:
            group_names.setdefault(int(roi.group), tagged)
        labels[r0 : r0 + sub.shape[0], c0 : c0 + sub.shape[1]][sub] = len(groups)
        color = _color_of(roi)
        if roi.group and color is not None:
            colors.setdefault(int(roi.group), color)
    if skipped:
        log.info("%s: skipped ROIs without area: %s", path, dict(skipped))
    if not groups:
        raise LabelReadError(
            path, f"contains no area ROIs to turn into masks (skipped: {dict(skipped)})"
        )
    labels, classes, lost = compact_labels(labels, np.asarray([0, *groups], dtype=np.int32))
    if lost:
        log.warning("%s: %d object(s) lost all pixels (overlap or outside the image) and were dropped", path, lost)
    n_user = max(int(classes.max()), n_groups)
    given = len(class_names) if class_names else 0
    names, class_colors = normalise_class_table(class_names, None, n_user)
    for k, tagged in group_names.items():
        if k >= given and k < len(names) and tagged not in names:
            names[k] = tagged
    for k in range(1, len(names)):
        if k in colors:
            class_colors[k] = colors[k]
    max_id = int(labels.max())
    return SegData(
        masks=labels,
        classes=classes,
        class_names=names,
        class_colors=class_colors,
        filename="",
        ismanual=np.ones(max_id, dtype=bool),
    )


def _shape_path(polygons: list[Polygon]) -> np.ndarray:
    """ImageJ shape-ROI path (MOVETO/LINETO/CLOSE ops with absolute x, y)."""
    ops: list[float] = []
    for poly in polygons:
        for ring in poly.rings():
            x0, y0 = ring[0]
            ops += [_MOVETO, float(x0), float(y0)]
            for x, y in ring[1:]:
                ops += [_LINETO, float(x), float(y)]
            ops.append(_CLOSE)
    return np.asarray(ops, dtype=np.float32)


def _class_in_name(name: str | None) -> str | None:
    """Class name of a ROI named ``<digits>-<class name>`` (as written here), else None."""
    head, sep, tail = (name or "").partition("-")
    return (tail.strip() or None) if sep and head.isdigit() else None


def _make_roi(obj_id: int, polygons: list[Polygon], width: int, cls_name: str = "") -> Any:
    roifile = _roifile()
    name = f"{obj_id:0{width}d}" + (f"-{cls_name}" if cls_name else "")
    if len(polygons) == 1 and not polygons[0].holes:
        ring = polygons[0].exterior
        roi = roifile.ImagejRoi.frompoints(ring.astype(np.int64), name=name)
        roi.roitype = roifile.ROI_TYPE.TRACED
        roi.options = roifile.ROI_OPTIONS.NONE
        roi.right, roi.bottom = int(ring[:, 0].max()), int(ring[:, 1].max())
        return roi
    allpts = np.concatenate([r for p in polygons for r in p.rings()])
    roi = roifile.ImagejRoi()
    roi.roitype = roifile.ROI_TYPE.RECT
    roi.name = name
    roi.multi_coordinates = _shape_path(polygons)
    roi.shape_roi_size = len(roi.multi_coordinates)
    roi.left, roi.top = int(allpts[:, 0].min()), int(allpts[:, 1].min())
    roi.right, roi.bottom = int(allpts[:, 0].max()), int(allpts[:, 1].max())
    return roi


def write_imagej_rois(
    path: str | os.PathLike,
    masks: np.ndarray,
    classes: np.ndarray | None = None,
    class_colors: list[Any] | None = None,
    class_names: list[str] | None = None,
) -> Path:
    """Write every object of ``masks`` as an ImageJ ROI, atomically.

    ``.zip`` gives a RoiSet for Fiji's ROI Manager (one entry per object, named by its zero-
    padded id); ``.roi`` is only allowed for a single object. With ``classes`` the ROI group
    is the class id (ImageJ groups stop at 255) and the stroke colour the class colour;
    with ``class_names`` too, a classified ROI is named ``<id>-<class name>`` so the class
    name travels (ImageJ keeps group names in its preferences, not in the file).
    """
    path = Path(path)
    masks = np.asarray(masks)
    if masks.ndim != 2:
        raise ValueError(f"{path}: masks must be 2-D (H, W), got shape {masks.shape}")
    polygons = masks_to_polygons(masks)
    suffix = path.suffix.lower()
    if suffix not in (".zip", ".roi"):
        raise ValueError(f"{path}: ImageJ ROIs are written as .zip (RoiSet) or .roi")
    if suffix == ".roi" and len(polygons) != 1:
        raise ValueError(
            f"{path}: a .roi file holds one ROI but the masks have {len(polygons)} objects; "
            "use a .zip RoiSet"
        )
    colors = None
    if class_colors is not None:
        colors = [normalise_color(c) for c in class_colors]
    width = max(4, len(str(max(polygons, default=0))))
    rois = []
    for obj_id, polys in polygons.items():
        cls = int(classes[obj_id]) if classes is not None and obj_id < len(classes) else 0
        cls_name = class_names[cls] if class_names and 0 < cls < len(class_names) else ""
        roi = _make_roi(obj_id, polys, width, cls_name)
        if 0 < cls <= 255:
            roi.group = cls
        elif cls > 255:
            log.warning("%s: class %d does not fit an ImageJ group (max 255)", path, cls)
        if colors is not None and 0 < cls < len(colors):
            roi.stroke_color = bytes([255, *colors[cls]])
        rois.append(roi)
    if suffix == ".roi":
        data = rois[0].tobytes()
    else:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for roi in rois:
                entry = roi.name.replace("/", "_").replace("\\", "_")
                zf.writestr(f"{entry}.roi", roi.tobytes())
        data = buf.getvalue()
    return atomic_write_bytes(path, data)
