"""Instance label images (one object id per pixel) as TIFF or PNG, in and out.

TIFF holds any id up to 2**32-1 (uint16 when the ids fit, else uint32). PNG stops at 16
bits, so writing larger ids to PNG is refused instead of wrapping them. Colour images are
refused on reading: an RGB picture of labels has lost the ids.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import numpy as np

from cellpose_io.atomic import atomic_write_bytes
from cellpose_io.errors import LabelReadError
from cellpose_io.limits import check_plane_size, pillow_image

__all__ = ["LABEL_IMAGE_EXTENSIONS", "read_label_image", "write_label_image"]

log = logging.getLogger(__name__)

LABEL_IMAGE_EXTENSIONS = (".tif", ".tiff", ".png")
_MAX_LABEL = 2**32 - 1


def _extension(path: Path) -> str:
    return path.suffix.lower()


def _decode(path: Path) -> np.ndarray:
    """Decode a label image after checking its declared size against the plane limit."""
    ext = _extension(path)
    if ext in (".tif", ".tiff"):
        import tifffile

        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            check_plane_size(path, page.imagelength, page.imagewidth, LabelReadError)
            return np.asarray(tif.asarray())
    with pillow_image(path, LabelReadError) as im:
        im.load()
        return np.asarray(im)


def _to_labels(path: Path, arr: np.ndarray) -> np.ndarray:
    if arr.size == 0:
        raise LabelReadError(path, "cannot decode image: no pixel data (empty or corrupt file)")
    squeezed = arr.squeeze() if arr.ndim > 2 else arr
    if _extension(path) == ".png" and squeezed.ndim == 3 and squeezed.shape[-1] in (3, 4):
        rgb = squeezed[..., :3]
        if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
            squeezed = rgb[..., 0]
        else:
            raise LabelReadError(
                path, "is a colour (RGB) image; a label image holds one object id per pixel"
            )
    if squeezed.ndim != 2:
        raise LabelReadError(
            path, f"has shape {arr.shape}; a label image must be a single 2-D plane"
        )
    if squeezed.dtype == bool:
        squeezed = squeezed.astype(np.uint8)
    if squeezed.dtype.kind == "f":
        if not np.all(np.isfinite(squeezed)) or not np.array_equal(squeezed, np.round(squeezed)):
            raise LabelReadError(path, "holds fractional values, not object ids")
    elif squeezed.dtype.kind not in "ui":
        raise LabelReadError(path, f"has pixel type {squeezed.dtype}, not integer object ids")
    lo, hi = squeezed.min(), squeezed.max()
    if lo < 0:
        raise LabelReadError(path, f"holds a negative object id ({lo})")
    if hi > _MAX_LABEL:
        raise LabelReadError(path, f"holds object id {hi}, above the limit {_MAX_LABEL}")
    dtype = np.uint16 if hi <= np.iinfo(np.uint16).max else np.uint32
    return squeezed.astype(dtype, copy=False)


def read_label_image(path: str | os.PathLike) -> np.ndarray:
    """Read a 2-D instance label image (.tif/.tiff/.png) as uint16 or uint32 ids.

    Raises :class:`LabelReadError` naming the file for a missing, unreadable, colour,
    multi-plane, fractional or negative label image.
    """
    path = Path(path)
    if _extension(path) not in LABEL_IMAGE_EXTENSIONS:
        raise LabelReadError(
            path, f"unsupported label image type {path.suffix!r} (use .tif, .tiff or .png)"
        )
    if not path.is_file():
        raise LabelReadError(path, "file not found")
    try:
        arr = _decode(path)
    except LabelReadError:
        raise
    except Exception as exc:  # third-party decoders raise many types; name the file
        raise LabelReadError(path, f"cannot decode image ({type(exc).__name__}: {exc})") from exc
    try:
        return _to_labels(path, arr)
    except LabelReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. MemoryError converting a huge plane
        raise LabelReadError(path, f"unreadable ({type(exc).__name__}: {exc})") from exc


def write_label_image(path: str | os.PathLike, masks: np.ndarray) -> Path:
    """Write ``masks`` (H, W) as a label image, atomically; the type follows the extension.

    TIFF (zlib-compressed) is uint16 when all ids fit, else uint32. PNG is 16-bit and
    raises ValueError when an id exceeds 65535, rather than silently wrapping.
    """
    path = Path(path)
    ext = _extension(path)
    if ext not in LABEL_IMAGE_EXTENSIONS:
        raise ValueError(f"{path}: unsupported label image type {path.suffix!r}")
    arr = np.asarray(masks)
    if arr.ndim != 2:
        raise ValueError(f"{path}: masks must be 2-D (H, W), got shape {arr.shape}")
    if arr.dtype.kind not in "uib":
        raise ValueError(f"{path}: masks must be integer object ids, got {arr.dtype}")
    hi = int(arr.max()) if arr.size else 0
    if arr.size and int(arr.min()) < 0:
        raise ValueError(f"{path}: masks hold a negative id")
    if hi > _MAX_LABEL:
        raise ValueError(f"{path}: object id {hi} exceeds {_MAX_LABEL}")
    buf = io.BytesIO()
    if ext == ".png":
        if hi > np.iinfo(np.uint16).max:
            raise ValueError(
                f"{path}: object ids go up to {hi}, more than a 16-bit PNG holds "
                "(65535); save as .tif instead"
            )
        from PIL import Image as PILImage

        PILImage.fromarray(arr.astype(np.uint16)).save(buf, format="PNG")
    else:
        import tifffile

        dtype = np.uint16 if hi <= np.iinfo(np.uint16).max else np.uint32
        tifffile.imwrite(buf, arr.astype(dtype), compression="zlib")
    atomic_write_bytes(path, buf.getvalue())
    log.debug("wrote %s (max id %d)", path, hi)
    return path
