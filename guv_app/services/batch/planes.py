"""Planes: the unit of every batch. A plane is (series, t, z) of one image file.

A file with S series, T time points and Z slices has S x T x Z planes, each a (C, Y, X)
image (``cellpose_io.Image.plane``). Selections (``--series``, ``--t``, ``--z`` in the CLI,
the same fields in the Analyzer) are parsed by :func:`parse_selection` into a
:class:`Selection`; :func:`list_planes` applies them to the files.

Selection syntax (indices start at 0, like Cellpose, napari and OME):

* ``""`` or ``all`` -- every index;
* ``5`` -- one index; ``0-99`` -- an inclusive range (as in ImageJ's "Make Substack");
* ``::10``, ``10:50:2`` -- a Python slice (stop excluded), e.g. every 10th frame;
* ``1,3,5`` and mixtures such as ``0-9,20,40:100:10`` -- the union, in increasing order.

Indices past a file's size are ignored for that file (a folder of movies of different
lengths shares one selection); a file where nothing is left is reported, not an error.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)


class SelectionError(ValueError):
    """A selection text that does not parse; the message names the text and the problem."""


@dataclass(frozen=True)
class Selection:
    """Parsed plane selection along one axis: ``indices(size)`` gives the chosen indices."""

    text: str = ""
    points: tuple[int, ...] = ()
    slices: tuple[tuple[int | None, int | None, int | None], ...] = ()
    everything: bool = True

    def indices(self, size: int) -> list[int]:
        """The selected indices below ``size``, sorted and without repeats."""
        if self.everything:
            return list(range(size))
        chosen = {i for i in self.points if 0 <= i < size}
        for start, stop, step in self.slices:
            chosen.update(range(size)[slice(start, stop, step)])
        return sorted(chosen)

    def __str__(self) -> str:
        return self.text or "all"


ALL = Selection()


def _int(text: str, whole: str, axis: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise SelectionError(f"{axis} selection {whole!r}: {text!r} is not a whole number") from None


def parse_selection(text: str | None, axis: str = "plane") -> Selection:
    """Parse ``0``, ``0-99``, ``::10``, ``1,3,5`` (or a mixture); see the module docstring.

    Raises :class:`SelectionError` (a one-line message naming ``axis``) for bad text.
    """
    whole = (text or "").strip()
    if whole.lower() in ("", "all", ":"):
        return ALL
    points: list[int] = []
    slices: list[tuple[int | None, int | None, int | None]] = []
    for part in whole.replace(" ", "").split(","):
        if not part:
            raise SelectionError(f"{axis} selection {whole!r}: empty item between commas")
        if ":" in part:
            bits = part.split(":")
            if len(bits) > 3:
                raise SelectionError(f"{axis} selection {whole!r}: {part!r} has too many ':'")
            values = [None if b == "" else _int(b, whole, axis) for b in bits] + [None] * 3
            start, stop, step = values[:3]
            if step is not None and step <= 0:
                raise SelectionError(f"{axis} selection {whole!r}: step must be > 0")
            slices.append((start, stop, step))
        elif "-" in part[1:]:
            first, _, last = part.partition("-") if not part.startswith("-") else ("", "", "")
            lo, hi = _int(first, whole, axis), _int(last, whole, axis)
            if lo < 0 or hi < lo:
                raise SelectionError(f"{axis} selection {whole!r}: range {part!r} must be "
                                     "low-high with 0 <= low <= high")
            slices.append((lo, hi + 1, None))
        else:
            value = _int(part, whole, axis)
            if value < 0:
                raise SelectionError(f"{axis} selection {whole!r}: {value} is negative")
            points.append(value)
    return Selection(whole, tuple(points), tuple(slices), everything=False)


@dataclass(frozen=True)
class PlaneSelection:
    """The three selections of a run (series, t, z); the default selects every plane."""

    series: Selection = ALL
    t: Selection = ALL
    z: Selection = ALL

    @classmethod
    def parse(cls, series: str | None = None, t: str | None = None,
              z: str | None = None) -> PlaneSelection:
        """From the three texts (``--series``, ``--t``, ``--z``); raises SelectionError."""
        return cls(parse_selection(series, "series"), parse_selection(t, "t"),
                   parse_selection(z, "z"))

    @property
    def everything(self) -> bool:
        return self.series.everything and self.t.everything and self.z.everything


@dataclass(frozen=True)
class Plane:
    """One plane of one file; ``size_t``/``size_z`` are its series' sizes (they decide the
    file names: a single-plane series keeps Cellpose's ``<stem>_seg.npy``).

    ``pixel_size_um`` is (y, x) in µm, ``time_s`` the time of this time point from the
    first in s and ``z_um`` this slice's position from the first in µm (``Image.time_of``,
    ``Image.z_of``), each None when the file does not say.
    """

    image: str
    series: int = 0
    t: int = 0
    z: int = 0
    size_t: int = 1
    size_z: int = 1
    pixel_size_um: tuple[float, float] | None = None
    time_s: float | None = None
    z_um: float | None = None

    @property
    def single(self) -> bool:
        """True when the series has only this plane."""
        return self.size_t == 1 and self.size_z == 1

    @property
    def key(self) -> tuple[str, int, int, int]:
        return (str(Path(self.image).resolve()), self.series, self.t, self.z)

    @property
    def label(self) -> str:
        """``movie.nd2 s0 t3 z0`` (just the file name for a single-plane, single-series file)."""
        name = Path(self.image).name
        if self.single and self.series == 0:
            return name
        z = "z all (3-D)" if self.z < 0 else f"z{self.z}"
        return f"{name} s{self.series} t{self.t} {z}"

    def stack_file_for(self, suffix: str, folder: str | os.PathLike | None = None) -> Path:
        """The file of this plane's whole Z stack (a 3-D result): ``<stem>[_s{S}]<suffix>``
        for a Z stack without T (the Cellpose GUI's name), ``<stem>[_s{S}]_t{T}<suffix>``
        for time point T of a movie of stacks."""
        from cellpose_io import plane_tag, seg_path_for

        path = seg_path_for(self.image, suffix, self.series)
        if self.size_t > 1:
            stem = os.path.splitext(Path(self.image).name)[0] + plane_tag(self.series)
            path = path.with_name(f"{stem}_t{self.t}{suffix}")
        return path if folder is None else Path(folder) / path.name

    @property
    def where(self) -> str:
        """The file's path, plus ``s0 t3 z0`` for a plane of a multi-plane file (messages)."""
        if self.single and self.series == 0:
            return str(self.image)
        return f"{self.image} s{self.series} t{self.t} z{self.z}"

    def file_for(self, suffix: str, folder: str | os.PathLike | None = None) -> Path:
        """This plane's label/prediction file (``cellpose_io.seg_path_for`` naming), beside
        the image or in ``folder``."""
        from cellpose_io import seg_path_for

        if self.single:
            path = seg_path_for(self.image, suffix, self.series)
        else:
            path = seg_path_for(self.image, suffix, self.series, t=self.t, z=self.z)
        return path if folder is None else Path(folder) / path.name


@dataclass
class PlaneListing:
    """Planes of some files and the files that gave none (with the reason)."""

    planes: list[Plane]
    problems: list[tuple[str, str]]  # (file, one-line reason): unreadable
    n_files: int = 0
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # nothing selected


def planes_of(path: str | os.PathLike, selection: PlaneSelection = PlaneSelection()
              ) -> list[Plane]:
    """The selected planes of one file, series-major then t then z.

    Raises ``cellpose_io.CellposeIOError`` when the file cannot be opened.
    """
    import cellpose_io

    first = cellpose_io.read_image(path)
    try:
        n_series = first.n_series
        planes: list[Plane] = []
        for series in selection.series.indices(n_series):
            image = first if series == first.series else cellpose_io.read_image(path, series)
            try:
                for t in selection.t.indices(image.size_t):
                    for z in selection.z.indices(image.size_z):
                        planes.append(Plane(
                            str(path), series, t, z, image.size_t, image.size_z,
                            image.pixel_size, image.time_of(t), image.z_of(z)))
            finally:
                if image is not first:
                    image.close()
        return planes
    finally:
        first.close()


def list_planes(paths, selection: PlaneSelection = PlaneSelection()) -> PlaneListing:
    """Every selected plane of every file; unreadable files are listed in ``problems`` and
    files where the selection leaves nothing in ``unmatched`` (the others go on)."""
    from cellpose_io import CellposeIOError

    planes: list[Plane] = []
    problems: list[tuple[str, str]] = []
    unmatched: list[tuple[str, str]] = []
    paths = list(paths)
    for path in paths:
        try:
            found = planes_of(path, selection)
        except CellposeIOError as exc:
            problems.append((str(path), str(exc)))
            continue
        if not found:
            unmatched.append((str(path), f"no plane matches series={selection.series} "
                                         f"t={selection.t} z={selection.z}"))
        planes.extend(found)
    return PlaneListing(planes, problems, len(paths), unmatched)


def open_image(path: str | os.PathLike, series: int = 0):
    """The open ``cellpose_io.Image`` of one series, kept per process (see read_plane)."""
    return _open_image(str(path), int(series), os.stat(path).st_mtime_ns)


@lru_cache(maxsize=4)
def _open_image(path: str, series: int, mtime_ns: int):
    """An open ``cellpose_io.Image`` kept per process, so the planes of one file do not
    reopen it (``mtime_ns`` makes a rewritten file a new entry)."""
    import cellpose_io

    return cellpose_io.read_image(path, series)


def read_plane(plane: Plane):
    """The (C, Y, X) pixels of ``plane`` (the file stays open for its next planes).

    Raises ``cellpose_io.CellposeIOError`` (or ``OSError``/``IndexError``) when they cannot
    be read.
    """
    return open_image(plane.image, plane.series).plane(plane.t, plane.z)
