"""The lazy image object every reader returns.

An :class:`Image` knows its axes, shape and metadata without loading pixels; ``plane(t, z)``
loads one (C, Y, X) plane through the reader's :class:`PlaneSource`. Keeping the pixel access
behind a tiny source object lets one class serve every format, lets a GUI page through a large
stack without holding it in memory, and keeps the image picklable (a source drops its open file
handle when pickled and reopens on demand), so images can be sent to Dask workers.
"""

from __future__ import annotations

import logging
import os
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cellpose_io.errors import ImageReadError

log = logging.getLogger(__name__)

AXES_ORDER = "TZCYX"


def one_line(exc: BaseException) -> str:
    """A third-party exception as one readable line (type name when the message is empty)."""
    text = " ".join(str(exc).split())
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def close_quietly(handle: Any) -> None:
    """Close a reader handle that is a file object (``close``).

    Memory maps (``np.memmap``, ``np.load(mmap_mode=...)``) are left to the garbage
    collector on purpose: closing their ``_mmap`` while any array still points into it
    makes later reads of that array crash or return other memory (issue 15). numpy keeps
    the map open exactly as long as an array needs it.
    """
    if handle is None or isinstance(handle, np.ndarray):
        return
    try:
        close = getattr(handle, "close", None)
        if close is not None:
            close()
    except (OSError, ValueError) as exc:  # closing a read-only handle: nothing is lost
        log.debug("closing %r: %s", handle, exc)


def owned(array: np.ndarray) -> np.ndarray:
    """``array`` itself when its memory cannot go away under it, else a copy that owns it.

    A plane handed out by :meth:`Image.plane` must outlive the file handle it came from:
    views into a memory map (``np.memmap``, ``mmap.mmap``) are copied; views of an ordinary
    numpy array (what most decoders return) keep that array alive and are returned as is.
    """
    base: Any = array
    while isinstance(base, np.ndarray):
        if isinstance(base, np.memmap):
            return array.copy()
        if base.base is None:
            return array
        base = base.base
    return array.copy()  # memory of another object (mmap.mmap, a decoder's buffer)


class PlaneSource:
    """Reads the planes of one series of one file; subclasses implement ``read_plane``.

    ``open_handle`` (optional) opens whatever the format needs (a ``TiffFile``, an
    ``ND2File``, a memory map...); the handle is kept until :meth:`close`, closed when the
    source is garbage-collected, and dropped when the source is pickled.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._handle: Any = None
        self._finalizer: weakref.finalize | None = None

    #: Map the file anew for every plane instead of holding the map: a mapped file that
    #: another program truncates or rewrites meanwhile kills the process (SIGBUS) on the
    #: next read; mapped per read, it gives that plane's current content or a clean error.
    remap_per_read: bool = False

    def open_handle(self) -> Any:
        """Open the file; the default keeps no handle."""
        return None

    def read_plane(self, t: int, z: int) -> np.ndarray:
        """Return plane (t, z) as a (C, Y, X) array."""
        raise NotImplementedError

    def adopt(self, handle: Any) -> None:
        """Keep a handle the reader already opened (saves opening the file twice)."""
        self.close()
        self._handle = handle
        if handle is not None:
            self._finalizer = weakref.finalize(self, close_quietly, handle)

    @property
    def handle(self) -> Any:
        if self.remap_per_read:
            return self.open_handle()
        if self._handle is None:
            self.adopt(self.open_handle())
        return self._handle

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        close_quietly(handle)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_handle"] = None
        state["_finalizer"] = None
        return state


@dataclass(eq=False)
class Image:
    """One series of one image file, read lazily.

    ``axes`` is a subset of "TZCYX" in that order and always ends in "YX"; axes of size one
    are left out (C is present only when there is more than one channel). ``plane(t, z)``
    always returns (C, Y, X), with C = 1 for single-channel images.
    """

    path: Path
    axes: str
    shape: tuple[int, ...]
    dtype: np.dtype
    source: PlaneSource = field(repr=False)
    channel_names: list[str] = field(default_factory=list)
    pixel_size: tuple[float, float] | None = None
    series: int = 0
    n_series: int = 1
    series_names: list[str] = field(default_factory=list)
    format: str = ""
    warnings: list[str] = field(default_factory=list)
    z_step: float | None = None  # µm between Z slices, when the file says
    time_interval: float | None = None  # s between time points, when the file says
    frame_times: tuple[float, ...] | None = None  # s of each time point from the first (ND2)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.dtype = np.dtype(self.dtype)
        self.shape = tuple(int(s) for s in self.shape)
        if len(self.axes) != len(self.shape) or not self.axes.endswith("YX"):
            raise ValueError(f"inconsistent axes {self.axes!r} for shape {self.shape}")
        if [a for a in AXES_ORDER if a in self.axes] != list(self.axes):
            raise ValueError(f"axes {self.axes!r} are not a subset of {AXES_ORDER!r} in order")
        if self.channel_names and len(self.channel_names) != self.n_channels:
            log.debug("%s: dropping %d channel names for %d channels", self.path,
                      len(self.channel_names), self.n_channels)
            self.channel_names = []
        if not self.series_names:
            self.series_names = [f"series {i}" for i in range(self.n_series)]
        # Readers build the Image from the file's header, so this refuses an implausible
        # declared size before any pixel is decoded (one limit for every reader).
        from cellpose_io.limits import check_plane_size

        check_plane_size(self.path, self.size_y, self.size_x)

    # -- sizes ----------------------------------------------------------------------------
    def _size(self, axis: str) -> int:
        return self.shape[self.axes.index(axis)] if axis in self.axes else 1

    @property
    def n_channels(self) -> int:
        return self._size("C")

    @property
    def size_t(self) -> int:
        return self._size("T")

    @property
    def size_z(self) -> int:
        return self._size("Z")

    @property
    def size_y(self) -> int:
        return self._size("Y")

    @property
    def size_x(self) -> int:
        return self._size("X")

    @property
    def plane_shape(self) -> tuple[int, int, int]:
        return (self.n_channels, self.size_y, self.size_x)

    def time_of(self, t: int) -> float | None:
        """Seconds from the first time point to time point ``t``: the recorded time stamp
        (``frame_times``) where the file has one, else ``t * time_interval``, else None."""
        if self.frame_times is not None and 0 <= t < len(self.frame_times):
            return float(self.frame_times[t])
        if self.time_interval:
            return float(t) * float(self.time_interval)
        return None

    def z_of(self, z: int) -> float | None:
        """Position of slice ``z`` in µm from the first slice (``z * z_step``), or None."""
        return float(z) * float(self.z_step) if self.z_step else None

    # -- pixels ---------------------------------------------------------------------------
    def plane(self, t: int = 0, z: int = 0) -> np.ndarray:
        """Load plane (t, z) as (C, Y, X); only that plane is read from disk."""
        t, z = int(t), int(z)
        if not 0 <= t < self.size_t or not 0 <= z < self.size_z:
            raise IndexError(
                f"{self.path}: plane t={t} z={z} is outside T={self.size_t} Z={self.size_z}"
            )
        try:
            data = self.source.read_plane(t, z)
        except ImageReadError:
            raise
        except Exception as exc:  # noqa: BLE001 - every reader failure becomes ImageReadError
            raise ImageReadError(
                self.path, f"cannot read plane t={t} z={z}: {one_line(exc)}"
            ) from exc
        data = np.asarray(data)
        if data.ndim == 2:
            data = data[np.newaxis]
        if data.shape != self.plane_shape:
            raise ImageReadError(
                self.path,
                f"plane t={t} z={z} has shape {data.shape}, expected {self.plane_shape} "
                "(file damaged or metadata inconsistent)",
            )
        return owned(np.ascontiguousarray(data, dtype=self.dtype))

    def asarray(self) -> np.ndarray:
        """The whole series in ``axes`` order (loads every plane)."""
        out = np.empty((self.size_t, self.size_z) + self.plane_shape, dtype=self.dtype)
        for t in range(self.size_t):
            for z in range(self.size_z):
                out[t, z] = self.plane(t, z)
        return out.reshape(self.shape)

    def close(self) -> None:
        """Release the open file handle, if any (reopened on the next ``plane``)."""
        self.source.close()

    def __enter__(self) -> Image:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def describe(self) -> dict[str, Any]:
        """Plain-data summary (what ``multicellpose info`` prints)."""
        return {
            "path": str(self.path),
            "format": self.format,
            "series": self.series,
            "n_series": self.n_series,
            "series_names": list(self.series_names),
            "axes": self.axes,
            "shape": list(self.shape),
            "dtype": str(self.dtype),
            "channel_names": list(self.channel_names),
            "pixel_size": list(self.pixel_size) if self.pixel_size else None,
            "z_step": self.z_step,
            "time_interval": self.time_interval,
            "warnings": list(self.warnings),
        }
