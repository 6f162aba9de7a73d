"""PerkinElmer/Evotec Opera ``.flex`` reader: a TIFF whose first page carries XML (tag 65200).

Layout, following what Bio-Formats reads from the same XML:

* one ``<Array Name=... Factor=...>`` per page, in page order; pages sharing a name are one
  channel (channel names = the array names, in first-seen order);
* ``<Field No=...>`` elements count the fields (each field is one series, "field N");
  ``<Plane No=...>`` elements count the Z planes;
* pages run field by field, and within a field C fastest, then Z, then T
  (T = pages / (fields * Z * C));
* ``ImageResolutionX`` / ``ImageResolutionY`` give the pixel size in metres;
* an Array ``Factor`` other than 1 scales that page's values (the file stores them reduced);
  such files are returned as float32 with the factor applied.

When the XML is missing or does not add up to the page count, the file is read as a plain
multi-page TIFF and ``Image.warnings`` says so.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cellpose_io.image import Image, PlaneSource
from cellpose_io.readers.tiff import (
    TIFF_MAGIC,
    TiffReader,
    raise_if_damaged,
    tifffile_messages,
)
from cellpose_io.registry import check_series, register_reader

log = logging.getLogger(__name__)

FLEX_TAG = 65200


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@dataclass(frozen=True)
class FlexLayout:
    n_fields: int
    size_t: int
    size_z: int
    channel_names: tuple[str, ...]
    factors: tuple[float, ...]  # one per page
    pixel_size: tuple[float, float] | None

    @property
    def n_channels(self) -> int:
        return len(self.channel_names)

    @property
    def pages_per_field(self) -> int:
        return self.size_t * self.size_z * self.n_channels

    def page(self, field: int, t: int, z: int, c: int) -> int:
        return field * self.pages_per_field + (t * self.size_z + z) * self.n_channels + c


def parse_flex_xml(xml: str, n_pages: int) -> FlexLayout:
    """The page layout a Flex XML describes; ValueError when it does not fit ``n_pages``."""
    root = ET.fromstring(xml)
    arrays = [el for el in root.iter() if _local(el.tag) == "Array"]
    names = [el.get("Name") or "" for el in arrays]
    factors = [float(el.get("Factor") or 1.0) for el in arrays]
    if len(arrays) != n_pages:
        raise ValueError(f"XML lists {len(arrays)} arrays for {n_pages} pages")
    channels = tuple(dict.fromkeys(names))
    fields = {el.get("No") for el in root.iter() if _local(el.tag) == "Field"}
    planes = {el.get("No") for el in root.iter() if _local(el.tag) == "Plane"}
    n_fields, size_z = max(1, len(fields)), max(1, len(planes))
    per_t = n_fields * size_z * len(channels)
    if n_pages % per_t:
        raise ValueError(
            f"{n_pages} pages do not split into {n_fields} fields x {size_z} planes x "
            f"{len(channels)} channels"
        )
    layout = FlexLayout(n_fields, n_pages // per_t, size_z, channels, tuple(factors), None)
    for i in range(n_pages):  # the names must repeat in channel order
        if names[i] != channels[i % len(channels)]:
            raise ValueError(f"page {i} is array {names[i]!r}, expected channel order {channels}")
    resolution = {}
    for el in root.iter():
        tag = _local(el.tag)
        if tag in ("ImageResolutionX", "ImageResolutionY") and tag not in resolution:
            try:
                resolution[tag] = float(el.text or "") * 1e6  # metres -> µm
            except ValueError:
                pass
    if len(resolution) == 2 and all(v > 0 for v in resolution.values()):
        layout = FlexLayout(layout.n_fields, layout.size_t, layout.size_z, channels,
                            layout.factors,
                            (resolution["ImageResolutionY"], resolution["ImageResolutionX"]))
    return layout


class FlexSource(PlaneSource):
    def __init__(self, path: Path, field: int, layout: FlexLayout, dtype: np.dtype) -> None:
        super().__init__(path)
        self.field, self.layout, self.dtype = field, layout, dtype

    def open_handle(self) -> Any:
        import tifffile

        return tifffile.TiffFile(self.path)

    def read_plane(self, t: int, z: int) -> np.ndarray:
        lay = self.layout
        pages = [lay.page(self.field, t, z, c) for c in range(lay.n_channels)]
        with tifffile_messages() as messages:
            data = np.asarray(self.handle.asarray(key=pages))
        raise_if_damaged(self.path, messages)
        data = data.reshape((len(pages),) + data.shape[-2:])
        factors = np.array([lay.factors[p] for p in pages], dtype=np.float32)
        if np.all(factors == 1.0):
            return data.astype(self.dtype, copy=False)
        return data.astype(np.float32) * factors[:, None, None]


@register_reader
class FlexReader(TiffReader):
    name = "flex"
    label = "Opera Flex"
    extensions = (".flex",)
    magic = TIFF_MAGIC
    priority = 10

    def sniff(self, path: Path, head: bytes) -> bool:
        """Only files named ``.flex``: any other TIFF is a plain TIFF or OME-TIFF."""
        return self.matches_magic(head) and self.matches_extension(path)

    def open(self, path: Path, series: int = 0) -> Image:
        import tifffile

        with tifffile_messages() as messages, tifffile.TiffFile(path) as tif:
            n_pages = len(tif.pages)
            first = tif.pages.first
            tag = first.tags.get(FLEX_TAG)
            xml = tag.value if tag is not None else None
            page_shape, dtype = tuple(first.shape), np.dtype(first.dtype)
        raise_if_damaged(path, messages)
        if isinstance(xml, bytes):
            xml = xml.decode("utf-8", errors="replace")
        try:
            if not xml:
                raise ValueError(f"no Flex XML (TIFF tag {FLEX_TAG})")
            if len(page_shape) != 2:
                raise ValueError(f"pages of shape {page_shape} are not single-channel planes")
            layout = parse_flex_xml(xml, n_pages)
        except (ValueError, ET.ParseError) as exc:
            warning = f"Flex metadata not usable ({exc}); read as a plain multi-page TIFF"
            log.warning("%s: %s", path, warning)
            image = super().open(path, series)
            image.format = self.name
            image.warnings.append(warning)
            return image
        check_series(path, series, layout.n_fields)
        if any(f != 1.0 for f in layout.factors):
            dtype = np.dtype(np.float32)
        axes, shape = "", []
        for axis, size in (("T", layout.size_t), ("Z", layout.size_z), ("C", layout.n_channels)):
            if size > 1:
                axes += axis
                shape.append(size)
        return Image(
            path=path, axes=axes + "YX", shape=(*shape, *page_shape), dtype=dtype,
            source=FlexSource(path, series, layout, dtype),
            channel_names=list(layout.channel_names), pixel_size=layout.pixel_size,
            series=series, n_series=layout.n_fields,
            series_names=[f"field {i + 1}" for i in range(layout.n_fields)], format=self.name,
        )
