"""Find which images in a folder have labels, the way Cellpose users lay them out.

Two conventions are accepted, checked in this order for every image:

1. ``<image stem>_seg.npy`` beside the image (ours, Cellpose's, MultiCellPose 0.9's), and
   one file per further labelled plane (series, t, z) named by ``cellpose_io.plane_tag``
   (``<stem>_s{S}_seg.npy``, ``<stem>[_s{S}]_t{T}_z{Z}_seg.npy``): every labelled plane is
   one pair;
2. ``<base><mask_filter>.<ext>`` beside the image (or in ``mask_dir``), where ``base`` is the
   image stem without ``img_filter`` (Cellpose/Omnipose ``--img_filter``/``--mask_filter``).

Nothing is read here except file names: the report says which images were paired and which
were skipped and why, so a user sees at once why an image did not count.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from cellpose_io.seg import SEG_SUFFIX  # the one definition

log = logging.getLogger(__name__)
DEFAULT_MASK_FILTER = "_masks"
# Derived files other tools write beside images: never treat them as training images.
_DERIVED_SUFFIXES = ("_flows", "_cp_masks", "_cp_output", "_outlines")


@dataclass(frozen=True)
class LabelledPair:
    """One labelled plane of an image and the file holding its labels (``kind`` "seg"/"mask")."""

    image: Path
    labels: Path
    kind: str
    series: int = 0  # which series of a multi-series file (LIF, CZI...) the labels belong to
    t: int = 0  # time point and z slice of that series (0-based, as Image.plane(t, z))
    z: int = 0


@dataclass(frozen=True)
class Skipped:
    """A file that was left out of a training set, and why (shown to the user)."""

    path: Path
    reason: str


@dataclass
class DiscoveryReport:
    """What :func:`find_labelled_images` found: usable pairs and skipped files."""

    pairs: list[LabelledPair] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.pairs)} labelled image(s), {len(self.skipped)} skipped"


def _is_image(path: Path) -> bool:
    from cellpose_io import is_image_file

    return path.is_file() and is_image_file(path)


def _folders(folder: Path, subfolders: bool) -> list[Path]:
    found = [folder]
    if subfolders:
        found += sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    return found


def _mask_for(image: Path, base: str, mask_filter: str, mask_dir: Path | None) -> Path | None:
    where = [mask_dir] if mask_dir is not None else [image.parent]
    for folder in where:
        candidates = sorted(
            p for p in folder.glob(f"{_glob_escape(base + mask_filter)}.*")
            if p.stem == base + mask_filter and p != image and _is_image(p)
        )
        if candidates:
            return candidates[0]
    return None


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


def _has_image_with_stem(folder: Path, stem: str) -> bool:
    return any(q.stem == stem and _is_image(q) for q in folder.glob(f"{_glob_escape(stem)}.*"))


def seg_files_for(
    image: str | Path, seg_suffix: str = SEG_SUFFIX
) -> list[tuple[tuple[int, int, int], Path]]:
    """``((series, t, z), label file)`` of every labelled plane of ``image``, plane order.

    Files are named by ``cellpose_io.plane_tag``: ``<stem>_seg.npy`` (series 0, or a 2-D
    file for the first plane of a stack, as the Trainer wrote before planes), ``_s{S}``,
    ``[_s{S}]_t{T}_z{Z}``. When a plane has both an untagged and a ``_t0_z0`` file, the
    tagged one counts. A file whose name is ``<stem><tag>.*`` of an image beside it is that
    image's own label file, not a plane of this one.
    """
    from cellpose_io.seg import plane_of_file

    image = Path(image)
    stem = image.stem
    found: dict[tuple[int, int, int], tuple[bool, Path]] = {}
    for path in image.parent.glob(f"{_glob_escape(stem)}*{_glob_escape(seg_suffix)}"):
        plane = plane_of_file(path.name, stem, seg_suffix)
        if plane is None or not path.is_file():
            continue
        tag = path.name[len(stem): len(path.name) - len(seg_suffix)]
        if tag and _has_image_with_stem(image.parent, stem + tag):
            continue
        series, t, z = plane
        key, tagged = (series, t or 0, z or 0), t is not None
        if key not in found or (tagged and not found[key][0]):
            found[key] = (tagged, path)
    return sorted((key, path) for key, (_, path) in found.items())


def find_labelled_images(
    folder: str | Path,
    *,
    img_filter: str = "",
    mask_filter: str = DEFAULT_MASK_FILTER,
    mask_dir: str | Path | None = None,
    subfolders: bool = False,
    seg_suffix: str = SEG_SUFFIX,
) -> DiscoveryReport:
    """Pair every image in ``folder`` (and one level down if ``subfolders``) with its labels.

    ``img_filter`` keeps only images whose stem ends with it (Cellpose convention) and is
    removed from the stem to find ``<base><mask_filter>`` files. Mask and label files
    themselves are never listed as images. Raises ``FileNotFoundError`` for a missing folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: training folder does not exist")
    mdir = Path(mask_dir) if mask_dir is not None else None
    if mdir is not None and not mdir.is_dir():
        raise FileNotFoundError(f"{mdir}: mask folder does not exist")
    report = DiscoveryReport()
    for sub in _folders(folder, subfolders):
        entries = sorted(sub.iterdir())
        stems = Counter(p.stem for p in entries if not p.name.startswith(".") and _is_image(p))
        for path in entries:
            if path.name.startswith(".") or not _is_image(path):
                continue
            stem = path.stem
            if mask_filter and stem.endswith(mask_filter) and mdir is None:
                continue  # a mask file, found through its image
            if stem.endswith(_DERIVED_SUFFIXES):
                continue
            if img_filter and not stem.endswith(img_filter):
                continue
            if stems[path.stem] > 1:  # cells.tif + cells.png: one cells_seg.npy for both
                report.skipped.append(Skipped(
                    path, f"another image is also called {path.stem}.*; they would share "
                    f"{path.stem}{seg_suffix} -- rename one so each has its own labels"))
                continue
            base = stem[: len(stem) - len(img_filter)] if img_filter else stem
            seg = path.with_name(stem + seg_suffix)
            segs = seg_files_for(path, seg_suffix)
            mask = None if segs and segs[0][0] == (0, 0, 0) else _mask_for(
                path, base, mask_filter, mdir)
            if mask is not None:
                report.pairs.append(LabelledPair(path, mask, "mask"))
            report.pairs.extend(
                LabelledPair(path, f, "seg", *plane) for plane, f in segs)
            if mask is None and not segs:
                report.skipped.append(
                    Skipped(path, f"no labels (no {seg.name} and no {base}{mask_filter}.*)")
                )
    log.info("%s: %s", folder, report.summary())
    return report
