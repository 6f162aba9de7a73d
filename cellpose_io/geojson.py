"""QuPath GeoJSON (FeatureCollection of polygons with a classification) to and from masks.

QuPath writes each object as a Feature whose ``properties.classification`` holds ``name``
and ``color`` ([r, g, b]; older versions: ``colorRGB``, a signed packed int). Coordinates
are image pixels with pixel (c, r) covering [c, c+1) x [r, r+1), so the pixel-centre rule of
:mod:`cellpose_io.rasterize` reproduces QuPath's own masks. Polygons may have holes, and a
MultiPolygon is one object in several parts.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from cellpose_io.atomic import atomic_write_text
from cellpose_io.errors import LabelReadError
from cellpose_io.label_classes import (
    BACKGROUND,
    compact_labels,
    default_class_color,
    normalise_class_table,
    normalise_color,
)
from cellpose_io.limits import check_plane_size
from cellpose_io.rasterize import Polygon, masks_to_polygons, polygon_window
from cellpose_io.seg import SegData

__all__ = ["masks_to_features", "read_geojson", "write_geojson"]

log = logging.getLogger(__name__)

# Names QuPath and others use for "no class".
_UNCLASSIFIED = {"", "unclassified", "none", BACKGROUND}


# ----------------------------------------------------------------------------- reading


def _features(path: Path, doc: Any) -> list[dict]:
    if isinstance(doc, list):
        return doc
    if not isinstance(doc, dict):
        raise LabelReadError(path, "is not a GeoJSON object")
    kind = doc.get("type")
    if kind == "FeatureCollection":
        feats = doc.get("features")
        if not isinstance(feats, list):
            raise LabelReadError(path, "FeatureCollection without a 'features' list")
        return feats
    if kind == "Feature":
        return [doc]
    if kind in ("Polygon", "MultiPolygon", "GeometryCollection"):
        return [{"type": "Feature", "geometry": doc, "properties": {}}]
    raise LabelReadError(path, f"unsupported GeoJSON type {kind!r}")


def _ring(path: Path, where: str, raw: Any) -> np.ndarray:
    try:
        arr = np.asarray([pt[:2] for pt in raw], dtype=np.float64)
    except (TypeError, ValueError, IndexError) as exc:
        raise LabelReadError(path, f"{where}: ring coordinates are not [x, y] numbers") from exc
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.isfinite(arr).all():
        raise LabelReadError(path, f"{where}: ring coordinates are not finite [x, y] pairs")
    if len(arr) > 1 and np.array_equal(arr[0], arr[-1]):
        arr = arr[:-1]
    return arr


def _polygons(path: Path, where: str, geometry: Any) -> list[list[np.ndarray]] | None:
    """List of polygons (each a list of rings) of a geometry; None when it has no area."""
    if not isinstance(geometry, dict):
        return None
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "Polygon":
        if not isinstance(coords, list):
            raise LabelReadError(path, f"{where}: Polygon without coordinates")
        return [[_ring(path, where, ring) for ring in coords]]
    if kind == "MultiPolygon":
        if not isinstance(coords, list):
            raise LabelReadError(path, f"{where}: MultiPolygon without coordinates")
        return [[_ring(path, where, ring) for ring in poly] for poly in coords]
    if kind == "GeometryCollection":
        out: list[list[np.ndarray]] = []
        for sub in geometry.get("geometries") or []:
            out += _polygons(path, where, sub) or []
        return out or None
    return None


def _classification(props: dict) -> tuple[str | None, tuple[int, int, int] | None]:
    cls = props.get("classification")
    if isinstance(cls, str):
        return cls, None
    if not isinstance(cls, dict):
        return None, None
    name = cls.get("name")
    names = cls.get("names")  # QuPath derived classes ("Tumor: Positive") as a list
    if name is None and isinstance(names, list) and names:
        name = ": ".join(str(n) for n in names)
    color = None
    for key in ("color", "colorRGB"):
        if cls.get(key) is not None:
            try:
                color = normalise_color(cls[key])
            except ValueError:
                color = None
            break
    return (str(name) if name is not None else None), color


def _infer_shape(polys: list[list[list[np.ndarray]]]) -> tuple[int, int]:
    xmax = ymax = 1.0
    for feature in polys:
        for poly in feature:
            for ring in poly:
                xmax = max(xmax, float(ring[:, 0].max()))
                ymax = max(ymax, float(ring[:, 1].max()))
    return (math.ceil(ymax), math.ceil(xmax))


def read_geojson(
    path: str | os.PathLike,
    shape: tuple[int, int] | None = None,
    class_names: list[str] | None = None,
    class_colors: list[Any] | None = None,
) -> SegData:
    """Read polygons from a GeoJSON file into an instance mask of ``shape`` (H, W).

    One object per Feature (ids 1..N in file order; later features overwrite earlier ones
    where they overlap, objects left without pixels are dropped and logged). Classes come
    from ``properties.classification``: names are matched against ``class_names`` (new ones
    appended), colours taken from the file unless given. Non-area geometries (points,
    lines) are skipped. ``shape`` defaults to the polygons' extent from (0, 0).
    Raises :class:`LabelReadError` naming the file and the problem.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LabelReadError(path, "file not found") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LabelReadError(path, f"not valid JSON ({exc})") from exc
    except RecursionError:
        raise LabelReadError(path, "not valid GeoJSON (nested too deeply)") from None
    features = _features(path, doc)
    names, colors = normalise_class_table(class_names, class_colors, 0)
    colors_given = class_colors is not None
    index_of = {n: i for i, n in enumerate(names)}

    parsed: list[tuple[list[list[np.ndarray]], int]] = []
    skipped: Counter[str] = Counter()
    for i, feature in enumerate(features):
        where = f"feature {i}"
        if not isinstance(feature, dict):
            raise LabelReadError(path, f"{where} is not a JSON object")
        polys = _polygons(path, where, feature.get("geometry"))
        if not polys:
            geometry = feature.get("geometry")
            kind = geometry.get("type") if isinstance(geometry, dict) else "no geometry"
            skipped[str(kind)] += 1
            continue
        props = feature.get("properties") or {}
        name, color = _classification(props if isinstance(props, dict) else {})
        class_id = 0
        if name is not None and name.strip().lower() not in _UNCLASSIFIED:
            if name not in index_of:
                index_of[name] = len(names)
                names.append(name)
                colors.append(color or default_class_color(len(names) - 1))
            class_id = index_of[name]
            if color is not None and not colors_given:
                colors[class_id] = color
        parsed.append((polys, class_id))
    if skipped:
        log.info("%s: skipped features without area: %s", path, dict(skipped))
    if not parsed:
        raise LabelReadError(path, f"contains no polygons (skipped: {dict(skipped) or 'none'})")

    shape = _infer_shape([p for p, _ in parsed]) if shape is None else tuple(shape)
    check_plane_size(path, shape[0], shape[1], LabelReadError)  # before allocating it
    labels = np.zeros((int(shape[0]), int(shape[1])), dtype=np.uint32)
    classes = [0]
    for polys, class_id in parsed:
        classes.append(class_id)
        for rings in polys:
            window = polygon_window(rings, labels.shape)
            if window is not None:
                (r0, c0), sub = window
                labels[r0 : r0 + sub.shape[0], c0 : c0 + sub.shape[1]][sub] = len(classes) - 1
    labels, classes_arr, lost = compact_labels(labels, np.asarray(classes, dtype=np.int32))
    if lost:
        log.warning("%s: %d object(s) lost all pixels (overlap or outside the image) and were dropped", path, lost)
    return SegData(
        masks=labels,
        classes=classes_arr,
        class_names=names,
        class_colors=colors,
        filename="",
        ismanual=np.ones(int(labels.max()), dtype=bool),
    )


# ----------------------------------------------------------------------------- writing


def _closed(ring: np.ndarray) -> list[list[float]]:
    pts = [[_num(x), _num(y)] for x, y in ring]
    return [*pts, pts[0]]


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else float(v)


def _geometry(polygons: list[Polygon]) -> dict:
    parts = [[_closed(r) for r in poly.rings()] for poly in polygons]
    if len(parts) == 1:
        return {"type": "Polygon", "coordinates": parts[0]}
    return {"type": "MultiPolygon", "coordinates": parts}


def masks_to_features(
    masks: np.ndarray,
    classes: np.ndarray | None = None,
    class_names: list[str] | None = None,
    class_colors: list[Any] | None = None,
    object_type: str = "annotation",
) -> list[dict]:
    """GeoJSON Features (QuPath flavour) for every object, in increasing id order.

    Outlines follow pixel edges exactly. Unassigned objects (class 0) carry no
    classification; others carry ``{"name", "color": [r, g, b]}``.
    """
    masks = np.asarray(masks)
    if masks.ndim != 2:
        raise ValueError(f"masks must be 2-D (H, W), got shape {masks.shape}")
    n_user = int(np.max(classes)) if classes is not None and len(classes) else 0
    names, colors = normalise_class_table(class_names, class_colors, n_user)
    features = []
    for obj_id, polys in masks_to_polygons(masks).items():
        props: dict[str, Any] = {"objectType": object_type}
        cls = int(classes[obj_id]) if classes is not None and obj_id < len(classes) else 0
        if cls > 0:
            props["classification"] = {"name": names[cls], "color": list(colors[cls])}
        features.append({"type": "Feature", "geometry": _geometry(polys), "properties": props})
    return features


def write_geojson(
    path: str | os.PathLike,
    masks: np.ndarray,
    classes: np.ndarray | None = None,
    class_names: list[str] | None = None,
    class_colors: list[Any] | None = None,
    object_type: str = "annotation",
) -> Path:
    """Write ``masks`` as a QuPath-readable GeoJSON FeatureCollection, atomically.

    ``object_type`` "annotation" keeps objects editable in QuPath; "detection" is lighter
    for many thousands of objects.
    """
    features = masks_to_features(masks, classes, class_names, class_colors, object_type)
    doc = {"type": "FeatureCollection", "features": features}
    return atomic_write_text(path, json.dumps(doc, separators=(",", ":")))
