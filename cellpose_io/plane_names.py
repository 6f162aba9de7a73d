"""The one naming scheme for per-plane files beside an image (labels, predictions).

A *plane* is (series, t, z) of an image file. Its label or prediction file is the image
name without its last extension, a plane tag, and a suffix (``_seg.npy``, ``_pred_seg.npy``):

=====================  ==================================  ==================================
plane                  tag                                 example (``movie.tif``)
=====================  ==================================  ==================================
series 0, t 0, z 0     (none)                              ``movie_seg.npy``
series S >= 1, t 0, z 0  ``_s{S}``                         ``movie_s2_seg.npy``
any other plane        ``_s{S}_t{T}_z{Z}``                 ``movie_s0_t5_z0_seg.npy``
=====================  ==================================  ==================================

Why: the first plane keeps the Cellpose GUI's own name (upstream drops only the last
extension: ``cells.ome.tif`` -> ``cells.ome_seg.npy``), so a single-plane image and its file
open in Cellpose unchanged; ``_s{S}`` is what MultiCellPose wrote for series before planes
existed, so those files keep working; every other plane names all three indices, so a name
is never ambiguous and one plane is written without touching the others. Numbers are
decimal without padding (0-based, like the readers' ``plane(t, z)``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PlaneKey", "plane_tag", "parse_plane_tag", "plane_file_for", "split_plane_file"]

_FULL_TAG = re.compile(r"_s(0|[1-9][0-9]*)_t(0|[1-9][0-9]*)_z(0|[1-9][0-9]*)")
_SERIES_TAG = re.compile(r"_s([1-9][0-9]*)")


@dataclass(frozen=True, order=True)
class PlaneKey:
    """One plane of an image file: ``series``, ``t`` and ``z`` indices, all 0-based."""

    series: int = 0
    t: int = 0
    z: int = 0

    def __post_init__(self) -> None:
        if min(self.series, self.t, self.z) < 0:
            raise ValueError(f"plane indices must be >= 0, got {self}")


def plane_tag(series: int = 0, t: int = 0, z: int = 0) -> str:
    """The file-name tag of plane (series, t, z): ``""``, ``"_s{S}"`` or ``"_s{S}_t{T}_z{Z}"``.

    Raises ``ValueError`` for a negative index.
    """
    key = PlaneKey(int(series), int(t), int(z))
    if key.t == 0 and key.z == 0:
        return f"_s{key.series}" if key.series else ""
    return f"_s{key.series}_t{key.t}_z{key.z}"


def parse_plane_tag(tag: str) -> PlaneKey | None:
    """The plane a tag names (inverse of :func:`plane_tag`), or None if ``tag`` is not one."""
    if tag == "":
        return PlaneKey()
    match = _FULL_TAG.fullmatch(tag)
    if match is not None:
        series, t, z = (int(g) for g in match.groups())
        if t == 0 and z == 0:
            return None  # that plane is written without t/z (see the table above)
        return PlaneKey(series, t, z)
    match = _SERIES_TAG.fullmatch(tag)
    if match is not None:
        return PlaneKey(int(match.group(1)))
    return None


def plane_file_for(
    image_path: str | os.PathLike, suffix: str, series: int = 0, t: int = 0, z: int = 0
) -> Path:
    """The file of plane (series, t, z) of ``image_path`` with ``suffix``, beside the image."""
    image_path = Path(image_path)
    stem = os.path.splitext(image_path.name)[0]
    return image_path.with_name(stem + plane_tag(series, t, z) + suffix)


def split_plane_file(name: str, stem: str, suffix: str) -> PlaneKey | None:
    """The plane of file ``name`` if it is ``<stem><tag><suffix>``, else None."""
    if not (name.startswith(stem) and name.endswith(suffix)) or len(name) < len(stem) + len(suffix):
        return None
    return parse_plane_tag(name[len(stem): len(name) - len(suffix)])
