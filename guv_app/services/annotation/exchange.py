"""Labels in and out of other tools: label images, ImageJ ROIs, QuPath GeoJSON, ``_seg.npy``.

The Trainer's File ▸ Import labels / Export labels go through here (no Qt): one reader and
one writer per format, all from ``cellpose_io``, chosen by the file name. Class names travel
where the format can carry them: QuPath ``classification`` names and colours, ImageJ ROI
groups (class id) and ROI names (``<id>-<class name>``), ``_seg.npy`` class lists. A label
image carries ids only. Opening a ``_seg.npy`` finds its image and plane here too
(:func:`find_image_for_seg`).
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cellpose_io.atomic import atomic_write_bytes
from cellpose_io.registry import SEG_SUFFIX, is_seg_file  # noqa: F401 (one definition)

log = logging.getLogger(__name__)

# (filter text, patterns) in the order the dialogs offer them
FORMATS: list[tuple[str, tuple[str, ...]]] = [
    ("Label image (*.tif *.tiff *.png)", (".tif", ".tiff", ".png")),
    ("ImageJ / Fiji ROIs (*.zip *.roi)", (".zip", ".roi")),
    ("QuPath GeoJSON (*.geojson *.json)", (".geojson", ".json")),
    ("Cellpose labels (*_seg.npy)", (SEG_SUFFIX,)),
]

# one file per plane: (label, suffix) offered by "Export labels of all labelled planes"
EXPORT_ALL_FORMATS: list[tuple[str, str]] = [
    ("Label image (.tif)", ".tif"), ("Label image (.png, ids up to 65535)", ".png"),
    ("ImageJ / Fiji RoiSet (.zip)", ".zip"), ("QuPath GeoJSON (.geojson)", ".geojson"),
    ("Cellpose labels (_seg.npy)", ".npy"),
]


class ExchangeError(ValueError):
    """A label file that cannot be imported or written; ``str()`` is the user message."""


@dataclass
class ImportedLabels:
    """Labels read from another tool's file, sized to the image.

    ``masks`` (H, W) uint32 instance ids; ``classes`` int64 per id (None: no classes in the
    file); ``class_names`` background first; ``check`` tells whether the ids look like a
    binary or class-id mask (see :mod:`cellpose_io.label_check`).
    """

    masks: np.ndarray
    classes: np.ndarray | None
    class_names: list[str]
    class_colors: list[tuple[int, int, int]]
    source: Path
    check: object | None = None
    roi_planes: list[tuple[int, int]] = field(default_factory=list)  # (t, z) of a RoiSet

    @property
    def n_objects(self) -> int:
        return int(np.count_nonzero(np.bincount(self.masks.ravel())[1:])) if self.masks.size else 0


def format_of(path: str | os.PathLike) -> str:
    """"label_image", "imagej", "geojson" or "seg" from a file name; ExchangeError if none."""
    name = Path(path).name.lower()
    if name.endswith(".npy"):
        return "seg"
    suffix = Path(name).suffix
    for key, (_, patterns) in zip(("label_image", "imagej", "geojson"), FORMATS[:3],
                                  strict=True):
        if suffix in patterns:
            return key
    raise ExchangeError(
        f"{Path(path).name}: not a label file this program can exchange "
        "(label image .tif/.png, ImageJ RoiSet .zip/.roi, QuPath .geojson, Cellpose _seg.npy)")


def _size(shape) -> str:
    return f"{shape[1]}x{shape[0]} px"


def read_labels_file(
    path: str | os.PathLike, shape: tuple[int, int], class_names: list[str] | None = None,
    plane: tuple[int, int] | None = None, stack: tuple[int, int, int] = (1, 1, 1),
    label_channel: int | None = None,
) -> ImportedLabels:
    """Read labels for an image of ``shape`` (H, W) from any exchange format.

    ``label_channel``: from a ``_seg.npy`` with label sets per channel, take that channel's
    set (the file's shared set when it has none for it).

    ``class_names`` (background first) name ImageJ ROI groups. An ImageJ RoiSet read for
    ``plane`` (t, z) of an image whose ``stack`` is (size_t, size_z, size_c) gives only the
    ROIs drawn on that plane (``roi_planes`` lists every plane that has ROIs). Raises
    :class:`ExchangeError` with a one-line message naming the file (unreadable file, other
    image size, no objects).
    """
    import cellpose_io

    path = Path(path)
    kind = format_of(path)
    shape = (int(shape[0]), int(shape[1]))
    try:
        if kind == "label_image":
            masks = cellpose_io.read_label_image(path)
            if masks.shape != shape:
                raise ExchangeError(f"{path.name} is {_size(masks.shape)} but the image is "
                                    f"{_size(shape)}")
            out = ImportedLabels(masks.astype(np.uint32), None, ["background"], [(0, 0, 0)],
                                 path)
            out.check = cellpose_io.check_label_image(out.masks)
            return out
        if kind == "seg":
            seg = cellpose_io.load_seg(path)
            if seg.masks.shape != shape:
                raise ExchangeError(f"{path.name} is {_size(seg.masks.shape)} but the image is "
                                    f"{_size(shape)}")
            seg = seg.channel_sets.get(label_channel, seg)  # type: ignore[arg-type]
            out = ImportedLabels(seg.masks.astype(np.uint32), np.asarray(seg.classes, np.int64),
                                 list(seg.class_names), list(seg.class_colors), path)
            out.check = cellpose_io.check_label_image(out.masks)
            return out
        if kind == "imagej" and plane is not None and stack[0] * stack[1] > 1:
            planes = cellpose_io.read_imagej_roi_planes(
                path, shape, class_names, size_t=stack[0], size_z=stack[1], size_c=stack[2])
            if tuple(plane) not in planes:
                where = ", ".join(f"t={t} z={z}" for t, z in planes)
                raise ExchangeError(f"{path.name} has no ROI on this plane (t={plane[0]} "
                                    f"z={plane[1]}); its ROIs are on {where}")
            seg = planes[tuple(plane)]
            out = ImportedLabels(seg.masks.astype(np.uint32), np.asarray(seg.classes, np.int64),
                                 list(seg.class_names), list(seg.class_colors), path)
            out.roi_planes = list(planes)
            return out
        if kind == "imagej":
            seg = cellpose_io.read_imagej_rois(path, shape, class_names)
        else:
            seg = cellpose_io.read_geojson(path, shape)
    except cellpose_io.CellposeIOError as exc:
        raise ExchangeError(f"{path.name}: {getattr(exc, 'reason', exc)}") from exc
    return ImportedLabels(seg.masks.astype(np.uint32), np.asarray(seg.classes, np.int64),
                          list(seg.class_names), list(seg.class_colors), path)


def as_instances(labels: ImportedLabels) -> ImportedLabels:
    """Connected-component labelling of a binary or class-id import (classes kept by value).

    A class-id image's values become classes named ``class <value>`` unless the file named
    them; a binary mask's objects stay unassigned.
    """
    from cellpose_io import label_components

    masks, values = label_components(labels.masks)
    kind = getattr(labels.check, "kind", "binary")
    if kind != "class_ids":
        return dataclasses.replace(labels, masks=masks, classes=None, check=None)
    distinct = sorted({int(v) for v in values[1:]})
    names = ["background"]
    for v in distinct:
        known = labels.class_names[v] if v < len(labels.class_names) else None
        names.append(known or f"class {v}")
    index = {v: i + 1 for i, v in enumerate(distinct)}
    classes = np.asarray([0] + [index[int(v)] for v in values[1:]], np.int64)
    return dataclasses.replace(labels, masks=masks, classes=classes, class_names=names,
                               class_colors=[], check=None)


def write_labels_file(
    path: str | os.PathLike,
    masks: np.ndarray,
    classes: np.ndarray | None,
    class_names: list[str],
    class_colors: list,
    *,
    image_path: str | os.PathLike | None = None,
) -> Path:
    """Write labels in the format given by ``path``'s name, atomically.

    ``image_path`` is recorded as the image of a ``_seg.npy`` (what the Cellpose GUI opens).
    Raises :class:`ExchangeError` with a user message (no objects, ids too large for PNG...).
    """
    import cellpose_io

    path = Path(path)
    kind = format_of(path)
    masks = np.asarray(masks)
    try:
        if kind == "label_image":
            return cellpose_io.write_label_image(path, masks)
        if kind == "seg":
            image = Path(image_path) if image_path is not None else path.with_name(
                path.name[: -len(SEG_SUFFIX)] + ".tif")
            return cellpose_io.save_seg(image, masks, classes, class_names, class_colors,
                                        out_path=path)
        if not masks.any():
            raise ExchangeError(f"{path.name}: there are no objects to export")
        if kind == "imagej":
            from cellpose_io.imagej_rois import write_imagej_rois

            return write_imagej_rois(path, masks, classes, class_colors, class_names=class_names)
        return cellpose_io.write_geojson(path, masks, classes, class_names, class_colors)
    except (OSError, ValueError, TypeError) as exc:
        if isinstance(exc, ExchangeError):
            raise
        raise ExchangeError(f"Could not write {path.name}: {exc}") from exc


def export_for_cellpose(
    folder: str | os.PathLike, name: str, planes: np.ndarray, masks: np.ndarray,
    classes: np.ndarray | None, class_names: list[str], class_colors: list,
) -> tuple[Path, Path]:
    """Write one plane as ``<name>.tif`` + ``<name>_seg.npy`` that the Cellpose GUI opens.

    ``planes`` (C, Y, X) is written as (Y, X) for one channel, else (Y, X, C) (channels last,
    what Cellpose's reader expects). Returns the two paths.
    """
    import tifffile

    import cellpose_io
    from cellpose_io.seg import images_sharing_labels

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tif = folder / f"{name}.tif"
    twins = images_sharing_labels(tif)
    if twins:  # e.g. exporting beside the original cells.png: never share cells_seg.npy
        raise ExchangeError(f"{twins[0].name} is already in {folder}; {tif.name} would share "
                            f"its label file {name}_seg.npy -- choose another folder")
    arr = np.asarray(planes)
    arr = arr[0] if arr.shape[0] == 1 else np.moveaxis(arr, 0, -1)
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.ascontiguousarray(arr), photometric="minisblack")
    atomic_write_bytes(tif, buf.getvalue())
    seg = cellpose_io.save_seg(tif, masks, classes, class_names, class_colors)
    return tif, seg


@dataclass
class PlaneExport:
    """One labelled plane to export: its image, its saved label file (None: use ``data``),
    the output name without extension, and for the open plane its in-memory labels
    ``(masks, classes, class_names, class_colors)``. ``label_channel``: export that
    channel's label set of the file (``channel_segmentations``) instead of the shared set."""

    image: Path
    seg_path: Path | None
    name: str
    data: tuple | None = None
    label_channel: int | None = None


def export_planes(
    planes: list[PlaneExport], folder: str | os.PathLike, suffix: str,
    progress=None, cancel=None,
) -> tuple[list[Path], list[str]]:
    """Write every plane's labels as ``folder/<name><suffix>`` (``.npy``: ``_seg.npy``).

    A plane that fails is reported (``"<file>: <reason>"``) and the others are still
    written; a plane's own label file is never the target; an existing target is kept once
    as ``<name>.orig``. ``progress(done, total, name)`` after each plane; ``cancel()`` True
    stops before the next one. Returns ``(written, failures)``.
    """
    import shutil

    import cellpose_io

    folder = Path(folder)
    written: list[Path] = []
    failed: list[str] = []
    for k, item in enumerate(planes):
        if cancel is not None and cancel():
            failed.append(f"cancelled after {len(written)} of {len(planes)} planes")
            break
        out = folder / (item.name + (SEG_SUFFIX if suffix == ".npy" else suffix))
        try:
            if item.seg_path is not None and out.absolute() == Path(item.seg_path).absolute():
                raise ExchangeError("that is the label file itself (choose another folder)")
            if item.data is not None:
                masks, classes, names, colors = item.data
            else:
                seg = cellpose_io.load_seg(item.seg_path)
                if item.label_channel is not None:  # a plane without that set: nothing
                    seg = seg.channel_sets.get(item.label_channel, dataclasses.replace(
                        seg, masks=np.zeros_like(seg.masks)))
                masks, classes = seg.masks, seg.classes
                names, colors = seg.class_names, seg.class_colors
            if np.any(masks):
                backup = out.with_name(out.name + ".orig")
                if out.is_file() and not backup.exists():
                    shutil.copy2(out, backup)
                written.append(write_labels_file(out, masks, classes, names, colors,
                                                 image_path=item.image))
        except (ExchangeError, cellpose_io.CellposeIOError, OSError) as exc:
            failed.append(f"{out.name}: {getattr(exc, 'reason', exc)}")
        if progress is not None:
            progress(k + 1, len(planes), item.name)
    return written, failed


def find_image_for_seg(seg_path: Path, recorded: str = ""
                       ) -> tuple[Path | None, tuple[int, int | None, int | None] | None]:
    """The image a ``_seg.npy`` belongs to and which plane ``(series, t, z)``: the recorded
    file name if it exists, else an image beside the file whose label file name this is
    (``<stem>[_s<k>][_t<t>_z<z>]_seg.npy``). ``(None, None)`` when there is none."""
    import cellpose_io
    from cellpose_io.seg import plane_of_file

    seg_path = Path(seg_path)
    try:
        candidates = [Path(p) for p in cellpose_io.list_image_files(seg_path.parent)]
    except OSError:
        candidates = []
    best: tuple[Path, tuple] | None = None
    for img in candidates:  # the longest matching stem wins (cells_s1.tif over cells.tif)
        plane = plane_of_file(seg_path.name, img.stem, SEG_SUFFIX)
        if plane is not None and (best is None or len(img.stem) > len(best[0].stem)):
            best = (img, plane)
    if recorded:
        p = Path(recorded)
        for cand in (p, seg_path.parent / p.name):
            if p.name and cand.is_file():
                plane = plane_of_file(seg_path.name, cand.stem, SEG_SUFFIX)
                return cand, plane
    return best if best is not None else (None, None)
