"""Every file format in and out: images, ``_seg.npy`` labels, ROIs, GeoJSON.

No Qt and no torch here. Public names are resolved lazily so that ``import cellpose_io``
stays cheap and a format library is only imported when its format is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    # errors
    "CellposeIOError": "cellpose_io.errors",
    "ImageReadError": "cellpose_io.errors",
    "LabelReadError": "cellpose_io.errors",
    # images
    "Image": "cellpose_io.image",
    "read_image": "cellpose_io.registry",
    "list_series": "cellpose_io.registry",
    "supported_extensions": "cellpose_io.registry",
    "is_image_file": "cellpose_io.registry",
    "list_image_files": "cellpose_io.registry",
    # labels
    "SegData": "cellpose_io.seg",
    "save_seg": "cellpose_io.seg",
    "load_seg": "cellpose_io.seg",
    "write_seg": "cellpose_io.seg",
    "seg_path_for": "cellpose_io.seg",
    "plane_tag": "cellpose_io.seg",
    "SEG_SUFFIX": "cellpose_io.seg",
    "PRED_SUFFIX": "cellpose_io.seg",
    # which file holds an image's labels (one rule for the whole app)
    "LabelRule": "cellpose_io.label_sources",
    "LabelSource": "cellpose_io.label_sources",
    "LabelChoice": "cellpose_io.label_sources",
    "choose_labels": "cellpose_io.label_sources",
    "find_label_sources": "cellpose_io.label_sources",
    "read_label_source": "cellpose_io.label_sources",
    "keep_aside": "cellpose_io.label_sources",
    "file_sha256": "cellpose_io.label_sources",
    # label import/export
    "read_label_image": "cellpose_io.label_images",
    "write_label_image": "cellpose_io.label_images",
    "read_imagej_rois": "cellpose_io.imagej_rois",
    "read_imagej_roi_planes": "cellpose_io.imagej_rois",
    "write_imagej_rois": "cellpose_io.imagej_rois",
    "read_geojson": "cellpose_io.geojson",
    "write_geojson": "cellpose_io.geojson",
    "LabelCheck": "cellpose_io.label_check",
    "check_label_image": "cellpose_io.label_check",
    "label_components": "cellpose_io.label_check",
    # saving
    "atomic_write": "cellpose_io.atomic",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    # ruff: noqa: F401  (names re-exported for type checkers only)
    from cellpose_io.atomic import atomic_write
    from cellpose_io.errors import CellposeIOError, ImageReadError, LabelReadError
    from cellpose_io.geojson import read_geojson, write_geojson
    from cellpose_io.image import Image
    from cellpose_io.imagej_rois import (
        read_imagej_roi_planes,
        read_imagej_rois,
        write_imagej_rois,
    )
    from cellpose_io.label_check import LabelCheck, check_label_image, label_components
    from cellpose_io.label_images import read_label_image, write_label_image
    from cellpose_io.label_sources import (
        LabelChoice,
        LabelRule,
        LabelSource,
        choose_labels,
        file_sha256,
        find_label_sources,
        keep_aside,
        read_label_source,
    )
    from cellpose_io.registry import (
        is_image_file,
        list_image_files,
        list_series,
        read_image,
        supported_extensions,
    )
    from cellpose_io.seg import (
        PRED_SUFFIX,
        SEG_SUFFIX,
        SegData,
        load_seg,
        plane_tag,
        save_seg,
        seg_path_for,
        write_seg,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cellpose_io' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
