"""Which label file belongs to a plane of the open image, and reading it into the document.

Each plane (series, t, z) has its own ``_seg.npy`` (``cellpose_io.plane_tag``). Which file
is read is :func:`cellpose_io.label_sources.choose_labels`: the plane's ``_seg.npy``, an
older untagged one, or a Cellpose-style mask image (``X_masks.tif``). When a ``_seg.npy``
and a mask image disagree the user chooses and the other is kept as ``.bak``. A file that
cannot be read gives a message and an empty plane, and is marked so that autosave never
writes over it.

A mixin of :class:`~guv_app.controllers.trainer_files.TrainerFiles` rather than a part of its
own: reading a plane resets the session's state (``token``, ``protect_seg``, ``carries``,
``loaded_seg``) that saving and the label sets per channel read back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PyQt6 import QtWidgets

from cellpose_io.label_sources import CARRIES_KEY, LabelRule

if TYPE_CHECKING:
    from guv_app.controllers.trainer_autosave import Autosaver
    from guv_app.services.annotation import LabelDocument
    from guv_app.views.trainer.window import TrainerWindow

log = logging.getLogger(__name__)


class PlaneLabelLoading:
    """Label files of the open image's planes (mixed into ``TrainerFiles``)."""

    # state of the file session this mixin works on (set by TrainerFiles)
    window: TrainerWindow
    doc: LabelDocument
    autosaver: Autosaver
    path: Path | None
    image: object
    series: int
    t: int
    z: int
    token: int
    protect_seg: bool
    label_rule: LabelRule
    carries: dict | None
    loaded_seg: object
    labels_loaded: Callable[[object], None] | None

    def plane_key(self, t: int | None = None, z: int | None = None) -> tuple[int | None, ...]:
        """(t, z) for the label file name of a plane; (None, None) for a single-plane series."""
        image = self.image
        if image is None or getattr(image, "size_t", 1) * getattr(image, "size_z", 1) == 1:
            return (None, None)
        return (self.t if t is None else t, self.z if z is None else z)

    def label_file(self, t: int | None = None, z: int | None = None) -> Path:
        """The label file of plane (t, z) of the open series (``cellpose_io.plane_tag``)."""
        import cellpose_io

        return cellpose_io.seg_path_for(self.path, series=self.series, **dict(
            zip(("t", "z"), self.plane_key(t, z), strict=True)))

    def settle_conflict(self, path: Path, series: int = 0) -> bool:
        """When the ``_seg.npy`` and the mask image of ``path`` disagree, ask which to keep
        and rename the other to a backup (``.bak``); False when the user cancels."""
        from cellpose_io.label_sources import choose_labels, keep_aside

        choice = choose_labels(path, series, self.label_rule, t=0, z=0)
        if choice.conflict is None:
            return True
        keep = self.ask_label_conflict(path, choice.conflict)
        if keep is None:
            self.window.statusBar().showMessage(f"{path.name} not opened: {choice.reason}", 10000)
            return False
        for source in choice.conflict.sources:
            if source != keep:
                backup = keep_aside(source.path)
                self.window.statusBar().showMessage(
                    f"Kept {keep.name}; {source.name} was renamed to {backup.name}", 10000)
        return True

    def ask_label_conflict(self, path: Path, conflict):
        """Blocking question: which of two disagreeing label files to keep (None: cancel)."""
        box = QtWidgets.QMessageBox(self.window)
        box.setIcon(QtWidgets.QMessageBox.Icon.Question)
        box.setWindowTitle("Two label files disagree")
        (a, b), (na, nb) = conflict.sources, conflict.n_objects
        box.setText(f"{path.name} has two label files that hold different objects:\n"
                    f"{a.name}: {na} object(s)\n{b.name}: {nb} object(s)\n\n"
                    "Which one do you want to keep? The other is renamed to a .bak backup "
                    "(nothing is deleted).")
        buttons = {box.addButton(f"Keep {s.name} ({n})",
                                 QtWidgets.QMessageBox.ButtonRole.AcceptRole): s
                   for s, n in zip(conflict.sources, conflict.n_objects, strict=True)}
        box.addButton(QtWidgets.QMessageBox.StandardButton.Cancel)
        box.exec()
        return buttons.get(box.clickedButton())

    def _load_labels(self, path: Path, shape: tuple[int, int], series: int = 0,
                     t: int = 0, z: int = 0) -> None:
        self.loaded_seg = None
        self._read_labels(path, shape, series, t, z)
        if self.labels_loaded is not None:
            self.labels_loaded(self.loaded_seg)

    def _read_labels(self, path: Path, shape: tuple[int, int], series: int = 0,
                     t: int = 0, z: int = 0) -> None:
        """Load the labels of plane (series, t, z) of ``path`` (each plane has its own file).

        The file is chosen by :func:`cellpose_io.label_sources.choose_labels`: the plane's
        ``_seg.npy`` (the first plane of a stack falls back to an untagged
        ``<stem>[_s{S}]_seg.npy`` of the plane's shape, what the Trainer wrote before
        planes), else for the first plane a Cellpose-style mask image (``X_masks.tif``),
        which the first save carries into a ``_seg.npy`` (the mask itself is never
        rewritten).
        """
        import cellpose_io
        from cellpose_io.label_sources import carries_marker, choose_labels

        self.token += 1
        self.protect_seg = False
        self.carries = None
        doc = self.doc
        seg_file = self.label_file(t, z)
        self.autosaver.wait_written()  # this plane's last autosave may still be writing
        from cellpose_io.atomic import clean_stale_temps

        clean_stale_temps(seg_file)  # temp files a killed save left (hidden, up to 67 MB)
        table = doc.class_table.copy()  # keep the classes when the next image has no labels
        table.visible = [True] * len(table)
        key_t, key_z = self.plane_key(t, z)
        choice = choose_labels(path, series, self.label_rule, t=key_t, z=key_z)
        source = choice.chosen
        if source is None and choice.conflict is not None:  # not settled: the seg is shown
            source = choice.conflict.sources[0]
        legacy = source is not None and source.kind == "seg" and source.path != seg_file
        if source is not None:
            try:
                seg = cellpose_io.read_label_source(source)
                if tuple(seg.masks.shape) != tuple(shape):
                    if legacy:  # e.g. a Cellpose GUI 3-D file of the whole stack
                        log.info("%s is not the first plane's labels", source.path)
                        doc.reset(np.zeros(shape, np.uint32), None, table)
                        return
                    raise cellpose_io.LabelReadError(
                        source.path, f"labels are {seg.masks.shape}, image is {tuple(shape)}")
                if source.kind == "mask":
                    self.carries = carries_marker(source)
                    doc.reset(seg.masks, None, table)
                    self.window.statusBar().showMessage(
                        f"Labels from {source.name} ({doc.n_objects} objects); edits are saved "
                        f"to {seg_file.name}", 10000)
                    return
                marker = seg.extra.get(CARRIES_KEY)
                self.carries = dict(marker) if isinstance(marker, dict) else None
                self.loaded_seg = seg
                doc.reset_from_seg(seg)
                return
            except cellpose_io.CellposeIOError as exc:
                if legacy:
                    log.info("%s is not the first plane's labels: %s", source.path, exc.reason)
                else:
                    self.protect_seg = source.kind == "seg"
                    kept = ("The file is kept; saving moves it aside first."
                            if self.protect_seg else "The file is kept as it is.")
                    self.window.show_message(
                        f"The labels {source.name} cannot be read ({exc.reason}); starting "
                        "empty. " + kept)
        doc.reset(np.zeros(shape, np.uint32), None, table)
