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
