"""Where the label and prediction files of an image (and of each of its planes) live.

One naming for every per-plane file, in one place: Cellpose's own ``<stem>_seg.npy`` for a
single plane (the Cellpose GUI finds it), ``_s{S}`` for series S >= 1, and ``_t{T}_z{Z}``
for a plane of a stack or movie, so one plane is written without rewriting the others.
No numpy, no Qt: used by readers of folders, the Trainer, batch runs and training discovery.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cellpose_io.suffixes import SEG_SUFFIX

__all__ = [
    "check_own_label_file", "images_sharing_labels", "parse_plane_tag", "plane_of_file",
    "plane_tag", "seg_path_for",
]


def plane_tag(series: int = 0, t: int | None = None, z: int | None = None) -> str:
    """The file-name tag of one plane: ``_s{S}`` for series S >= 1, then ``_t{T}_z{Z}`` for
    a plane of a multi-plane series (both given), nothing for a single-plane series 0.

    One naming for every per-plane file (predictions, training labels): ``movie.nd2`` plane
    t=3, z=0 -> ``movie_t3_z0_seg.npy``; series 2 of a LIF, t=0 z=5 -> ``exp_s2_t0_z5_seg.npy``.
    Numbers are not zero-padded (like the ``_s{k}`` series tag).
    """
    if series < 0:
        raise ValueError(f"series must be >= 0, got {series}")
    tag = f"_s{int(series)}" if series else ""
    if (t is None) != (z is None):
        raise ValueError("give both t and z for a plane of a multi-plane series, or neither")
    if t is not None and z is not None:
        if t < 0 or z < 0:
            raise ValueError(f"plane t={t} z={z}: indices must be >= 0")
        tag += f"_t{int(t)}_z{int(z)}"
    return tag


def seg_path_for(
    image_path: str | os.PathLike, suffix: str = SEG_SUFFIX, series: int = 0,
    t: int | None = None, z: int | None = None,
) -> Path:
    """Where the label file of ``image_path`` (series ``series``, plane ``t``/``z``) lives.

    Series 0 uses the Cellpose GUI's own naming: upstream drops only the last extension, so
    ``cells.ome.tif`` -> ``cells.ome_seg.npy``; we do the same so the Cellpose GUI finds our
    files and we find its files. Series k >= 1 of a multi-series file (LIF, CZI scenes...)
    get ``<stem>_s{k}<suffix>`` so every series keeps its own labels; a plane of a
    multi-plane series (give ``t`` and ``z``) gets ``<stem>[_s{k}]_t{T}_z{Z}<suffix>``, so
    one plane is written without rewriting the others (see :func:`plane_tag`).
    """
    image_path = Path(image_path)
    tag = plane_tag(series, t, z)
    return image_path.with_name(os.path.splitext(image_path.name)[0] + tag + suffix)


def images_sharing_labels(image_path: str | os.PathLike) -> list[Path]:
    """Other images beside ``image_path`` whose label files would have the same names
    (``cells.tif`` and ``cells.png`` both map to ``cells_seg.npy``), sorted by name.

    Cellpose names label files by dropping the last extension, so such images would share
    one label and one prediction file silently; callers refuse or skip them instead.
    """
    from cellpose_io.registry import is_image_file

    image = Path(image_path)
    stem = os.path.splitext(image.name)[0]
    escaped = "".join(f"[{c}]" if c in "*?[]" else c for c in stem)
    try:
        candidates = list(image.parent.glob(f"{escaped}.*"))
    except OSError:
        return []
    return sorted(p for p in candidates
                  if p.name != image.name and os.path.splitext(p.name)[0] == stem
                  and is_image_file(p) and p.is_file())


def check_own_label_file(image_path: str | os.PathLike, target: Path) -> None:
    """Raise ValueError when ``target`` (a label file beside ``image_path``) would also be the
    label file of another image that differs only in extension (see
    :func:`images_sharing_labels`)."""
    image = Path(image_path)
    stem = os.path.splitext(image.name)[0]
    if target.parent.absolute() != image.parent.absolute() or not target.name.startswith(stem):
        return  # saved elsewhere (an output folder) or under a name of the caller's own
    others = images_sharing_labels(image)
    if others:
        raise ValueError(
            f"{image}: {image.name} and {others[0].name} would share the label file "
            f"{target.name}; rename one of the images so each keeps its own labels"
        )


_PLANE_TAG = re.compile(r"(?:_s([1-9][0-9]*))?(?:_t(0|[1-9][0-9]*)_z(0|[1-9][0-9]*))?")


def parse_plane_tag(tag: str) -> tuple[int, int | None, int | None] | None:
    """The (series, t, z) a :func:`plane_tag` names, or None when ``tag`` is not a tag.

    ``""`` -> (0, None, None); ``"_s2"`` -> (2, None, None); ``"_t3_z0"`` -> (0, 3, 0);
    ``"_s2_t0_z5"`` -> (2, 0, 5). ``t``/``z`` are None for a single-plane series' file.
    """
    match = _PLANE_TAG.fullmatch(tag)
    if match is None:
        return None
    series, t, z = match.groups()
    return (int(series or 0), None if t is None else int(t), None if z is None else int(z))


def plane_of_file(name: str, stem: str, suffix: str = SEG_SUFFIX) -> tuple[int, int | None, int | None] | None:
    """The plane of file ``name`` if it is ``<stem><plane tag><suffix>``, else None."""
    if len(name) < len(stem) + len(suffix) or not (name.startswith(stem) and name.endswith(suffix)):
        return None
    return parse_plane_tag(name[len(stem): len(name) - len(suffix)])
