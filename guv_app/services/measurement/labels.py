"""Which planes to measure and which label file belongs to each.

Predictions are saved as ``<stem>_pred_seg.npy`` (a plane of a multi-plane series:
``<stem>[_s{S}]_t{T}_z{Z}_pred_seg.npy``, see ``services.batch.Plane.file_for``) beside the
image or in a ``predict --out`` folder whose ``predictions_index.csv`` lists them; training
labels are found by the app's one rule (:func:`cellpose_io.label_sources.choose_labels`:
``<stem>_seg.npy`` with the same per-plane naming, or a Cellpose-style ``<stem>_masks.tif``
for the first plane). ``auto`` prefers the prediction (what the Analyzer produced, possibly
corrected) and falls back to the training labels.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cellpose_io.seg import PRED_SUFFIX, SEG_SUFFIX
from guv_app.services.batch import Plane, PlaneSelection, list_planes, predictions_by_plane
from guv_app.services.batch.index import read_index, resolve

LABEL_CHOICES = ("auto", "pred", "seg")


@dataclass(frozen=True)
class PlaneItem:
    """One plane to measure and its label file (None when it has none of the wanted kind);
    ``problem`` is set when the file could not even be opened, ``skip`` when it must not be
    measured."""

    plane: Plane
    labels: Path | None
    problem: str = ""  # why it cannot be measured although it may have labels (failed)
    skip: str = ""  # why it must not be measured (skipped), e.g. a label-file name clash

    @property
    def image(self) -> Path:
        return Path(self.plane.image)


ImageItem = PlaneItem  # former name: an item is a plane now


def plane_label_path(plane: Plane, labels: str = "auto",
                     predictions: dict | None = None) -> Path | None:
    """The label file of ``plane`` under the ``labels`` rule, if one exists.

    ``predictions`` maps plane keys to prediction files found through run indexes
    (:func:`~guv_app.services.batch.predictions_by_plane`); a prediction beside the image
    is found by its name.
    """
    if labels not in LABEL_CHOICES:
        raise ValueError(f"labels must be one of {LABEL_CHOICES}, got {labels!r}")
    kinds = {"auto": ("pred", "seg"), "pred": ("pred",), "seg": ("seg",)}[labels]
    for kind in kinds:
        if kind == "pred":
            indexed = (predictions or {}).get(plane.key)
            if indexed is not None:
                return Path(indexed)
        if kind == "seg":  # training labels: the app's one rule (a _seg.npy or a mask image)
            from cellpose_io.label_sources import choose_labels

            single = plane.single
            found = choose_labels(plane.image, plane.series, use="training",
                                  t=None if single else plane.t,
                                  z=None if single else plane.z).path
            if found is not None:
                return found
            continue
        candidate = plane.file_for(PRED_SUFFIX)
        if candidate.is_file():
            return candidate
    return None


def label_path(image: Path, labels: str = "auto") -> Path | None:
    """The label file of a single-plane ``image`` (series 0) under the ``labels`` rule."""
    return plane_label_path(Plane(str(image)), labels)


def indexed_predictions(folders: Iterable[str | os.PathLike]) -> dict:
    """Prediction files by plane key from the run indexes in ``folders`` (later wins)."""
    found: dict = {}
    for folder in folders:
        if folder is not None and Path(folder).is_dir():
            found.update(predictions_by_plane(folder))
    return found


def indexed_images(folder: str | os.PathLike) -> list[Path]:
    """The image files a run index in ``folder`` lists (that still exist), in index order."""
    seen: dict[Path, None] = {}
    for row in read_index(folder):
        path = resolve(folder, row.image)
        if path.is_file():
            seen.setdefault(path, None)
    return list(seen)


def plane_items(
    images: Sequence[str | os.PathLike],
    labels: str = "auto",
    selection: PlaneSelection | None = None,
    predictions: dict | None = None,
    clashes: dict[Path, str] | None = None,
) -> list[PlaneItem]:
    """The selected planes of ``images`` with their label files.

    A multi-plane file lists only its planes that have labels (frames never predicted are
    not "skipped" noise); a file with no labelled plane gives one item without labels, and
    a file that cannot be opened one item with its ``problem`` (or, when it has no label
    file either, an item without labels: skipped, as any unlabelled image).
    """
    if labels not in LABEL_CHOICES:
        raise ValueError(f"labels must be one of {LABEL_CHOICES}, got {labels!r}")
    items: list[PlaneItem] = []
    clashes = clashes if clashes is not None else shared_label_names([Path(p) for p in images])
    for image in images:
        if Path(image) in clashes:
            plane = Plane(str(image))
            items.append(PlaneItem(plane, plane_label_path(plane, labels, predictions),
                                   skip=clashes[Path(image)]))
            continue
        listing = list_planes([image], selection or PlaneSelection())
        if listing.problems:  # unreadable: a failure only when it has labels to measure
            plane = Plane(str(image))
            found_labels = plane_label_path(plane, labels, predictions)
            items.append(PlaneItem(plane, found_labels,
                                   listing.problems[0][1] if found_labels else ""))
            continue
        if listing.unmatched:  # the selection leaves no plane of this file
            items.append(PlaneItem(Plane(str(image)), None, skip=listing.unmatched[0][1]))
            continue
        found = [PlaneItem(p, plane_label_path(p, labels, predictions))
                 for p in listing.planes]
        labelled = [item for item in found if item.labels is not None]
        items.extend(labelled if labelled else found[:1])
    return items


def find_items(folder: str | Path, labels: str = "auto",
               selection: PlaneSelection | None = None,
               predictions_dir: str | Path | None = None) -> list[PlaneItem]:
    """Every image plane of ``folder`` (images sorted by name) with its label file.

    Images are the image files directly in ``folder`` plus those listed by a run index
    there (a ``predict --out`` folder holds predictions, not images); predictions are also
    looked up in the index of ``predictions_dir``. Label files themselves
    (``*_seg.npy``, ``*_masks.tif``) and hidden files are not images.
    """
    from cellpose_io import list_image_files

    images = list(list_image_files(folder))
    known = {p.resolve() for p in images}
    for path in indexed_images(folder) + (indexed_images(predictions_dir)
                                          if predictions_dir else []):
        if path.resolve() not in known:
            known.add(path.resolve())
            images.append(path)
    predictions = indexed_predictions([folder, predictions_dir])
    return plane_items(images, labels, selection, predictions)


def shared_label_names(paths: list[Path]) -> dict[Path, str]:
    """Images among ``paths`` that differ only in extension (``cells.tif``, ``cells.png``)
    and so would share one label and prediction file, each with a one-line reason."""
    from collections import defaultdict

    groups: dict[tuple[Path, str], list[Path]] = defaultdict(list)
    for path in paths:
        groups[(path.parent, os.path.splitext(path.name)[0])].append(path)
    out = {}
    for (_folder, stem), group in groups.items():
        if len(group) > 1:
            names = ", ".join(p.name for p in group)
            for path in group:
                out[path] = (f"{names} would share the label files {stem}{SEG_SUFFIX} / "
                             f"{stem}{PRED_SUFFIX}; rename one so each image has its own")
    return out
