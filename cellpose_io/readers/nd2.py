"""Nikon ``.nd2`` files (via the ``nd2`` package), one frame read at a time.

An ND2 file stores a sequence of frames over its experiment loops (time, XY positions, Z);
each frame holds every channel. ``plane(t, z)`` finds the frame index from the loop sizes
and reads only that frame (``ND2File.read_frame``). Multi-point positions (P) are series.
RGB (brightfield colour camera) samples become channels.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from cellpose_io.image import Image, PlaneSource
from cellpose_io.registry import ImageReader, check_series, register_reader

log = logging.getLogger(__name__)

# legacy (JPEG 2000 based) and current ND2 signatures
ND2_MAGIC = (b"\xda\xce\xbe\x0a", b"\x00\x00\x00\x0cjP  ")
FRAME_AXES = ("C", "Y", "X", "S")


def loop_axes(sizes: dict[str, int]) -> dict[str, int]:
    """The experiment-loop axes (outermost first) of an ND2 ``sizes`` mapping."""
    return {k: int(v) for k, v in sizes.items() if k not in FRAME_AXES}


class Nd2Source(PlaneSource):
    def __init__(self, path: Path, position: int, loops: dict[str, int], t_axis: str) -> None:
        super().__init__(path)
        self.position, self.loops, self.t_axis = position, loops, t_axis

    def open_handle(self) -> Any:
        import nd2

        return nd2.ND2File(self.path)

    def frame_index(self, t: int, z: int) -> int:
        where = {self.t_axis: t, "Z": z, "P": self.position}
        if not self.loops:
            return 0
        index = [where.get(axis, 0) for axis in self.loops]
        return int(np.ravel_multi_index(index, list(self.loops.values())))

    def read_plane(self, t: int, z: int) -> np.ndarray:
        frame = np.asarray(self.handle.read_frame(self.frame_index(t, z)))
        if frame.ndim == 2:
            return frame[np.newaxis]
        if self.handle.is_rgb:  # (..., Y, X, S) -> (C*S, Y, X)
            frame = np.moveaxis(frame, -1, -3)
            return frame.reshape((-1,) + frame.shape[-2:])
        return frame.reshape((-1,) + frame.shape[-2:])


@register_reader
class Nd2Reader(ImageReader):
    name = "nd2"
    label = "Nikon ND2"
    extensions = (".nd2",)
    magic = ND2_MAGIC

    def open(self, path: Path, series: int = 0) -> Image:
        import nd2

        with nd2.ND2File(path) as f:
            sizes = {k: int(v) for k, v in f.sizes.items()}
            dtype = np.dtype(f.dtype)
            names = self._channel_names(f)
            voxel = f.voxel_size()
            times = _frame_times(f, series)
        loops = loop_axes(sizes)
        unknown = [a for a in loops if a not in ("T", "Z", "P")]
        t_axis = "T"
        if unknown:
            if len(unknown) > 1 or "T" in loops:
                raise ValueError(f"unsupported ND2 loop axes {list(loops)}")
            t_axis = unknown[0]  # e.g. a custom loop: shown as time points
        n_positions = loops.get("P", 1)
        check_series(path, series, n_positions)
        n_channels = sizes.get("C", 1) * sizes.get("S", 1)
        axes, shape = "", []
        for letter, size in (("T", loops.get(t_axis, 1)), ("Z", loops.get("Z", 1)),
                             ("C", n_channels), ("Y", sizes["Y"]), ("X", sizes["X"])):
            if size > 1 or letter in "YX":
                axes += letter
                shape.append(size)
        pixel_size = None
        if voxel is not None and voxel.x > 0 and voxel.y > 0:
            pixel_size = (float(voxel.y), float(voxel.x))
        steps: dict = {}
        if loops.get("Z", 1) > 1 and voxel is not None and voxel.z > 0:
            steps["z_step"] = float(voxel.z)
        if t_axis == "T" and loops.get("T", 1) > 1 and times and len(times) == loops["T"]:
            steps["frame_times"] = times
            steps["time_interval"] = (times[-1] - times[0]) / (len(times) - 1)
        return Image(
            path=path, axes=axes, shape=tuple(shape), dtype=dtype,
            source=Nd2Source(path, series, loops, t_axis), channel_names=names,
            pixel_size=pixel_size, series=series, n_series=n_positions,
            series_names=[f"position {i}" for i in range(n_positions)], format=self.name,
            **steps,
        )

    @staticmethod
    def _channel_names(f: Any) -> list[str]:
        metadata = f.metadata
        channels = getattr(metadata, "channels", None) or []
        names = [str(getattr(getattr(c, "channel", None), "name", "") or "") for c in channels]
        return names if any(names) and not f.is_rgb else []


def _frame_times(f: Any, series: int) -> tuple[float, ...] | None:
    """Seconds of each time point from the first: the acquisition time stamp of the first
    plane recorded at each ``T Index`` (of this position), or None when not recorded."""
    try:
        events = f.events(orient="list")
        stamps = events.get("Time [s]")
        t_index = events.get("T Index")
        if not stamps or not t_index:
            return None
        p_index = events.get("P Index")
        first: dict[int, float] = {}
        for i, (t, stamp) in enumerate(zip(t_index, stamps, strict=False)):
            if p_index is not None and int(p_index[i]) != series:
                continue
            first[int(t)] = min(float(stamp), first.get(int(t), float("inf")))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:  # metadata varies
        log.debug("no ND2 frame times: %s", exc)
        return None
    if not first or sorted(first) != list(range(len(first))):
        return None
    start = first[0]
    return tuple(first[t] - start for t in range(len(first)))
