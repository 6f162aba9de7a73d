"""PNG, JPEG and BMP photos and exports (via Pillow).

Colour images become 3 channels (R, G, B); an alpha channel is dropped, palette images are
expanded to RGB, grey + alpha keeps the grey. 16-bit greyscale stays uint16. Pillow reduces
16-bit *colour* PNGs to 8 bits, so those are decoded with imagecodecs instead, which keeps
uint16. Dots-per-inch values are not a microscope calibration and are not reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cellpose_io.image import Image, PlaneSource
from cellpose_io.registry import ImageReader, check_series, register_reader

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
BMP_MAGIC = b"BM"

# Pillow mode -> (channels, dtype) of what we return
_MODES: dict[str, tuple[int, str]] = {
    "1": (1, "uint8"), "L": (1, "uint8"), "LA": (1, "uint8"), "La": (1, "uint8"),
    "P": (3, "uint8"), "PA": (3, "uint8"), "RGB": (3, "uint8"), "RGBA": (3, "uint8"),
    "RGBa": (3, "uint8"), "RGBX": (3, "uint8"), "CMYK": (3, "uint8"), "YCbCr": (3, "uint8"),
    "LAB": (3, "uint8"), "HSV": (3, "uint8"), "I;16": (1, "uint16"), "I;16B": (1, "uint16"),
    "I;16L": (1, "uint16"), "I;16N": (1, "uint16"), "I": (1, "int32"), "F": (1, "float32"),
}


def _is_16bit_colour_png(head: bytes) -> bool:
    """IHDR bit depth 16 with colour type RGB (2) or RGBA (6)."""
    return head.startswith(PNG_MAGIC) and len(head) > 25 and head[24] == 16 and head[25] in (2, 6)


def _to_cyx(img: Any) -> np.ndarray:
    """A Pillow image as (C, Y, X) following the module's channel rules."""
    mode = img.mode
    if mode == "1":
        return (np.asarray(img, dtype=np.uint8) * 255)[np.newaxis]
    if mode in ("LA", "La"):
        return np.asarray(img.convert("L"))[np.newaxis]
    if _MODES[mode][0] == 3:
        if mode != "RGB":
            img = img.convert("RGB")
        return np.moveaxis(np.asarray(img), -1, 0)
    arr = np.asarray(img)
    if mode.startswith("I;16"):
        arr = arr.astype(np.uint16)
    return arr[np.newaxis]


class PillowSource(PlaneSource):
    def __init__(self, path: Path, decode_png16: bool) -> None:
        super().__init__(path)
        self.decode_png16 = decode_png16

    def read_plane(self, t: int, z: int) -> np.ndarray:
        if self.decode_png16:
            import imagecodecs

            arr = imagecodecs.png_decode(self.path.read_bytes())
            return np.moveaxis(arr[..., :3], -1, 0)
        from cellpose_io.limits import pillow_image

        with pillow_image(self.path) as img:
            img.load()
            return _to_cyx(img)


@register_reader
class PillowReader(ImageReader):
    name = "pillow"
    label = "PNG/JPEG/BMP"
    extensions = (".png", ".jpg", ".jpeg", ".bmp")
    magic = (PNG_MAGIC, JPEG_MAGIC, BMP_MAGIC)
    priority = 0

    def open(self, path: Path, series: int = 0) -> Image:
        from cellpose_io.limits import pillow_image

        check_series(path, series, 1)
        with open(path, "rb") as fh:
            head = fh.read(32)
        with pillow_image(path) as img:
            mode, (width, height) = img.mode, img.size
            if mode not in _MODES:
                raise ValueError(f"unsupported Pillow image mode {mode!r}")
            img.verify()  # checks the file's structure (PNG CRCs) without decoding pixels
        n_channels, dtype = _MODES[mode]
        png16 = _is_16bit_colour_png(head)
        if png16:
            dtype = "uint16"
        axes, shape = ("CYX", (3, height, width)) if n_channels == 3 else ("YX", (height, width))
        return Image(path=path, axes=axes, shape=shape, dtype=np.dtype(dtype),
                     source=PillowSource(path, png16), format=self.name)
