"""OME-TIFF reader: axes, channel names and pixel size from the OME-XML metadata.

Chosen by content, not only by the ``.ome.tif`` name: any TIFF whose first page carries OME-XML
(Bio-Formats exports are often plain ``.tif``) is read here; an ``.ome.tif`` without OME-XML
falls back to the plain TIFF reader. tifffile builds the series (one per OME Image) from the
XML's DimensionOrder, so the pixel layout code is shared with :mod:`.tiff`.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from cellpose_io.readers.tiff import (
    TIFF_MAGIC,
    TiffReader,
    _Layout,
    tifffile_messages,
    unit_to_um,
)
from cellpose_io.registry import register_reader

log = logging.getLogger(__name__)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def ome_image_metadata(xml: str, index: int, name: str | None = None) -> dict:
    """Channel names and (y, x) pixel size in µm of OME Image ``index`` (or the one named)."""
    root = ET.fromstring(xml)
    images = _children(root, "Image")
    if name is not None:
        named = [im for im in images if im.get("Name") == name]
        if len(named) == 1:
            images, index = named, 0
    if not 0 <= index < len(images):
        return {"channel_names": [], "pixel_size": None}
    pixels = next(iter(_children(images[index], "Pixels")), None)
    if pixels is None:
        return {"channel_names": [], "pixel_size": None}
    names = [ch.get("Name") or "" for ch in _children(pixels, "Channel")]
    if not any(names):
        names = []
    sizes = []
    for axis in ("Y", "X"):
        value = pixels.get(f"PhysicalSize{axis}")
        factor = unit_to_um(pixels.get(f"PhysicalSize{axis}Unit") or "µm")
        try:
            sizes.append(float(value) * factor if value is not None and factor else None)
        except ValueError:
            sizes.append(None)
    pixel_size = (sizes[0], sizes[1]) if None not in sizes and all(sizes) else None
    return {"channel_names": names, "pixel_size": pixel_size, **_ome_steps(pixels)}


def _ome_steps(pixels: ET.Element) -> dict:
    """``z_step`` (µm, PhysicalSizeZ) and ``time_interval`` (s, TimeIncrement) when given."""
    from cellpose_io.readers.tiff import SECONDS

    out: dict = {}
    try:
        z = pixels.get("PhysicalSizeZ")
        factor = unit_to_um(pixels.get("PhysicalSizeZUnit") or "µm")
        if z is not None and factor and float(z) > 0 and int(pixels.get("SizeZ", 1)) > 1:
            out["z_step"] = float(z) * factor
        dt = pixels.get("TimeIncrement")
        per = SECONDS.get((pixels.get("TimeIncrementUnit") or "s").strip().lower())
        if dt is not None and per and float(dt) > 0 and int(pixels.get("SizeT", 1)) > 1:
            out["time_interval"] = float(dt) * per
    except ValueError:
        log.debug("unreadable OME PhysicalSizeZ/TimeIncrement")
    return out


def tiff_is_ome(path: Path) -> bool:
    """Whether the TIFF's first page holds OME-XML (parses only the first page)."""
    import tifffile

    try:
        with tifffile_messages(), tifffile.TiffFile(path) as tif:
            return bool(tif.is_ome)
    except Exception as exc:  # noqa: BLE001 - a damaged file is not OME; the TIFF reader reports it
        log.debug("%s: OME check failed: %s", path, exc)
        return False


@register_reader
class OmeTiffReader(TiffReader):
    name = "ome_tiff"
    label = "OME-TIFF"
    extensions = (".ome.tif", ".ome.tiff", ".ome.btf", ".tif", ".tiff")
    magic = TIFF_MAGIC
    priority = 10

    def sniff(self, path: Path, head: bytes) -> bool:
        return self.matches_magic(head) and tiff_is_ome(path)

    def metadata(self, tif: Any, tseries: Any, series: int, layout: _Layout) -> dict:
        xml = tif.ome_metadata
        if not xml:
            return super().metadata(tif, tseries, series, layout)
        try:
            return ome_image_metadata(xml, series, None)
        except ET.ParseError as exc:
            warning = f"unreadable OME-XML, no channel names or pixel size: {exc}"
            log.warning("%s: %s", tif.filehandle.path, warning)
            return {"channel_names": [], "pixel_size": None, "warnings": [warning]}
