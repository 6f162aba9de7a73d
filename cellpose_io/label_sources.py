"""Which file holds an image's labels: the one rule every part of the app uses.

An image's instance labels can sit in several files at once (Cellpose conventions):

* ``<stem>_seg.npy`` beside the image (Cellpose GUI, ours), and one file per further
  labelled plane named by :func:`cellpose_io.seg.plane_tag` (``<stem>_s{S}_seg.npy``,
  ``<stem>[_s{S}]_t{T}_z{Z}_seg.npy``);
* ``<base><mask_filter>.<ext>`` beside the image or in a mask folder (for the first plane),
  where ``base`` is the stem without ``img_filter`` (Cellpose/Omnipose ``--img_filter`` / ``--mask_filter``, the
  layout QuPath and the retraining notebooks export, e.g. ``X.png`` + ``X_masks.tif``);
* ``<stem>_pred_seg.npy``: a model's prediction (never training labels by itself).

The rule (:func:`choose_labels`): for training, a ``_seg.npy`` and a mask image of the same
image must agree -- hold the same objects, or the ``_seg.npy`` records (``mcp_labels_from``)
that it was made from that very mask file (same sha256), i.e. it is the edited copy. When
they disagree nothing counts and :attr:`LabelChoice.conflict` says so; the user chooses,
and :func:`keep_aside` renames the other file to a backup. A single source counts as it is.
For measurement, ``auto`` prefers the prediction and falls back to the training labels.

File-level only: no Qt, no torch. Only the files found are read, and contents only when a
``_seg.npy`` and a mask image are both present.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cellpose_io.seg import PRED_SUFFIX, SEG_SUFFIX

log = logging.getLogger(__name__)

__all__ = [
    "CARRIES_KEY", "DEFAULT_MASK_FILTER", "PRED_SUFFIX", "SEG_SUFFIX", "USES",
    "LabelChoice", "LabelConflict", "LabelRule", "LabelSource",
    "backup_copy", "carries_marker", "choose_labels", "count_objects", "file_sha256",
    "find_label_sources", "keep_aside", "labelled_planes", "read_label_source", "same_objects", "seg_files_for",
]

DEFAULT_MASK_FILTER = "_masks"
# extra key of a _seg.npy made from a mask image: {"file": name, "sha256": hex digest}
CARRIES_KEY = "mcp_labels_from"
# what the labels are for: training labels (seg or mask), the prediction only, or
# prediction else training labels (measurement's "auto")
USES = ("training", "prediction", "auto")


@dataclass(frozen=True)
class LabelRule:
    """How label files are named (Cellpose's ``--img_filter``, ``--mask_filter``,
    ``--mask_dir``); the defaults are Cellpose's (``X.png`` + ``X_masks.tif``)."""

    mask_filter: str = DEFAULT_MASK_FILTER
    img_filter: str = ""
    mask_dir: Path | None = None
    seg_suffix: str = SEG_SUFFIX

    def base(self, image: Path) -> str:
        stem = image.stem
        if self.img_filter and stem.endswith(self.img_filter):
            return stem[: len(stem) - len(self.img_filter)]
        return stem


@dataclass(frozen=True)
class LabelSource:
    """One file holding labels of one plane of an image; ``kind``: seg, mask or pred.

    The plane is ``series`` and ``t``/``z`` (None for a single-plane series, as
    :func:`cellpose_io.seg.plane_tag` names files)."""

    path: Path
    kind: str
    series: int = 0
    t: int | None = None
    z: int | None = None

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class LabelConflict:
    """Two training sources of one image that hold different objects."""

    sources: tuple[LabelSource, LabelSource]
    n_objects: tuple[int, int]

    def describe(self) -> str:
        (a, b), (na, nb) = self.sources, self.n_objects
        return f"{a.name} ({na} objects) and {b.name} ({nb} objects) disagree"


@dataclass(frozen=True)
class LabelChoice:
    """What :func:`choose_labels` found for one image series and which file counts.

    ``chosen`` is None when nothing counts: no labels, or a ``conflict``. ``carried`` is
    the mask image a chosen ``_seg.npy`` was made from (it is not counted again).
    """

    image: Path
    series: int
    found: tuple[LabelSource, ...] = ()
    chosen: LabelSource | None = None
    conflict: LabelConflict | None = None
    carried: LabelSource | None = None
    reason: str = ""
    t: int | None = None
    z: int | None = None

    @property
    def path(self) -> Path | None:
        return None if self.chosen is None else self.chosen.path


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


def _is_image(path: Path) -> bool:
    from cellpose_io.registry import is_image_file

    return path.is_file() and is_image_file(path)


def _has_image_with_stem(folder: Path, stem: str) -> bool:
    return any(q.stem == stem and _is_image(q) for q in folder.glob(f"{_glob_escape(stem)}.*"))


def seg_files_for(
    image: str | os.PathLike, seg_suffix: str = SEG_SUFFIX
) -> list[tuple[tuple[int, int, int], Path]]:
    """``((series, t, z), label file)`` of every labelled plane of ``image``, plane order.

    Files are named by :func:`cellpose_io.seg.plane_tag`: ``<stem>_seg.npy`` (series 0, or
    the first plane of a stack as written before planes), ``_s{S}``, ``[_s{S}]_t{T}_z{Z}``.
    When a plane has both an untagged and a ``_t0_z0`` file, the tagged one counts. A file
    whose name is ``<stem><tag>.*`` of an image beside it is that image's own label file.
    """
    from cellpose_io.seg import plane_of_file

    image = Path(image)
    stem = os.path.splitext(image.name)[0]
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


def _seg_for_plane(image: Path, series: int, t: int | None, z: int | None,
                   suffix: str) -> Path | None:
    """The ``_seg.npy`` of one plane: its tagged file, else (first plane of a series) the
    untagged ``<stem>[_s{S}]_seg.npy``."""
    from cellpose_io.seg import seg_path_for

    if t is not None and z is not None:
        tagged = seg_path_for(image, suffix=suffix, series=series, t=t, z=z)
        if tagged.is_file():
            return tagged
        if (t, z) != (0, 0):
            return None
    plain = seg_path_for(image, suffix=suffix, series=series)
    return plain if plain.is_file() else None


def _first_plane(series: int, t: int | None, z: int | None) -> bool:
    return series == 0 and (t or 0) == 0 and (z or 0) == 0


def _mask_for(image: Path, rule: LabelRule) -> Path | None:
    if not rule.mask_filter and rule.mask_dir is None:
        return None
    folder = Path(rule.mask_dir) if rule.mask_dir is not None else image.parent
    want = rule.base(image) + rule.mask_filter
    candidates = sorted(p for p in folder.glob(f"{_glob_escape(want)}.*")
                        if p.stem == want and p != image and _is_image(p))
    return candidates[0] if candidates else None


def find_label_sources(
    image: str | os.PathLike, series: int = 0, rule: LabelRule | None = None,
    t: int | None = None, z: int | None = None,
) -> list[LabelSource]:
    """Every file that holds labels of plane (``series``, ``t``, ``z``) of ``image``: seg,
    mask, then pred. Mask images (``<base><mask_filter>.<ext>``) belong to the first plane
    of series 0 only (a 2-D mask of a stack labels its first plane). Nothing is read.
    """
    from cellpose_io.seg import seg_path_for

    image, rule = Path(image), rule or LabelRule()
    found: list[LabelSource] = []
    seg = _seg_for_plane(image, series, t, z, rule.seg_suffix)
    if seg is not None:
        found.append(LabelSource(seg, "seg", series, t, z))
    if _first_plane(series, t, z):
        mask = _mask_for(image, rule)
        if mask is not None:
            found.append(LabelSource(mask, "mask", series, t, z))
    pred = seg_path_for(image, suffix=PRED_SUFFIX, series=series, t=t, z=z)
    if pred.is_file():
        found.append(LabelSource(pred, "pred", series, t, z))
    return found


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes (label files, training images, model weights)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def carries_marker(mask: LabelSource | Path) -> dict[str, str]:
    """The ``mcp_labels_from`` value a ``_seg.npy`` made from ``mask`` stores."""
    path = mask.path if isinstance(mask, LabelSource) else Path(mask)
    return {"file": path.name, "sha256": file_sha256(path)}


def read_label_source(source: LabelSource | str | os.PathLike):
    """The labels of one source as :class:`~cellpose_io.seg.SegData` (a mask image gets
    unassigned classes). Raises :class:`~cellpose_io.errors.LabelReadError` naming the file."""
    from cellpose_io.label_classes import normalise_class_table
    from cellpose_io.label_images import read_label_image
    from cellpose_io.seg import SegData, load_seg

    if not isinstance(source, LabelSource):
        path = Path(source)
        source = LabelSource(path, "mask" if not path.name.endswith(".npy") else "seg")
    if source.kind in ("seg", "pred"):
        return load_seg(source.path)
    masks = read_label_image(source.path)
    max_id = int(masks.max()) if masks.size else 0
    names, colors = normalise_class_table(None, None, 0)
    return SegData(masks=masks, classes=np.zeros(max_id + 1, np.int32), class_names=names,
                   class_colors=colors, filename="", path=source.path)


def count_objects(masks: np.ndarray) -> int:
    """Number of distinct non-zero ids of an instance mask (H, W)."""
    arr = np.asarray(masks)
    return int(np.count_nonzero(np.bincount(arr.ravel().astype(np.int64))[1:])) if arr.size else 0


def same_objects(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two instance masks hold the same objects, whatever their ids are."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    fg = a > 0
    if not np.array_equal(fg, b > 0):
        return False
    va, vb = a[fg].astype(np.uint64), b[fg].astype(np.uint64)
    pairs = np.unique((va << np.uint64(32)) | vb)
    return len(pairs) == len(np.unique(va)) == len(np.unique(vb))


_RECONCILED: dict[tuple, tuple[bool, LabelConflict | None]] = {}
_RECONCILED_MAX = 4096


def _stamp(path: Path) -> tuple:
    st = path.stat()
    return (str(path), st.st_ino, st.st_size, st.st_mtime_ns)


def _reconcile(seg: LabelSource, mask: LabelSource) -> tuple[bool, LabelConflict | None]:
    """(seg carries the mask, conflict) for a seg and a mask of the same image; remembered
    while neither file changes (a folder count after every save stays cheap)."""
    try:
        key = (_stamp(seg.path), _stamp(mask.path))
    except OSError:
        return _compare(seg, mask)
    if key not in _RECONCILED:
        if len(_RECONCILED) >= _RECONCILED_MAX:
            _RECONCILED.clear()
        _RECONCILED[key] = _compare(seg, mask)
    return _RECONCILED[key]


def _compare(seg: LabelSource, mask: LabelSource) -> tuple[bool, LabelConflict | None]:
    from cellpose_io.errors import CellposeIOError

    try:
        seg_data = read_label_source(seg)
    except CellposeIOError as exc:  # the read error surfaces where the labels are used
        log.warning("%s", exc)
        return False, None
    marker = seg_data.extra.get(CARRIES_KEY)
    if isinstance(marker, dict) and marker.get("file") == mask.name:
        try:
            if marker.get("sha256") == file_sha256(mask.path):
                return True, None
        except OSError as exc:
            log.warning("%s: %s", mask.path, exc)
    try:
        mask_masks = read_label_source(mask).masks
    except CellposeIOError as exc:
        log.warning("%s", exc)
        return False, None
    if same_objects(seg_data.masks, mask_masks):
        return True, None
    return False, LabelConflict((seg, mask), (count_objects(seg_data.masks),
                                              count_objects(mask_masks)))


def choose_labels(
    image: str | os.PathLike, series: int = 0, rule: LabelRule | None = None,
    use: str = "training", t: int | None = None, z: int | None = None,
) -> LabelChoice:
    """Find the label files of plane (``series``, ``t``, ``z``) of ``image`` and say which
    one counts (``t``/``z`` None: a single-plane series).

    ``use``: ``training`` (a ``_seg.npy`` or a mask image; a disagreeing pair is a
    conflict and nothing counts), ``prediction`` (``_pred_seg.npy`` only) or ``auto``
    (the prediction, else the training labels). Raises ValueError for another ``use``.
    """
    if use not in USES:
        raise ValueError(f"use must be one of {USES}, got {use!r}")
    image, rule = Path(image), rule or LabelRule()
    found = tuple(find_label_sources(image, series, rule, t, z))
    by_kind = {s.kind: s for s in found}
    plane = {"t": t, "z": z}
    pred = by_kind.get("pred")
    if use in ("prediction", "auto") and pred is not None:
        return LabelChoice(image, series, found, pred, **plane)
    if use == "prediction":
        return LabelChoice(image, series, found, reason=f"no {image.stem}{PRED_SUFFIX}",
                           **plane)
    seg, mask = by_kind.get("seg"), by_kind.get("mask")
    if seg is not None and mask is not None:
        carries, conflict = _reconcile(seg, mask)
        if conflict is not None:
            return LabelChoice(image, series, found, conflict=conflict,
                               reason=conflict.describe() + "; choose one in the Trainer",
                               **plane)
        return LabelChoice(image, series, found, seg, carried=mask if carries else None,
                           **plane)
    if seg is not None or mask is not None:
        return LabelChoice(image, series, found, seg or mask, **plane)
    want = f"{rule.base(image)}{rule.mask_filter}.*" if rule.mask_filter else "a mask file"
    where = f" in {rule.mask_dir}" if rule.mask_dir is not None else ""
    from cellpose_io.seg import seg_path_for

    seg_name = seg_path_for(image, suffix=rule.seg_suffix, series=series).name
    return LabelChoice(image, series, found, reason=f"no labels (no {seg_name} and no "
                                                    f"{want}{where})", **plane)


def labelled_planes(image: str | os.PathLike, rule: LabelRule | None = None) -> list[LabelChoice]:
    """The choice for the first plane (seg and/or mask) and one for every further plane
    that has its own ``_seg.npy`` (series, t, z), plane order."""
    image, rule = Path(image), rule or LabelRule()
    out = [choose_labels(image, 0, rule, t=0, z=0)]
    for (series, t, z), path in seg_files_for(image, rule.seg_suffix):
        if (series, t, z) == (0, 0, 0):
            continue
        source = LabelSource(path, "seg", series, t, z)
        out.append(LabelChoice(image, series, (source,), source, t=t, z=z))
    return out


BACKUP_TAG = "bak"


def backup_copy(path: str | os.PathLike) -> Path:
    """Copy a label file to a backup beside it (``X_seg.npy.bak``, then ``.bak.1``...)
    before it is replaced; the file itself stays. Returns the backup's path."""
    from cellpose_io.atomic import copy_aside

    return copy_aside(path, BACKUP_TAG)


def keep_aside(path: str | os.PathLike) -> Path:
    """Rename a label file to a backup beside it (``X_masks.tif`` -> ``X_masks.tif.bak``,
    then ``.bak.1``...) so it no longer counts and nothing is lost; returns the new path."""
    from cellpose_io.atomic import set_aside

    return set_aside(path, BACKUP_TAG)
