"""Find which images in a folder have labels, the way Cellpose users lay them out.

Which file holds an image's labels is decided by one rule,
:func:`cellpose_io.label_sources.choose_labels`: ``<stem>_seg.npy`` and one file per further
labelled plane (``cellpose_io.plane_tag``: ``_s{S}``, ``[_s{S}]_t{T}_z{Z}``), and
``<base><mask_filter>.<ext>`` beside the image or in ``mask_dir`` (Cellpose/Omnipose
``--img_filter``/``--mask_filter``) for the first plane. This module walks the folder and
applies it. An image whose ``_seg.npy`` and mask image disagree is skipped with both names,
never trained on one of them silently.

Only file names are read, plus the two label files of an image that has both.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from cellpose_io.label_sources import (
    DEFAULT_MASK_FILTER,
    SEG_SUFFIX,
    LabelRule,
    labelled_planes,
    seg_files_for,
)

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_MASK_FILTER", "SEG_SUFFIX", "DiscoveryReport", "LabelledPair", "Skipped",
           "find_labelled_images", "seg_files_for"]

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
    rule = LabelRule(mask_filter=mask_filter, img_filter=img_filter, mask_dir=mdir,
                     seg_suffix=seg_suffix)
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
            choices = labelled_planes(path, rule)
            for choice in choices:
                chosen = choice.chosen
                if chosen is not None:
                    report.pairs.append(LabelledPair(path, chosen.path, chosen.kind,
                                                     choice.series, choice.t or 0,
                                                     choice.z or 0))
                elif choice.conflict is not None or len(choices) == 1:
                    report.skipped.append(Skipped(path, choice.reason))
    log.info("%s: %s", folder, report.summary())
    return report
