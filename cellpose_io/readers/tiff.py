"""TIFF reader: ImageJ hyperstacks, multi-page and plain TIFFs (via tifffile).

Axes come from tifffile's series (ImageJ hyperstacks give T, Z, C; a generic multi-page
stack, "I"/"Q", becomes Z). Each (t, z) plane reads only its own pages. RGB(A) samples become
channels; an alpha sample is dropped.

Pixel size: ImageJ files give it with their unit (micron, nm, mm...). Other TIFFs only when
the resolution unit is centimetre: inch resolutions are almost always a screen/printer default
(72, 96, 300 dpi) written by image software, not a calibration, so they are ignored.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cellpose_io.errors import ImageReadError
from cellpose_io.image import Image, PlaneSource
from cellpose_io.readers._axes import AxisPlan
from cellpose_io.registry import ImageReader, check_series, register_reader

log = logging.getLogger(__name__)

TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")

# micrometres per unit, for ImageJ "unit" strings and OME/other unit names
UNIT_TO_UM = {
    "micron": 1.0, "microns": 1.0, "um": 1.0, "µm": 1.0, "\u03bcm": 1.0, "\\u00b5m": 1.0,
    "micrometer": 1.0, "micrometre": 1.0, "nm": 1e-3, "nanometer": 1e-3, "mm": 1e3,
    "millimeter": 1e3, "cm": 1e4, "centimeter": 1e4, "m": 1e6, "meter": 1e6, "pm": 1e-6,
    "å": 1e-4, "angstrom": 1e-4,
}


def unit_to_um(unit: str | None) -> float | None:
    if not unit:
        return None
    return UNIT_TO_UM.get(unit.strip().lower())


# tifffile logs (rather than raises) when an IFD or tag points past the end of the file and
# then silently returns fewer pages; those messages mean a damaged or truncated file.
_DAMAGE_WORDS = ("offset", "corrupt", "truncat")


class _CaptureFilter(logging.Filter):
    """Swallow and record tifffile log records emitted by one thread."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread != self.thread or record.levelno < logging.WARNING:
            return True
        self.messages.append(" ".join(record.getMessage().split()))
        return False


@contextmanager
def tifffile_messages() -> Iterator[list[str]]:
    """Collect tifffile's warnings in this thread instead of letting them reach stderr."""
    logger = logging.getLogger("tifffile")
    capture = _CaptureFilter()
    logger.addFilter(capture)
    try:
        yield capture.messages
    finally:
        logger.removeFilter(capture)


def raise_if_damaged(path: Path, messages: list[str]) -> list[str]:
    """ImageReadError for messages that mean damage; return the harmless ones."""
    damage = [m for m in messages if any(w in m.lower() for w in _DAMAGE_WORDS)]
    if damage:
        raise ImageReadError(path, f"damaged or truncated TIFF: {damage[0]}")
    return messages


def check_data_extent(path: Path, tseries: Any) -> None:
    """The first page's pixel data (or a contiguous series) must lie inside the file."""
    size = path.stat().st_size
    page = tseries.keyframe
    ends = [o + c for o, c in zip(page.dataoffsets, page.databytecounts, strict=False) if c]
    offset = getattr(tseries, "dataoffset", None)
    if offset is not None:
        ends.append(int(offset) + int(tseries.nbytes))
    if ends and max(ends) > size:
        raise ImageReadError(
            path, f"truncated TIFF: pixel data ends at byte {max(ends)} but the file has "
            f"{size} bytes"
        )


class PagedArray:
    """Array-like over TIFF pages: leading dims enumerate pages, trailing dims are a page.

    Indexing reads only the pages the key selects (integers or full slices on the leading
    dims; anything numpy accepts on the page dims).
    """

    def __init__(self, tif: Any, series: int | None, lead_shape: tuple[int, ...],
                 page_shape: tuple[int, ...], offset: int = 0) -> None:
        self.tif, self.series = tif, series
        self.lead_shape, self.page_shape, self.offset = lead_shape, page_shape, offset
        self.shape = lead_shape + page_shape

    def __getitem__(self, key: tuple) -> np.ndarray:
        n = len(self.lead_shape)
        lead_key, page_key = key[:n], key[n:]
        ranges = [range(size)[k] if isinstance(k, slice) else [int(k)]
                  for k, size in zip(lead_key, self.lead_shape, strict=True)]
        combos = list(itertools.product(*ranges)) if n else [()]
        pages = [self.offset + (int(np.ravel_multi_index(c, self.lead_shape)) if n else 0)
                 for c in combos]
        data = self.tif.asarray(key=pages, series=self.series)
        data = np.asarray(data).reshape(tuple(len(r) for r in ranges) + self.page_shape)
        squeeze = tuple(slice(None) if isinstance(k, slice) else 0 for k in lead_key)
        return data[squeeze + tuple(page_key)]


@dataclass
class _Layout:
    plan: AxisPlan
    lead_shape: tuple[int, ...]
    page_shape: tuple[int, ...]
    keep_channels: int | None  # drop trailing channels (alpha) beyond this count


class ContiguousSource(PlaneSource):
    """Planes of an uncompressed ImageJ hyperstack read straight from their byte offsets.

    ImageJ stores a hyperstack's planes one after the other (C fastest, then Z, then T)
    after the first page's data offset; this source needs nothing but that offset, so it
    still reads a file whose later pages (IFDs) were cut off.
    """

    def __init__(self, path: Path, offset: int, dtype: np.dtype, page_shape: tuple[int, int],
                 size_z: int, size_c: int) -> None:
        super().__init__(path)
        self.offset, self.dtype, self.page_shape = offset, np.dtype(dtype), page_shape
        self.size_z, self.size_c = size_z, size_c

    def open_handle(self) -> Any:
        return open(self.path, "rb")  # noqa: SIM115 - kept open, closed by PlaneSource

    def read_plane(self, t: int, z: int) -> np.ndarray:
        page = self.page_shape[0] * self.page_shape[1]
        count = self.size_c * page
        first = (t * self.size_z + z) * self.size_c  # ImageJ order: C fastest, then Z, T
        self.handle.seek(self.offset + first * page * self.dtype.itemsize)
        data = np.frombuffer(self.handle.read(count * self.dtype.itemsize), dtype=self.dtype)
        if data.size != count:
            raise ImageReadError(self.path, f"plane t={t} z={z} is cut off (truncated file)")
        return data.reshape((self.size_c, *self.page_shape)).astype(self.dtype.newbyteorder("="))


def imagej_truncated(tif: Any, path: Path) -> Image | None:
    """A cut-off ImageJ hyperstack opened with the frames (or slices) the file holds.

    ImageJ's header says how many images the stack has; when the file ends before the last
    of them (acquisition or copy stopped early), tifffile refuses the series. Complete time
    points are kept (complete Z slices for a stack without T; a missing channel cannot be
    made up, so then None) and ``Image.warnings`` says how many were lost. None when the
    file is not such a hyperstack or is not truncated.
    """
    if not tif.is_imagej:
        return None
    meta, page = tif.imagej_metadata or {}, tif.pages.first
    frames, slices, channels = (int(meta.get(k, 1) or 1)
                                for k in ("frames", "slices", "channels"))
    if (page.compression != 1 or not page.is_contiguous or page.samplesperpixel != 1
            or len(page.shape) != 2 or frames * slices * channels <= 1):
        return None
    offset, size = int(page.dataoffsets[0]), int(tif.filehandle.size)
    if offset + frames * slices * channels * page.nbytes <= size:
        return None
    complete = max(size - offset, 0) // page.nbytes
    promised, letter = (frames, "T") if frames > 1 else (slices, "Z")
    per_step = channels * (slices if letter == "T" else 1)
    kept = complete // per_step
    if kept < 1:
        return None
    if letter == "T":
        frames = kept
    else:
        slices = kept
    noun = "frames" if letter == "T" else "slices"
    warning = (f"ImageJ header promises {promised} {noun} but the file holds {kept}: "
               f"opened {kept} {noun} (file truncated)")
    log.warning("%s: %s", path, warning)
    axes, shape = "", []
    for axis, n in (("T", frames), ("Z", slices), ("C", channels)):
        if n > 1:
            axes, shape = axes + axis, shape + [n]
    dtype = np.dtype(page.dtype).newbyteorder(tif.byteorder)
    source = ContiguousSource(path, offset, dtype, tuple(page.shape), slices, channels)
    return Image(
        path=path, axes=axes + "YX", shape=(*shape, *page.shape), dtype=page.dtype,
        source=source, format="tiff", warnings=[warning],
        channel_names=imagej_channel_names(meta.get("Labels"), channels),
        pixel_size=resolution_um(page, meta.get("unit")),
    )


class TiffSource(PlaneSource):
    def __init__(self, path: Path, series: int | None, layout: _Layout) -> None:
        super().__init__(path)
        self.series = series
        self.layout = layout

    def open_handle(self) -> Any:
        import tifffile

        return tifffile.TiffFile(self.path)

    def read_plane(self, t: int, z: int) -> np.ndarray:
        lay = self.layout
        with tifffile_messages() as messages:
            paged = PagedArray(self.handle, self.series, lay.lead_shape, lay.page_shape)
            plane = lay.plan.read_plane(paged, t, z)
        raise_if_damaged(self.path, messages)
        if lay.keep_channels is not None:
            plane = plane[: lay.keep_channels]
        return plane


def axes_and_shape(plan: AxisPlan, n_channels: int) -> tuple[str, tuple[int, ...]]:
    """The plan's axes and shape with C replaced by ``n_channels`` (dropped when 1)."""
    axes, shape = [], []
    for axis, size in zip(plan.axes, plan.shape, strict=True):
        if axis == "C":
            size = n_channels
            if size == 1:
                continue
        axes.append(axis)
        shape.append(size)
    if "C" not in axes and n_channels > 1:
        i = axes.index("Y")
        axes.insert(i, "C")
        shape.insert(i, n_channels)
    return "".join(axes), tuple(shape)


def series_layout(tif: Any, series: Any) -> _Layout:
    """How a tifffile series maps onto pages and onto T, Z, C, Y, X."""
    keyframe = series.keyframe
    page_shape, page_axes = tuple(keyframe.shape), keyframe.axes
    shape, axes = tuple(series.shape), series.axes
    npage = len(page_shape)
    if shape[len(shape) - npage:] != page_shape or not axes.endswith(page_axes):
        # squeezed shapes disagree: split the unsqueezed series shape at the page boundary
        shape, axes = tuple(series.get_shape(False)), series.get_axes(False)
        n_pages, page_size = len(series), int(np.prod(page_shape))
        split = [k for k in range(len(shape) + 1)
                 if np.prod(shape[:k]) == n_pages and np.prod(shape[k:]) == page_size]
        if not split:
            raise ValueError(f"cannot map series axes {axes} {shape} onto pages {page_shape}")
        npage = len(shape) - split[-1]
        page_shape = shape[split[-1]:]
    plan = AxisPlan.build(axes, shape)
    keep = None
    samples = [n for a, n in zip(axes, shape, strict=True) if a == "S"]
    other_c = [n for a, n in zip(axes, shape, strict=True) if a == "C" and n > 1]
    photometric = int(getattr(keyframe, "photometric", -1))
    if samples and samples[0] == 4 and not other_c and photometric == 2:  # RGB + alpha
        keep = 3
    return _Layout(plan, shape[: len(shape) - npage], page_shape, keep)


def resolution_um(page: Any, unit: str | None) -> tuple[float, float] | None:
    """(y, x) pixel size in micrometres from the resolution tags and a unit, if sane."""
    per_unit = unit_to_um(unit)
    if per_unit is None:
        return None
    sizes = []
    for tag in ("YResolution", "XResolution"):
        entry = page.tags.get(tag)
        if entry is None:
            return None
        value = entry.value
        num, den = (value if isinstance(value, tuple) else (value, 1))[:2]
        if not num or not den:
            return None
        sizes.append(per_unit * float(den) / float(num))
    return (sizes[0], sizes[1])


SECONDS = {"s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0, "ms": 1e-3, "msec": 1e-3,
           "min": 60.0, "minute": 60.0, "minutes": 60.0, "h": 3600.0, "hr": 3600.0,
           "hour": 3600.0, "hours": 3600.0}


def imagej_steps(ij: dict, size_z: int, size_t: int) -> dict:
    """``z_step`` (µm, ImageJ's ``spacing`` in the image ``unit``) and ``time_interval`` (s,
    ImageJ's ``finterval`` in ``tunit``, seconds by default) of a hyperstack, when given."""
    out: dict = {}
    per_unit = unit_to_um(ij.get("unit"))
    try:
        spacing = float(ij.get("spacing") or 0.0)
        if size_z > 1 and spacing > 0 and per_unit:
            out["z_step"] = spacing * per_unit
        interval = float(ij.get("finterval") or 0.0)
        factor = SECONDS.get(str(ij.get("tunit") or "s").strip().lower())
        if size_t > 1 and interval > 0 and factor:
            out["time_interval"] = interval * factor
    except (TypeError, ValueError):
        log.debug("unreadable ImageJ spacing/finterval in %r", ij)
    return out


def imagej_channel_names(labels: Any, n_channels: int) -> list[str]:
    """ImageJ slice labels as channel names when they repeat with the channel period.

    ImageJ stores one label per plane (C fastest); labels that are the same for every Z/T
    of a channel name the channels, anything else (per-slice notes) is not a channel name.
    """
    if not isinstance(labels, list) or n_channels < 1 or not labels:
        return []
    if len(labels) % n_channels:
        return []
    names = [str(label) for label in labels[:n_channels]]
    if any(str(label) != names[i % n_channels] for i, label in enumerate(labels)):
        return []
    return names if any(names) else []


@register_reader
class TiffReader(ImageReader):
    name = "tiff"
    label = "TIFF"
    extensions = (".tif", ".tiff", ".btf", ".tf8")
    magic = TIFF_MAGIC
    priority = 0

    def open(self, path: Path, series: int = 0) -> Image:
        import tifffile

        with tifffile_messages() as messages:
            tif = tifffile.TiffFile(path)
            try:
                return self._open(tif, path, series, messages)
            except BaseException:
                tif.close()
                raise

    def _open(self, tif: Any, path: Path, series: int, messages: list[str]) -> Image:
        if series == 0:
            truncated = imagej_truncated(tif, path)
            if truncated is not None:
                tif.close()
                return truncated
        n_series = len(tif.series)
        raise_if_damaged(path, messages)
        check_series(path, series, n_series)
        tseries = tif.series[series]
        check_data_extent(path, tseries)
        layout = series_layout(tif, tseries)
        meta = self.metadata(tif, tseries, series, layout)
        raise_if_damaged(path, messages)
        meta.setdefault("warnings", []).extend(messages)
        n_channels = layout.keep_channels or layout.plan.size("C")
        axes, shape = axes_and_shape(layout.plan, n_channels)
        source = TiffSource(path, series, layout)
        source.adopt(tif)
        return Image(
            path=path, axes=axes, shape=shape, dtype=tseries.dtype, source=source,
            series=series, n_series=len(tif.series), format=self.name,
            series_names=[s.name or f"series {i}" for i, s in enumerate(tif.series)],
            **meta,
        )

    def metadata(self, tif: Any, tseries: Any, series: int, layout: _Layout) -> dict:
        """Channel names and pixel size (ImageJ metadata or centimetre resolution tags)."""
        page = tseries.keyframe
        ij = tif.imagej_metadata if tif.is_imagej else None
        names: list[str] = []
        extra: dict = {}
        if ij:
            names = imagej_channel_names(ij.get("Labels"), layout.plan.size("C"))
            pixel_size = resolution_um(page, ij.get("unit"))
            extra = imagej_steps(ij, layout.plan.size("Z"), layout.plan.size("T"))
        else:
            unit = getattr(page.tags.get("ResolutionUnit"), "value", None)
            pixel_size = resolution_um(page, "cm") if int(unit or 0) == 3 else None
        return {"channel_names": names, "pixel_size": pixel_size, **extra}
