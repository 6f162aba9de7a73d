"""Leica ``.lif`` projects (via readlif): every image, and every tile of a tile scan.

Series: each LIF image is one series; a tile scan (mosaic, readlif's M axis) is expanded so
that **each tile is its own series**, named "<image name> tile k/M". Tiles are not stitched
(their stage positions overlap and are not exact), and per-tile series keep every image
(C, Z, T) the same shape as a plain one. So a project with images [A (4 tiles), B] has
series A tile 1/4 ... A tile 4/4, B.

Planes are read with ``LifImage.get_plane``, which follows the file's own dimension order
(some Leica files store the tile axis between Z and T; ``get_frame`` assumes it is last and
returns the wrong tile there). Files saved by LAS X Navigator with the channel as the second
dimension use ``get_frame``, which handles that layout. Channel names are the Leica LUT names
(e.g. "Green", "Red"): LIF files do not store dye names in a standard place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cellpose_io.errors import ImageReadError
from cellpose_io.image import Image, PlaneSource
from cellpose_io.registry import ImageReader, check_series, register_reader

LIF_MAGIC = (b"\x70\x00\x00\x00",)
DIM_Z, DIM_T, DIM_M = 3, 4, 10


@dataclass(frozen=True)
class LifSeries:
    image: int
    tile: int
    name: str


def lif_series(lif: Any) -> list[LifSeries]:
    """One entry per (image, tile)."""
    out = []
    for i, image in enumerate(lif.get_iter_image()):
        n_tiles = max(1, int(getattr(image, "n_mosaic", 1) or 1))
        for m in range(n_tiles):
            name = image.name if n_tiles == 1 else f"{image.name} tile {m + 1}/{n_tiles}"
            out.append(LifSeries(i, m, name))
    return out


def _lut_names(lif: Any, image_name: str, n_channels: int) -> list[str]:
    """LUT names of the one XML element named ``image_name`` (else [])."""
    matches = []
    for element in lif.xml_root.iter("Element"):
        if element.get("Name") != image_name:
            continue
        channels = element.findall("./Data/Image/ImageDescription/Channels/ChannelDescription")
        if channels:
            matches.append([c.get("LUTName") or "" for c in channels])
    if len(matches) == 1 and len(matches[0]) == n_channels and any(matches[0]):
        return matches[0]
    return []


class LifSource(PlaneSource):
    def __init__(self, path: Path, image: int, tile: int, n_channels: int) -> None:
        super().__init__(path)
        self.image, self.tile, self.n_channels = image, tile, n_channels

    def open_handle(self) -> Any:
        from readlif.reader import LifFile

        return LifFile(str(self.path)).get_image(self.image)

    def read_plane(self, t: int, z: int) -> np.ndarray:
        image = self.handle
        planes = []
        for c in range(self.n_channels):
            if image.channel_as_second_dim:
                pil = image.get_frame(z=z, t=t, c=c, m=self.tile)
            else:
                pil = image.get_plane(c=c, requested_dims={DIM_Z: z, DIM_T: t,
                                                           DIM_M: self.tile})
            planes.append(np.asarray(pil))
        return np.stack(planes)


@register_reader
class LifReader(ImageReader):
    name = "lif"
    label = "Leica LIF"
    extensions = (".lif",)
    magic = LIF_MAGIC

    def open(self, path: Path, series: int = 0) -> Image:
        from readlif.reader import LifFile

        lif = LifFile(str(path))
        entries = lif_series(lif)
        if not entries:
            raise ValueError("the project holds no images")
        check_series(path, series, len(entries))
        entry = entries[series]
        image = lif.get_image(entry.image)
        dims = image.dims_n
        size_y, size_x = int(dims[2]) if 2 in dims else 1, int(dims[1])
        if image.display_dims != (1, 2):
            raise ValueError(
                f"image {image.name!r} is not an XY scan (display dims {image.display_dims})"
            )
        start, length = (int(v) for v in image.offsets[:2])
        file_size = path.stat().st_size
        if start + length > file_size:
            raise ImageReadError(
                path, f"truncated LIF: image {image.name!r} needs bytes up to {start + length} "
                f"but the file has {file_size}"
            )
        bits = int(image.bit_depth[0])
        dtype = np.dtype(np.uint8 if bits <= 8 else np.uint16)
        n_channels = int(image.channels)
        axes, shape = "", []
        for letter, size in (("T", int(image.nt)), ("Z", int(image.nz)), ("C", n_channels),
                             ("Y", size_y), ("X", size_x)):
            if size > 1 or letter in "YX":
                axes += letter
                shape.append(size)
        scale = image.scale_n
        pixel_size = None
        if scale.get(1) and scale.get(2):
            pixel_size = (1.0 / abs(float(scale[2])), 1.0 / abs(float(scale[1])))
        steps = {}
        if int(image.nz) > 1 and scale.get(3):
            steps["z_step"] = 1.0 / abs(float(scale[3]))  # readlif: px per µm
        if int(image.nt) > 1 and scale.get(4):
            steps["time_interval"] = 1.0 / abs(float(scale[4]))  # readlif: frames per s
        source = LifSource(path, entry.image, entry.tile, n_channels)
        source.adopt(image)
        return Image(
            path=path, axes=axes, shape=tuple(shape), dtype=dtype, source=source,
            channel_names=_lut_names(lif, image.name, n_channels), pixel_size=pixel_size,
            series=series, n_series=len(entries), series_names=[e.name for e in entries],
            format=self.name, **steps,
        )
