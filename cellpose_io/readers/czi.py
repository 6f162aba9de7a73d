"""Zeiss ``.czi`` files (via czifile), one plane assembled from its own sub-blocks.

A CZI file is a directory of sub-blocks, each covering a range of the file's axes (usually
one T, Z, C and one mosaic tile). ``plane(t, z)`` decodes only the sub-blocks that overlap
that plane, placing tiles by their stored positions, so mosaics come out stitched the way
czifile stitches them. Scenes (CZI axis S) are series. Other CZI axes (phase,
illumination, rotation, view...) of size > 1 become Z when the file has no Z, else T.
BGR colour pixels are returned as R, G, B channels.

Two czifile APIs are supported, chosen by what the installed czifile offers:

* czifile 2019.x (Python 3.10/3.11, the version the test suite runs): the sub-block
  directory (``filtered_subblock_directory``, ``data_segment``) is read directly.
* czifile >= 2026.6 (Python >= 3.12; its 2026 releases removed the 2019 internals):
  ``CziFile(path, squeeze=False).scenes[key]`` gives a ``CziImage``; a plane is the view
  ``image(T=..., Z=...)`` with absolute coordinates (``image.start``), and czifile composes
  its tiles (BGR already turned into RGB, samples on its ``S`` axis).
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from cellpose_io.image import Image, PlaneSource
from cellpose_io.readers._axes import AxisPlan
from cellpose_io.readers.tiff import axes_and_shape
from cellpose_io.registry import ImageReader, check_series, register_reader

log = logging.getLogger(__name__)

CZI_MAGIC = (b"ZISRAWFILE",)


def czi_metadata(xml: str) -> dict:
    """Channel names and (y, x) pixel size in µm from the CZI metadata XML."""
    root = ET.fromstring(xml)
    names = [ch.get("Name") or "" for ch in
             root.findall("./Metadata/Information/Image/Dimensions/Channels/Channel")]
    sizes = {}
    for item in root.findall("./Metadata/Scaling/Items/Distance"):
        value = item.findtext("Value")
        try:
            sizes[item.get("Id")] = float(value) * 1e6 if value else None  # metres -> µm
        except ValueError:
            sizes[item.get("Id")] = None
    pixel_size = None
    if sizes.get("X") and sizes.get("Y"):
        pixel_size = (sizes["Y"], sizes["X"])
    return {"channel_names": names if any(names) else [], "pixel_size": pixel_size}


def _legacy_api(czifile_module: Any) -> bool:
    """True for czifile 2019.x (sub-block directory API), False for the 2026 scenes API."""
    return not hasattr(czifile_module.CziFile, "scenes")


class CziSource(PlaneSource):
    def __init__(self, path: Path, plan: AxisPlan, scene_axis: int | None, scene: int,
                 bgr: bool, dtype: np.dtype) -> None:
        super().__init__(path)
        self.plan, self.scene_axis, self.scene = plan, scene_axis, scene
        self.bgr, self.dtype = bgr, dtype

    def open_handle(self) -> Any:
        import czifile

        return czifile.CziFile(self.path)

    def read_plane(self, t: int, z: int) -> np.ndarray:
        czi = self.handle
        key = list(self.plan.plane_key(t, z))
        if self.scene_axis is not None:
            key[self.scene_axis] = self.scene
        file_start = czi.start
        buf_shape = [1 if isinstance(k, int) else n
                     for k, n in zip(key, self.plan.src_shape, strict=True)]
        buf = np.zeros(buf_shape, dtype=self.dtype)
        for entry in czi.filtered_subblock_directory:
            rel = [s - f for s, f in zip(entry.start, file_start, strict=True)]
            tile_shape = entry.shape
            src, dst = [], []
            for k, r, n in zip(key, rel, tile_shape, strict=True):
                if isinstance(k, int):
                    if not r <= k < r + n:
                        break
                    src.append(slice(k - r, k - r + 1))
                    dst.append(slice(0, 1))
                else:
                    src.append(slice(None))
                    dst.append(slice(r, r + n))
            else:
                tile = entry.data_segment().data()
                buf[tuple(dst)] = tile[tuple(src)]
        squeeze = tuple(0 if isinstance(k, int) else slice(None) for k in key)
        plane = self.plan.to_cyx(buf[squeeze])
        if self.bgr:
            plane = plane[::-1]
        return plane


class CziSceneSource(PlaneSource):
    """Planes through czifile's 2026 API: a dimension selection of one scene's CziImage."""

    def __init__(self, path: Path, plan: AxisPlan, dims: tuple[str, ...],
                 start: tuple[int, ...], scene_key: int) -> None:
        super().__init__(path)
        self.plan, self.dims, self.start, self.scene_key = plan, dims, start, scene_key

    def open_handle(self) -> Any:
        import czifile

        return czifile.CziFile(self.path, squeeze=False)

    def read_plane(self, t: int, z: int) -> np.ndarray:
        image = self.handle.scenes[self.scene_key]
        key = self.plan.plane_key(t, z)
        selection = {d: s0 + k for d, s0, k in zip(self.dims, self.start, key, strict=True)
                     if isinstance(k, int) and d not in ("S", "Y", "X")}
        view = image(**selection) if selection else image
        data = np.asarray(view.asarray())
        order = list(view.sizes)
        if order != list(self.dims):  # same axes, czifile's order: back to ours
            data = np.moveaxis(data, [order.index(d) for d in self.dims],
                               list(range(len(self.dims))))
        squeeze = tuple(0 if isinstance(k, int) else slice(None) for k in key)
        return self.plan.to_cyx(data[squeeze])


def _open_scenes_api(czifile_module: Any, path: Path, series: int, reader: str) -> Image:
    with czifile_module.CziFile(path, squeeze=False) as czi:
        keys = sorted(czi.scenes.keys())
        if not keys:
            raise ValueError("the file holds no image sub-blocks")
        check_series(path, series, len(keys))
        image = czi.scenes[keys[series]]
        sizes = dict(image.sizes)
        start = tuple(int(v) for v in image.start)
        dtype = np.dtype(image.dtype)
        try:
            meta = czi_metadata(czi.metadata())
        except ET.ParseError as exc:
            log.warning("%s: unreadable CZI metadata: %s", path, exc)
            meta = {"channel_names": [], "pixel_size": None}
    dims = tuple(sizes)
    # czifile 2026 calls the RGB sample axis S (its scenes are not an axis of one image)
    plan_axes = "".join("0" if d == "S" else d for d in dims)
    plan = AxisPlan.build(plan_axes, tuple(sizes.values()), channel_letters="C0")
    axes, shape = axes_and_shape(plan, plan.size("C"))
    return Image(
        path=path, axes=axes, shape=shape, dtype=dtype,
        source=CziSceneSource(path, plan, dims, start, keys[series]), series=series,
        n_series=len(keys), series_names=[f"scene {k}" for k in keys],
        format=reader, **meta,
    )


@register_reader
class CziReader(ImageReader):
    name = "czi"
    label = "Zeiss CZI"
    extensions = (".czi",)
    magic = CZI_MAGIC

    def open(self, path: Path, series: int = 0) -> Image:
        import czifile

        if not _legacy_api(czifile):
            return _open_scenes_api(czifile, path, series, self.name)
        with czifile.CziFile(path) as czi:
            axes_src, shape_src = czi.axes, tuple(int(n) for n in czi.shape)
            dtype = np.dtype(czi.dtype)
            if not czi.filtered_subblock_directory:
                raise ValueError("the file holds no image sub-blocks")
            pixel_type = str(czi.filtered_subblock_directory[0].pixel_type)
            try:
                meta = czi_metadata(czi.metadata())
            except ET.ParseError as exc:
                log.warning("%s: unreadable CZI metadata: %s", path, exc)
                meta = {"channel_names": [], "pixel_size": None}
        scene_axis = axes_src.index("S") if "S" in axes_src else None
        n_scenes = shape_src[scene_axis] if scene_axis is not None else 1
        check_series(path, series, n_scenes)
        plan_axes = axes_src.replace("S", "P")
        plan_shape = tuple(1 if i == scene_axis else n for i, n in enumerate(shape_src))
        plan = AxisPlan.build(plan_axes, plan_shape, channel_letters="C0")
        bgr = pixel_type.lower().startswith("bgr") and plan.size("C") == 3
        axes, shape = axes_and_shape(plan, plan.size("C"))
        return Image(
            path=path, axes=axes, shape=shape, dtype=dtype,
            source=CziSource(path, plan, scene_axis, series, bgr, dtype), series=series,
            n_series=n_scenes, series_names=[f"scene {i}" for i in range(n_scenes)],
            format=self.name, **meta,
        )
