"""NRRD volumes (via pynrrd): attached raw or gzip data, and detached ``.nhdr`` + data file.

Raw data (attached, or a single detached file) is memory-mapped, so one plane is read at a
time; compressed data (gzip, bzip2, ascii) has to be decoded whole and is kept after the
first plane is asked for.

Axes, in C order (NRRD lists sizes fastest first, so they are reversed): ``kinds`` of
``time`` become T, colour/vector/list kinds become C, the remaining (spatial) axes are, from
the fastest, X, Y, then Z, then more are folded into T. Pixel size is reported only when the
header names units (``space units`` / ``units``) together with spacings or space directions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cellpose_io.image import Image, PlaneSource
from cellpose_io.readers._axes import AxisPlan
from cellpose_io.readers.tiff import axes_and_shape, unit_to_um
from cellpose_io.registry import ImageReader, check_series, register_reader

NRRD_MAGIC = b"NRRD000"

_TYPES = {
    "i1": ("signed char", "int8", "int8_t"),
    "u1": ("uchar", "unsigned char", "uint8", "uint8_t"),
    "i2": ("short", "short int", "signed short", "signed short int", "int16", "int16_t"),
    "u2": ("ushort", "unsigned short", "unsigned short int", "uint16", "uint16_t"),
    "i4": ("int", "signed int", "int32", "int32_t"),
    "u4": ("uint", "unsigned int", "uint32", "uint32_t"),
    "i8": ("longlong", "long long", "long long int", "signed long long",
           "signed long long int", "int64", "int64_t"),
    "u8": ("ulonglong", "unsigned long long", "unsigned long long int", "uint64", "uint64_t"),
    "f4": ("float",),
    "f8": ("double",),
}
_TYPE_OF = {name: code for code, names in _TYPES.items() for name in names}
_CHANNEL_KINDS = {
    "rgb-color", "rgba-color", "hsv-color", "xyz-color", "3-color", "4-color", "vector",
    "covariant-vector", "normal", "list", "point", "2-vector", "3-vector", "4-vector",
    "scalar", "complex", "quaternion", "2d-symmetric-matrix", "2d-masked-symmetric-matrix",
    "2d-matrix", "2d-masked-matrix", "3d-symmetric-matrix", "3d-masked-symmetric-matrix",
    "3d-matrix", "3d-masked-matrix", "3-gradient",
}


def nrrd_dtype(header: dict) -> np.dtype:
    code = _TYPE_OF.get(str(header.get("type", "")).strip().lower())
    if code is None:
        raise ValueError(f"unsupported NRRD type {header.get('type')!r}")
    order = ">" if str(header.get("endian", "little")).lower() == "big" else "<"
    return np.dtype(order + code)


def nrrd_axes(header: dict) -> str:
    """Axis letters in C order for the header's sizes and kinds."""
    sizes = [int(s) for s in header["sizes"]][::-1]
    kinds = [str(k).lower() for k in (header.get("kinds") or ["domain"] * len(sizes))][::-1]
    letters = ["?"] * len(sizes)
    spatial = []
    for i, kind in enumerate(kinds):
        if kind == "time":
            letters[i] = "T"
        elif kind in _CHANNEL_KINDS:
            letters[i] = "C"
        else:
            spatial.append(i)
    if len(spatial) < 2:
        raise ValueError(f"need two spatial axes, kinds are {kinds[::-1]}")
    for letter, i in zip("XYZ", reversed(spatial), strict=False):
        letters[i] = letter
    return "".join("Q" if a == "?" else a for a in letters)


def nrrd_pixel_size(header: dict, axes: str) -> tuple[float, float] | None:
    """(y, x) in µm when units are given; None otherwise."""
    units = header.get("space units") or header.get("units")
    if not units:
        return None
    spacing: list[float | None] = [None] * len(axes)
    if header.get("spacings") is not None:
        spacing = [float(s) for s in np.asarray(header["spacings"], float)][::-1]
    elif header.get("space directions") is not None:
        dirs = header["space directions"]
        norms = []
        for row in dirs:
            arr = np.asarray(row, dtype=float)
            norms.append(None if np.isnan(arr).any() else float(np.linalg.norm(arr)))
        spacing = norms[::-1]
    distinct = {str(u).strip().lower() for u in units if str(u).strip() not in ("", "???")}
    factor = unit_to_um(distinct.pop()) if len(distinct) == 1 else None
    if not factor:
        return None
    result = []
    for letter in "YX":
        value = spacing[axes.index(letter)]
        if value is None or not np.isfinite(value) or value <= 0:
            return None
        result.append(value * factor)
    return (result[0], result[1])


class NrrdSource(PlaneSource):
    def __init__(self, path: Path, plan: AxisPlan, raw: tuple[Path, int] | None,
                 shape: tuple[int, ...], dtype: np.dtype) -> None:
        super().__init__(path)
        self.plan, self.raw, self.shape, self.dtype = plan, raw, shape, dtype
        self.remap_per_read = raw is not None  # raw data is memory-mapped (see PlaneSource)

    def open_handle(self) -> Any:
        if self.raw is not None:
            data_path, offset = self.raw
            return np.memmap(data_path, dtype=self.dtype, mode="r", offset=offset,
                             shape=self.shape)
        import nrrd

        data, _ = nrrd.read(str(self.path), index_order="C")
        if data.shape != self.shape:
            raise ValueError(f"data shape {data.shape} differs from header {self.shape}")
        return data

    def read_plane(self, t: int, z: int) -> np.ndarray:
        return self.plan.read_plane(self.handle, t, z).astype(self.dtype.newbyteorder("="))


@register_reader
class NrrdReader(ImageReader):
    name = "nrrd"
    label = "NRRD"
    extensions = (".nrrd", ".nhdr")
    magic = (NRRD_MAGIC,)

    def open(self, path: Path, series: int = 0) -> Image:
        import nrrd

        check_series(path, series, 1)
        with open(path, "rb") as fh:
            header = nrrd.read_header(fh)
            offset = fh.tell()
        shape = tuple(int(s) for s in header["sizes"])[::-1]
        dtype = nrrd_dtype(header)
        axes_src = nrrd_axes(header)
        plan = AxisPlan.build(axes_src, shape, extra_to="T")
        raw = self._raw_location(path, header, offset, shape, dtype)
        axes, out_shape = axes_and_shape(plan, plan.size("C"))
        return Image(
            path=path, axes=axes, shape=out_shape, dtype=dtype.newbyteorder("="),
            source=NrrdSource(path, plan, raw, shape, dtype),
            pixel_size=nrrd_pixel_size(header, axes_src), format=self.name,
        )

    @staticmethod
    def _raw_location(path: Path, header: dict, offset: int, shape: tuple[int, ...],
                      dtype: np.dtype) -> tuple[Path, int] | None:
        """Where raw pixels can be memory-mapped, or None when they must be decoded."""
        if str(header.get("encoding", "")).lower() != "raw":
            return None
        if int(header.get("line skip", 0) or 0) or int(header.get("byte skip", 0) or 0):
            return None
        data_file = header.get("data file") or header.get("datafile")
        if data_file:
            if " " in str(data_file).strip() or str(data_file).upper().startswith("LIST"):
                return None  # several data files: let pynrrd assemble them
            data_path = Path(data_file)
            data_path = data_path if data_path.is_absolute() else path.parent / data_path
            offset = 0
            if not data_path.is_file():
                raise ValueError(f"detached data file {data_file!r} not found")
        else:
            data_path = path
        needed = int(np.prod(shape)) * dtype.itemsize
        available = data_path.stat().st_size - offset
        if available < needed:
            raise ValueError(
                f"data ({data_path.name}) holds {available} bytes, the header needs {needed} "
                "(truncated file)"
            )
        return data_path, offset
