"""Plain ``.npy`` image arrays, memory-mapped, never unpickled.

``allow_pickle=False`` means a crafted file cannot run code; an object array (or a
``_seg.npy`` label file, which the registry turns away before this reader) is an error.

A ``.npy`` file has no axis names, so they are guessed from the shape (the same guesses
Cellpose makes for arrays):

* 2-D: YX
* 3-D: YXC when the last axis has 1-4 entries and is the smallest; else CYX when the first
  has at most 4 entries; else ZYX
* 4-D: ZYXC when the last axis has 1-4 entries; ZCYX when the second has; CZYX when the
  first has; else TZYX
* 5-D: TZCYX

bool arrays are returned as uint8; complex and other non-numeric dtypes are refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cellpose_io.image import Image, PlaneSource
from cellpose_io.readers._axes import AxisPlan
from cellpose_io.readers.tiff import axes_and_shape
from cellpose_io.registry import ImageReader, check_series, register_reader

NPY_MAGIC = b"\x93NUMPY"
MAX_CHANNELS = 4


def guess_axes(shape: tuple[int, ...]) -> str:
    """Axis letters for a bare array's shape (see the module docstring)."""
    nd = len(shape)
    if nd == 2:
        return "YX"
    if nd == 3:
        if shape[-1] <= MAX_CHANNELS and shape[-1] == min(shape):
            return "YXC"
        return "CYX" if shape[0] <= MAX_CHANNELS else "ZYX"
    if nd == 4:
        if shape[-1] <= MAX_CHANNELS:
            return "ZYXC"
        if shape[1] <= MAX_CHANNELS:
            return "ZCYX"
        return "CZYX" if shape[0] <= MAX_CHANNELS else "TZYX"
    if nd == 5:
        return "TZCYX"
    raise ValueError(f"cannot read a {nd}-D array as an image (need 2 to 5 dimensions)")


class NpySource(PlaneSource):
    remap_per_read = True  # see PlaneSource.remap_per_read

    def __init__(self, path: Path, plan: AxisPlan) -> None:
        super().__init__(path)
        self.plan = plan

    def open_handle(self) -> np.ndarray:
        return np.load(self.path, mmap_mode="r", allow_pickle=False)

    def read_plane(self, t: int, z: int) -> np.ndarray:
        plane = self.plan.read_plane(self.handle, t, z)
        return plane.astype(np.uint8) if plane.dtype.kind == "b" else plane


@register_reader
class NpyReader(ImageReader):
    name = "npy"
    label = "NumPy .npy"
    extensions = (".npy",)
    magic = (NPY_MAGIC,)

    def open(self, path: Path, series: int = 0) -> Image:
        check_series(path, series, 1)
        try:
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            if "pickle" in str(exc).lower():
                raise ValueError(
                    "holds Python objects (a pickle), not a plain image array; "
                    "refused for safety"
                ) from exc
            raise
        if not isinstance(arr, np.ndarray):
            raise ValueError("does not hold a single array")
        dtype = arr.dtype
        if dtype.kind == "b":
            dtype = np.dtype(np.uint8)
        if dtype.kind not in "uif":
            raise ValueError(f"array of dtype {dtype} is not an image (need integer or float)")
        plan = AxisPlan.build(guess_axes(arr.shape), arr.shape)
        axes, shape = axes_and_shape(plan, plan.size("C"))
        source = NpySource(path, plan)
        del arr  # the header was all we needed; planes map the file per read
        return Image(path=path, axes=axes, shape=shape, dtype=dtype, source=source,
                     format=self.name)
