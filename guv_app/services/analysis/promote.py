"""Promote predictions to training labels: copy ``_pred_seg.npy`` to ``_seg.npy``.

Two steps so a front end can ask before anything is replaced: :func:`promote_conflicts` lists
the images that already have training labels -- a ``_seg.npy`` *or* a Cellpose-style mask
image such as ``X_masks.tif`` (the app's one rule, :mod:`cellpose_io.label_sources`) -- with
how many objects each holds, then :func:`promote` copies, replacing only the images the
caller explicitly allows. Replaced label files are never deleted: they are renamed to
backups (``X_masks.tif.bak``), and :func:`undo_promote` puts them back.

Instead of replacing them, existing labels can be kept frozen and the prediction merged in
(``mode="add"``: only predicted objects that overlap none; ``mode="fill"``: predicted objects
cut to the unlabelled pixels; :mod:`guv_app.services.annotation.merge`). The merged labels
are written as the ``_seg.npy`` (keeping the label file's other keys) and the label files
of before are still kept as backups, so Undo promote restores them byte for byte.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from guv_app.services.analysis.predictions import PRED_KEYS, label_path_for, pred_path_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PromoteConflict:
    """An image whose training labels a promote would replace, and how many objects."""

    image: str
    files: tuple[str, ...]  # the label files that would stop counting (names)
    n_objects: int  # objects those files hold (the largest of them when they disagree)

    def describe(self) -> str:
        return f"{Path(self.image).name}: {self.n_objects} object(s) in {', '.join(self.files)}"


@dataclass
class PromoteResult:
    """Which images were promoted, left alone (labels exist, not allowed) or had a problem.

    ``backups`` maps each label file that was replaced to the backup it was renamed to;
    ``written`` lists the new ``_seg.npy`` files (both are what :func:`undo_promote` undoes).
    ``mode`` is how existing labels were changed (``"replace"``, ``"add"``, ``"fill"``).
    """

    promoted: list[str] = field(default_factory=list)
    kept_existing: list[str] = field(default_factory=list)
    no_prediction: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    backups: dict[str, str] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    merged: dict[str, str] = field(default_factory=dict)  # image -> what the merge did
    mode: str = "replace"


def promote_summary(result: PromoteResult, kept_hint: str = "") -> str:
    """The one-line summary of a promote, the same for the CLI and the Analyzer.

    Why here: both front ends report the same facts, and a user of either must see all of
    them -- counts of promoted, merged (with the mode and what the first merge did), kept,
    unpredicted and failed images (with the first failure message, last because it is free
    text), and how many label files of before were kept as ``.bak``. ``kept_hint`` is the
    front end's way to change the kept images (the CLI's ``--labels``), shown after their
    count. E.g. ``"2 promoted, 1 merged into their labels (add): added 3 of 5 predicted
    object(s)..., 1 kept their labels, 1 label file(s) of before kept as .bak"``.
    """
    parts = [f"{len(result.promoted)} promoted"]
    if result.merged:
        parts.append(f"{len(result.merged)} merged into their labels ({result.mode}): "
                     f"{next(iter(result.merged.values()))}")
    if result.kept_existing:
        hint = f" ({kept_hint})" if kept_hint else ""
        parts.append(f"{len(result.kept_existing)} kept their labels{hint}")
    if result.no_prediction:
        parts.append(f"{len(result.no_prediction)} without prediction")
    if result.backups:
        parts.append(f"{len(result.backups)} label file(s) of before kept as .bak")
    if result.failed:
        parts.append(f"{len(result.failed)} failed: {next(iter(result.failed.values()))}")
    return ", ".join(parts)


def _training_sources(image: Path):
    from cellpose_io.label_sources import find_label_sources

    return [s for s in find_label_sources(image) if s.kind in ("seg", "mask")]


def promote_conflicts(images: Sequence[str | os.PathLike]) -> list[PromoteConflict]:
    """Images (with a prediction) that already have training labels, with their counts.

    An unreadable label file counts as a conflict with 0 objects (it is still kept).
    """
    from cellpose_io import CellposeIOError
    from cellpose_io.label_sources import count_objects, read_label_source

    out = []
    for p in images:
        if not pred_path_for(p).exists():
            continue
        sources = _training_sources(Path(p))
        if not sources:
            continue
        counts = []
        for s in sources:
            try:
                counts.append(count_objects(read_label_source(s).masks))
            except CellposeIOError as exc:
                log.warning("%s", exc)
                counts.append(0)
        out.append(PromoteConflict(str(p), tuple(s.name for s in sources), max(counts)))
    return out


def _key(path: str | os.PathLike) -> str:
    return os.path.normcase(os.path.abspath(path))


def promote(
    images: Sequence[str | os.PathLike],
    overwrite: Collection[str | os.PathLike] = (),
    mode: str = "replace",
) -> PromoteResult:
    """Copy each image's prediction to its training labels.

    Existing training labels (``_seg.npy`` or mask image) are changed only when the image
    is in ``overwrite``: replaced (``mode="replace"``) or kept with the prediction merged in
    (``"add"``, ``"fill"``); either way the files of before are renamed to backups first
    (``result.backups``). Otherwise they are kept and the image reported in
    ``kept_existing``. The written file is a plain label file (prediction bookkeeping
    dropped, ``promoted_from`` recording the model); atomic. Raises ValueError for an
    unknown ``mode``; a label file that cannot be read or merged fails its image only.
    """
    from cellpose_io import CellposeIOError, load_seg, save_seg
    from cellpose_io.label_sources import keep_aside
    from cellpose_io.seg import METADATA_KEYS
    from guv_app.services.annotation.merge import check_mode

    check_mode(mode)
    allowed = {_key(p) for p in overwrite}
    result = PromoteResult(mode=mode)
    for image in images:
        image = Path(image)
        pred, labels = pred_path_for(image), label_path_for(image)
        if not pred.exists():
            result.no_prediction.append(str(image))
            continue
        existing = _training_sources(image)
        if existing and _key(image) not in allowed:
            result.kept_existing.append(str(image))
            continue
        try:
            seg = load_seg(pred)
            kept = {k: v for k, v in seg.extra.items() if k not in PRED_KEYS}
            metadata = {k: v for k, v in kept.items() if k in METADATA_KEYS}
            metadata["promoted_from"] = str(seg.extra.get("mcp_pred_model", ""))
            if existing and mode != "replace":
                merged = _merge_into_existing(image, seg, mode)
                for source in existing:
                    result.backups[str(source.path)] = str(keep_aside(source.path))
                merged.save(image, labels, str(metadata["promoted_from"]))
                result.merged[str(image)] = merged.summary
                result.written.append(str(labels))
                result.promoted.append(str(image))
                continue
            for source in existing:
                result.backups[str(source.path)] = str(keep_aside(source.path))
            save_seg(
                image, seg.masks, seg.classes, seg.class_names, seg.class_colors,
                out_path=labels, outlines=seg.outlines, diameter=seg.diameter,
                chan_choose=seg.chan_choose, metadata=metadata,
                preserved={k: v for k, v in kept.items() if k not in METADATA_KEYS},
            )
        except (CellposeIOError, OSError, ValueError, TypeError) as exc:
            log.warning("cannot promote %s: %s", pred, exc)
            result.failed[str(image)] = str(exc)
            _restore(result, [str(s.path) for s in existing])
            continue
        result.written.append(str(labels))
        result.promoted.append(str(image))
    return result


@dataclass
class _Merged:
    """The existing labels of an image with a prediction merged in, ready to save."""

    labels: object  # cellpose_io.SegData of the labels that counted
    merged: object  # guv_app.services.annotation.merge.MergedLabels

    @property
    def summary(self) -> str:
        return self.merged.result.summary()

    def save(self, image: Path, out: Path, model: str) -> None:
        from cellpose_io import save_seg
        from cellpose_io.seg import METADATA_KEYS

        extra = dict(self.labels.extra)
        metadata = {k: v for k, v in extra.items() if k in METADATA_KEYS}
        metadata["promoted_from"] = model
        m = self.merged
        save_seg(image, m.result.masks, m.result.classes, m.class_names, m.class_colors,
                 out_path=out, ismanual=m.ismanual, diameter=self.labels.diameter,
                 chan_choose=self.labels.chan_choose, metadata=metadata,
                 preserved={k: v for k, v in extra.items() if k not in METADATA_KEYS})


def _merge_into_existing(image: Path, prediction, mode: str) -> _Merged:
    """Read the training labels that count for ``image`` and merge ``prediction`` into
    them. Raises ValueError when two label files disagree (nothing counts: the user
    chooses in the Trainer) or the shapes differ."""
    from cellpose_io.label_sources import choose_labels, read_label_source
    from guv_app.services.annotation.merge import merge_seg_data

    choice = choose_labels(image, use="training")
    if choice.chosen is None:
        raise ValueError(f"{image.name}: {choice.reason or 'no training labels'}")
    labels = read_label_source(choice.chosen)
    return _Merged(labels, merge_seg_data(labels, prediction, mode))


def _restore(result: PromoteResult, originals: Sequence[str]) -> None:
    for original in originals:
        backup = result.backups.pop(original, None)
        if backup is not None and Path(backup).exists():
            os.replace(backup, original)


def undo_promote(result: PromoteResult) -> list[str]:
    """Undo a promote: remove the ``_seg.npy`` files it wrote and rename every backup back.

    Returns the restored files. A written file is only removed when it is not itself the
    original of a backup (that one is restored over it).
    """
    for written in result.written:
        if written not in result.backups and Path(written).exists():
            Path(written).unlink()
    restored = list(result.backups)
    _restore(result, restored)
    result.written.clear()
    result.promoted.clear()
    return restored
