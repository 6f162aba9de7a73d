"""Where training regions come from: region files beside an image, or a "region" class.

A user marks the parts of a large image that are fully labelled, either in ImageJ/Fiji
(``<stem>_regions.roi`` or ``<stem>_regions.zip``), in QuPath (``<stem>_regions.geojson``)
or in our app as objects of a class named "region". Training then only sees those parts,
so unlabelled cells elsewhere are not taught as background. Files are read through
cellpose_io's readers and rasterised at the image's size; a region is its bounding box.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from guv_app.services.datasets import regions
from guv_app.services.datasets.labels import LabelProblem, RawLabels

REGION_SUFFIX = "_regions"
REGION_EXTENSIONS = (".roi", ".zip", ".geojson")
REGION_MODES = ("auto", "none")


def region_files_for(image: Path) -> list[Path]:
    """The ``<stem>_regions.{roi,zip,geojson}`` files that exist beside ``image``."""
    image = Path(image)
    found = (image.with_name(image.stem + REGION_SUFFIX + ext) for ext in REGION_EXTENSIONS)
    return [p for p in found if p.is_file()]


def read_region_boxes(
    path: Path, shape: tuple[int, int], image: Path | None = None,
    series: int = 0, t: int = 0, z: int = 0,
) -> list[regions.Box]:
    """Bounding boxes of every area ROI / polygon in a region file, clipped to ``shape``.

    An ImageJ RoiSet drawn on several slices of ``image`` gives the boxes of plane
    (``series``, ``t``, ``z``) only (an empty list when that plane has none, so the whole
    plane is used). Raises :class:`LabelProblem` naming the file when it cannot be read or
    holds no area.
    """
    from cellpose_io import CellposeIOError, read_geojson, read_image, read_imagej_roi_planes

    path = Path(path)
    size = (int(shape[0]), int(shape[1]))
    try:
        if path.suffix.lower() == ".geojson":
            segs = {(t, z): read_geojson(path, shape=size)}
        else:
            sizes = {}
            if image is not None:
                with read_image(image, series=series) as img:
                    sizes = {"size_t": img.size_t, "size_z": img.size_z,
                             "size_c": img.n_channels}
            segs = read_imagej_roi_planes(path, shape=size, **sizes)
    except CellposeIOError as exc:
        raise LabelProblem(f"unreadable region file {path.name} ({exc.reason})") from exc
    if (t, z) not in segs:
        return []
    masks = np.asarray(segs[(t, z)].masks)
    boxes = regions.mask_boxes(masks, range(1, int(masks.max()) + 1))
    if not boxes and len(segs) == 1:
        raise LabelProblem(f"region file {path.name} has no region inside the image")
    return boxes


def region_class_ids(raw: RawLabels, region_class: str | None) -> list[int]:
    """Object ids whose class is named ``region_class`` (case-insensitive)."""
    if not region_class or raw.classes is None:
        return []
    names = [n.strip().lower() for n in raw.class_names]
    if region_class.strip().lower() not in names:
        return []
    rid = names.index(region_class.strip().lower())
    ids = np.nonzero(np.asarray(raw.classes)[: int(raw.masks.max()) + 1] == rid)[0]
    return [int(i) for i in ids if i > 0]


def take_region_objects(raw: RawLabels, region_class: str | None) -> list[regions.Box]:
    """Boxes of the region-class objects, which are removed from ``raw.masks`` in place.

    Region objects outline areas, not cells, so they never become training labels.
    """
    rids = region_class_ids(raw, region_class)
    if not rids:
        return []
    boxes = regions.mask_boxes(raw.masks, rids)
    raw.masks = np.where(np.isin(raw.masks, rids), 0, raw.masks).astype(raw.masks.dtype)
    return boxes


def is_region_name(name: str, region_class: str | None) -> bool:
    return bool(region_class) and name.strip().lower() == str(region_class).strip().lower()


# ---------------------------------------------------------------- drawn in the Trainer
GENERATOR = "MultiCellPose training regions"


def region_polygons(image: Path) -> list[np.ndarray]:
    """Outlines of every training region of ``image`` as (N, 2) ``(x, y)`` arrays.

    GeoJSON polygons are returned as drawn; ImageJ ROIs as the outline of their pixels.
    Unreadable files are skipped (training reports them).
    """
    import json

    out: list[np.ndarray] = []
    for path in region_files_for(image):
        if path.suffix.lower() == ".geojson":
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            feats = doc.get("features", []) if isinstance(doc, dict) else []
            for f in feats:
                geom = (f or {}).get("geometry") or {}
                polys = ([geom.get("coordinates")] if geom.get("type") == "Polygon" else
                         geom.get("coordinates") if geom.get("type") == "MultiPolygon" else [])
                for poly in polys or []:
                    if poly and len(poly[0]) >= 3:
                        ring = np.asarray(poly[0], np.float64)[:, :2]
                        closed = len(ring) > 3 and np.array_equal(ring[0], ring[-1])
                        out.append(ring[:-1] if closed else ring)  # GeoJSON repeats the start
            continue
        from cellpose_io import CellposeIOError, read_imagej_rois
        from cellpose_io.rasterize import masks_to_polygons

        try:
            seg = read_imagej_rois(path)
        except CellposeIOError:
            continue
        for polys in masks_to_polygons(np.asarray(seg.masks)).values():
            out += [np.asarray(p.exterior, np.float64) for p in polys]
    return out


def write_region_polygons(image: Path, polygons: list[np.ndarray]) -> Path:
    """Save drawn regions as ``<stem>_regions.geojson`` (QuPath reads it; so does training).

    An existing file this program did not write is kept as ``.orig`` first. With no
    polygons the file is removed. Polygons are (N, 2) ``(x, y)`` in pixels.
    """
    import json
    import shutil

    from cellpose_io.atomic import atomic_write_text

    image = Path(image)
    path = image.with_name(image.stem + REGION_SUFFIX + ".geojson")
    if path.is_file():
        try:
            ours = GENERATOR in path.read_text(encoding="utf-8")[:2000]
        except OSError:
            ours = False
        backup = path.with_name(path.name + ".orig")
        if not ours and not backup.exists():
            shutil.copy2(path, backup)
    if not polygons:
        path.unlink(missing_ok=True)
        return path
    feats = []
    for p in polygons:
        ring = [[round(float(x), 2), round(float(y), 2)] for x, y in np.asarray(p)[:, :2]]
        ring.append(ring[0])
        feats.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                      "properties": {"objectType": "annotation",
                                     "classification": {"name": "Region"}}})
    doc = {"type": "FeatureCollection", "generator": GENERATOR, "features": feats}
    return atomic_write_text(path, json.dumps(doc))
