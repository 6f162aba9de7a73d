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

Line scans open as images too: an XZ scan (Leica's first two dimensions X and Z) has its Z
slices as rows (Y = Z, pixel size from the Z step), an XT scan its time points (Y = T, no
pixel size), and an XZT scan is a time series of XZ images. ``Image.warnings`` says which.
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
DIM_X, DIM_Y, DIM_Z, DIM_T, DIM_M = 1, 2, 3, 4, 10
#: Leica's second display dimension -> what the rows (Y) of a line scan are.
LINE_SCAN_ROWS = {DIM_Z: "Z", DIM_T: "T"}


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
    def __init__(self, path: Path, image: int, tile: int, n_channels: int,
                 row_dim: int = DIM_Y) -> None:
        super().__init__(path)
        self.image, self.tile, self.n_channels = image, tile, n_channels
        self.row_dim = row_dim  # Leica dimension shown as rows: Y, or Z / T for a line scan

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
                requested = {DIM_Z: z, DIM_T: t, DIM_M: self.tile}
                requested.pop(self.row_dim, None)  # the rows of a line scan: all of them
                pil = image.get_plane(c=c, requested_dims=requested)
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
        row_dim = int(image.display_dims[1])
        if int(image.display_dims[0]) != DIM_X or row_dim not in (DIM_Y, *LINE_SCAN_ROWS):
            raise ValueError(
                f"image {image.name!r} is neither an XY image nor an XZ / XT line scan "
                f"(Leica dimensions {image.display_dims})"
            )
        if row_dim != DIM_Y and image.channel_as_second_dim:
            raise ValueError(f"line scan {image.name!r} stores channels as its second "
                             "dimension, which readlif cannot read")
        size_y, size_x = int(dims.get(row_dim, 1)), int(dims[DIM_X])
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
        sizes = {"T": int(dims.get(DIM_T, 1)), "Z": int(dims.get(DIM_Z, 1))}
        warnings = []
        if row_dim != DIM_Y:
            rows = LINE_SCAN_ROWS[row_dim]
            sizes[rows] = 1  # shown as rows instead
            warnings.append(f"X{rows} line scan: image rows (Y) are {rows} "
                            + ("slices" if rows == "Z" else "time points"))
        axes, shape = "", []
        for letter, size in (("T", sizes["T"]), ("Z", sizes["Z"]), ("C", n_channels),
                             ("Y", size_y), ("X", size_x)):
            if size > 1 or letter in "YX":
                axes += letter
                shape.append(size)
        scale = image.scale_n
        pixel_size = None
        if row_dim != DIM_T and scale.get(row_dim) and scale.get(DIM_X):
            pixel_size = (1.0 / abs(float(scale[row_dim])), 1.0 / abs(float(scale[DIM_X])))
        steps = {}
        if sizes["Z"] > 1 and scale.get(DIM_Z):
            steps["z_step"] = 1.0 / abs(float(scale[DIM_Z]))  # readlif: px per µm
        if sizes["T"] > 1 and scale.get(DIM_T):
            steps["time_interval"] = 1.0 / abs(float(scale[DIM_T]))  # readlif: frames per s
        source = LifSource(path, entry.image, entry.tile, n_channels, row_dim)
        source.adopt(image)
        return Image(
            path=path, axes=axes, shape=tuple(shape), dtype=dtype, source=source,
            channel_names=_lut_names(lif, image.name, n_channels), pixel_size=pixel_size,
            series=series, n_series=len(entries), series_names=[e.name for e in entries],
            format=self.name, warnings=warnings, **steps,
        )
