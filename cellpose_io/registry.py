"""One registry of image readers, chosen by file extension and content.

Each format has one small reader class in ``cellpose_io/readers/`` that registers itself with
:func:`register_reader` when its module is imported. Reader modules import their format library
only inside ``open`` so that listing readers (and ``import cellpose_io``) stays cheap.

How a reader is chosen for a file:

1. The extension must be one a reader declares (``supported_extensions()``); anything else is
   rejected, even if its content would be readable, so folder scans stay predictable.
2. Among the readers that declare the extension (highest ``priority`` first), the first whose
   ``sniff`` accepts the file's first bytes reads it.
3. If none accepts it, the content decides: a file whose signature belongs to another format
   (e.g. a PNG renamed ``.tif``) is read by that format's reader, and the mismatch is logged and
   recorded in ``Image.warnings``. Content that matches no known signature is an error.

Every failure is an :class:`~cellpose_io.errors.ImageReadError` naming the file and the reason.
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
from pathlib import Path
from typing import ClassVar

from cellpose_io.errors import ImageReadError
from cellpose_io.image import Image, one_line
from cellpose_io.suffixes import SEG_SUFFIX

log = logging.getLogger(__name__)

HEAD_BYTES = 512

_READERS: dict[str, ImageReader] = {}
_DISCOVERED = False


class ImageReader:
    """Base class of a format reader. Subclasses set the class attributes and ``open``."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""  # human name used in error messages, e.g. "TIFF"
    extensions: ClassVar[tuple[str, ...]] = ()  # lower case with dot; may be ".ome.tif"
    magic: ClassVar[tuple[bytes, ...]] = ()  # content signatures at offset 0; () = none
    priority: ClassVar[int] = 0  # higher is asked first among readers of one extension

    def matches_extension(self, path: Path) -> bool:
        name = path.name.lower()
        return any(name.endswith(ext) for ext in self.extensions)

    def matches_magic(self, head: bytes) -> bool:
        return any(head.startswith(m) for m in self.magic)

    def sniff(self, path: Path, head: bytes) -> bool:
        """Whether this reader takes a file with these first bytes (default: its signature)."""
        return not self.magic or self.matches_magic(head)

    def open(self, path: Path, series: int = 0) -> Image:
        raise NotImplementedError


def register_reader(cls: type[ImageReader]) -> type[ImageReader]:
    """Class decorator: add one instance of ``cls`` to the registry."""
    if not cls.name or not cls.extensions:
        raise ValueError(f"reader {cls.__name__} needs a name and extensions")
    _READERS[cls.name] = cls()
    return cls


def _discover() -> None:
    """Import every module of ``cellpose_io.readers`` once (they register themselves)."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    package = importlib.import_module("cellpose_io.readers")
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{info.name}")
    _DISCOVERED = True


def readers() -> list[ImageReader]:
    """All registered readers, highest priority first."""
    _discover()
    return sorted(_READERS.values(), key=lambda r: (-r.priority, r.name))


def supported_extensions() -> list[str]:
    """Every extension some reader accepts (lower case, with the dot)."""
    return sorted({ext for r in readers() for ext in r.extensions})


def is_seg_file(path: str | os.PathLike) -> bool:
    return Path(path).name.lower().endswith(SEG_SUFFIX)


def is_image_file(path: str | os.PathLike) -> bool:
    """Whether the name looks like a readable image (extension only; does not open it).

    ``_seg.npy`` label files and macOS ``._`` resource-fork files are not images.
    """
    path = Path(path)
    name = path.name.lower()
    if is_seg_file(path) or name.startswith("._"):
        return False
    return any(r.matches_extension(path) for r in readers())


# Names Cellpose itself leaves out of a folder's images (``io.get_image_files``): label
# images and outputs sit beside the images they belong to.
LABEL_IMAGE_SUFFIXES = ("_masks", "_cp_masks", "_flows", "_cp_output", "_outlines")


def list_image_files(
    folder: str | os.PathLike, label_suffixes: tuple[str, ...] = LABEL_IMAGE_SUFFIXES
) -> list[Path]:
    """The images directly in ``folder``, sorted by name: hidden files, ``_seg.npy`` files
    and label images named ``<stem><suffix>.<ext>`` (``_masks`` ...) are not images."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder}: not a folder")
    return [p for p in sorted(folder.iterdir())
            if p.is_file() and not p.name.startswith(".") and is_image_file(p)
            and not _stem(p).endswith(label_suffixes)]


def _stem(path: Path) -> str:
    """File name without its image extension (``a.ome.tif`` -> ``a``)."""
    name = path.name
    for suffix in (".ome.tiff", ".ome.tif"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _read_head(path: Path) -> bytes:
    try:
        if not path.exists():
            raise ImageReadError(path, "file not found")
        if path.is_dir():
            raise ImageReadError(path, "is a folder, not an image file")
        size = path.stat().st_size
        if size == 0:
            raise ImageReadError(path, "file is empty (0 bytes)")
        with open(path, "rb") as fh:
            return fh.read(HEAD_BYTES)
    except OSError as exc:
        raise ImageReadError(path, f"cannot open: {exc.strerror or one_line(exc)}") from exc


def select_reader(path: str | os.PathLike, head: bytes | None = None) -> tuple[ImageReader, str]:
    """The reader for ``path`` and a warning ('' if none) when content overrode the extension."""
    path = Path(path)
    if is_seg_file(path):
        raise ImageReadError(
            path, "is a Cellpose label file (_seg.npy), not an image; open it with load_seg"
        )
    all_readers = readers()
    by_ext = [r for r in all_readers if r.matches_extension(path)]
    if not by_ext:
        suffix = "".join(path.suffixes[-1:]) or "(none)"
        raise ImageReadError(
            path,
            f"unsupported file type {suffix!r}; supported: {', '.join(supported_extensions())}",
        )
    if head is None:
        head = _read_head(path)
    for reader in by_ext:
        if reader.sniff(path, head):
            return reader, ""
    for reader in all_readers:
        if reader.magic and reader.matches_magic(head) and reader.sniff(path, head):
            warning = (
                f"content is {reader.label}, not {by_ext[0].label} as the extension "
                f"{path.suffix!r} says; read as {reader.label}"
            )
            log.warning("%s: %s", path, warning)
            return reader, warning
    raise ImageReadError(
        path,
        f"not a valid {by_ext[0].label} file: unrecognised content "
        f"(first bytes {head[:8].hex(' ')})",
    )


def read_image(path: str | os.PathLike, series: int = 0) -> Image:
    """Open one series of an image file lazily; raises only :class:`ImageReadError`."""
    path = Path(path)
    head = _read_head(path) if not is_seg_file(path) else b""
    reader, warning = select_reader(path, head)
    try:
        image = reader.open(path, int(series))
    except ImageReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - wrap every third-party failure with the file name
        raise ImageReadError(path, f"cannot read as {reader.label}: {one_line(exc)}") from exc
    if warning:
        image.warnings.insert(0, warning)
    return image


def list_series(path: str | os.PathLike) -> list[str]:
    """Names of the series (scenes, positions, tiles) in a file; one entry for simple files."""
    image = read_image(path)
    try:
        return list(image.series_names)
    finally:
        image.close()


def check_series(path: Path, series: int, n_series: int) -> None:
    """Raise a clear error for a series index the file does not have."""
    if not 0 <= series < n_series:
        raise ImageReadError(
            path, f"series {series} does not exist (the file has {n_series} series: "
            f"0..{n_series - 1})"
        )
