"""STORM ``.dax`` movies: raw uint16 frames (T, Y, X) described by a ``.inf`` sidecar.

The sidecar (same name, ``.inf``) gives ``frame dimensions = W x H``, ``number of frames``
and the byte order (``data type = 16 bit integers (binary, big endian)``; big endian when it
does not say). Frames are memory-mapped, so one frame is read at a time.

When the sidecar's frame count disagrees with the file size, the file size wins (an
acquisition that was stopped early or a sidecar copied from another run): the number of
whole frames in the file is used, a warning is logged and kept in ``Image.warnings``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cellpose_io.errors import ImageReadError
from cellpose_io.image import Image, PlaneSource
from cellpose_io.registry import ImageReader, check_series, register_reader

log = logging.getLogger(__name__)

_DIMS = re.compile(r"frame\s+dimensions\s*=\s*(\d+)\s*x\s*(\d+)", re.I)
_FRAMES = re.compile(r"number\s+of\s+frames\s*=\s*(\d+)", re.I)
_DTYPE = re.compile(r"data\s+type\s*=\s*(.*)", re.I)


@dataclass(frozen=True)
class DaxInfo:
    width: int
    height: int
    n_frames: int | None
    big_endian: bool


def parse_inf(text: str) -> DaxInfo:
    dims = _DIMS.search(text)
    if not dims:
        raise ValueError("the .inf sidecar has no 'frame dimensions = W x H' line")
    frames = _FRAMES.search(text)
    dtype = _DTYPE.search(text)
    little = bool(dtype and "little" in dtype.group(1).lower())
    if dtype and "16" not in dtype.group(1):
        raise ValueError(f"unsupported data type {dtype.group(1).strip()!r} (need 16 bit)")
    return DaxInfo(int(dims.group(1)), int(dims.group(2)),
                   int(frames.group(1)) if frames else None, not little)


class DaxSource(PlaneSource):
    remap_per_read = True  # see PlaneSource.remap_per_read

    def __init__(self, path: Path, shape: tuple[int, int, int], big_endian: bool) -> None:
        super().__init__(path)
        self.shape, self.big_endian = shape, big_endian

    def open_handle(self) -> np.memmap:
        dtype = ">u2" if self.big_endian else "<u2"
        return np.memmap(self.path, dtype=dtype, mode="r", shape=self.shape)

    def read_plane(self, t: int, z: int) -> np.ndarray:
        return np.asarray(self.handle[t], dtype=np.uint16)[np.newaxis]


@register_reader
class DaxReader(ImageReader):
    name = "dax"
    label = "STORM .dax"
    extensions = (".dax",)
    magic = ()  # raw pixels: chosen by extension only

    def open(self, path: Path, series: int = 0) -> Image:
        check_series(path, series, 1)
        inf_path = path.with_suffix(".inf")
        if not inf_path.is_file() and path.with_suffix(".INF").is_file():
            inf_path = path.with_suffix(".INF")
        if not inf_path.is_file():
            raise ImageReadError(path, f"the sidecar {inf_path.name} (frame size) is missing")
        try:
            info = parse_inf(inf_path.read_text(encoding="latin-1"))
        except ValueError as exc:
            raise ImageReadError(path, f"{inf_path.name}: {exc}") from exc
        frame_bytes = info.width * info.height * 2
        if frame_bytes == 0:
            raise ImageReadError(path, f"{inf_path.name} gives an empty frame size")
        size = path.stat().st_size
        n_frames, rest = divmod(size, frame_bytes)
        warnings = []
        if n_frames == 0:
            raise ImageReadError(
                path, f"file has {size} bytes, less than one {info.width}x{info.height} "
                "16-bit frame (truncated, or the sidecar is wrong)",
            )
        if (info.n_frames is not None and info.n_frames != n_frames) or rest:
            said = "no frame count" if info.n_frames is None else f"{info.n_frames} frames"
            warnings.append(
                f"{inf_path.name} says {said} but the file size ({size} bytes) holds "
                f"{n_frames} whole {info.width}x{info.height} frames"
                + (f" plus {rest} stray bytes" if rest else "")
                + f"; trusting the file size: {n_frames} frames"
            )
            log.warning("%s: %s", path, warnings[-1])
        shape = (n_frames, info.height, info.width)
        axes = "TYX" if n_frames > 1 else "YX"
        return Image(path=path, axes=axes, shape=shape if n_frames > 1 else shape[1:],
                     dtype=np.dtype(np.uint16), source=DaxSource(path, shape, info.big_endian),
                     format=self.name, warnings=warnings)
