"""The Trainer's file session: open images and their labels, save, autosave, folder moves.

Reading and writing go through ``cellpose_io`` only. A file that cannot be read produces a
message and leaves the current image as it was; a label file that cannot be read is never
overwritten by autosave (it is moved aside only when the user saves explicitly).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PyQt6 import QtCore, QtWidgets

from cellpose_io.label_sources import CARRIES_KEY, LabelRule
from guv_app.controllers.gui_settings import app_settings
from guv_app.controllers.open_dialogs import LAST_DIR_KEY, image_filters
from guv_app.controllers.trainer_autosave import Autosaver, SaveJob, write_job
from guv_app.services.annotation import LabelDocument
from guv_app.views.trainer.window import TrainerWindow

log = logging.getLogger(__name__)
AUTOSAVE_KEY = "trainer/autosave"
LABEL_ONLY_EXTENSIONS = (".zip", ".roi", ".geojson", ".json")  # labels, never images


class TrainerFiles(QtCore.QObject):
    """Which image is open, where its labels go, and when they are written."""

    AUTOSAVE_DELAY_MS = 1500

    def __init__(
        self,
        window: TrainerWindow,
        doc: LabelDocument,
        show_planes: Callable[..., None],
        parent: QtCore.QObject | None = None,
    ) -> None:
        """``show_planes(planes, new_image=bool)`` puts (C, Y, X) planes on screen."""
        super().__init__(parent)
        self.window = window
        self.doc = doc
        self.show_planes = show_planes
        # set by the Trainer: opens a _seg.npy's image with its labels (returns success)
        self.open_seg: Callable[[Path], bool] | None = None
        # set by the Trainer: puts a RoiSet/.roi/GeoJSON onto the open image (returns success)
        self.import_labels: Callable[[Path], bool] | None = None
        self.path: Path | None = None
        self.image = None  # cellpose_io.Image of the open file
        self.t = self.z = self.series = 0
        self.folder: list[Path] = []
        self.index = -1
        self.token = 0  # changes with every opened document, to drop stale save results
        self.protect_seg = False  # the existing label file could not be read
        self.label_rule = LabelRule()  # Cellpose's X.png + X_masks.tif naming
        self.carries: dict | None = None  # mask image the open labels were made from
        self.told: set[Path] = set()  # _seg.npy files the user was told carry a mask
        # label sets per channel (controllers.trainer_channels) hook in here: the file just
        # loaded (SegData or None), the job to write, a written job, unsaved edits anywhere
        self.loaded_seg = None
        self.labels_loaded: Callable[[object], None] | None = None
        self.job_hook: Callable[[SaveJob], SaveJob] | None = None
        self.after_saved: Callable[[SaveJob], None] | None = None
        self.is_dirty: Callable[[], bool] = lambda: self.doc.dirty
        self.settings = app_settings()
        self.autosave = self.settings.value(AUTOSAVE_KEY, True, type=bool)
        self.autosaver = Autosaver(self)
        self.autosaver.saved.connect(self._on_saved)
        self.autosaver.failed.connect(lambda job, msg: self.window.show_message(msg))
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.AUTOSAVE_DELAY_MS)
        self._timer.timeout.connect(self.autosave_now)
        a = self.window.actions
        a["autosave"].setChecked(self.autosave)
        a["autosave"].toggled.connect(self.set_autosave)
        a["save"].triggered.connect(self.save)
        a["open"].triggered.connect(self.ask_open)
        a["next"].triggered.connect(lambda: self.step(+1))
        a["prev"].triggered.connect(lambda: self.step(-1))
        a["z_next"].triggered.connect(lambda: self._plane_step(0, +1))
        a["z_prev"].triggered.connect(lambda: self._plane_step(0, -1))
        a["t_next"].triggered.connect(lambda: self._plane_step(+1, 0))
        a["t_prev"].triggered.connect(lambda: self._plane_step(-1, 0))
        self.window.filesDropped.connect(lambda paths: self.open_path(paths[0]))
        self.window.channel_panel.planeChanged.connect(self.set_plane)
        self.window.channel_panel.seriesChanged.connect(self.set_series)
        self.window.close_guard = self.can_close

    # ------------------------------------------------------------------ opening
    def ask_open(self) -> None:
        start = str(self.settings.value(LAST_DIR_KEY, str(Path.home())))
        dlg = QtWidgets.QFileDialog(self.window, "Open image", start)
        dlg.setFileMode(QtWidgets.QFileDialog.FileMode.ExistingFile)

        dlg.setNameFilters(image_filters())
        self.window.open_dialog = dlg
        dlg.fileSelected.connect(self.open_path)
        dlg.open()

    def open_path(self, path: str | os.PathLike) -> bool:
        """Open an image (or the first image of a folder); False and a message on failure."""
        import cellpose_io

        path = Path(path).absolute()  # remembered folders and recent files are absolute
        if path.name.lower().endswith("_seg.npy") and self.open_seg is not None:
            return self.open_seg(path)  # Cellpose labels: open their image with them
        if path.suffix.lower() in LABEL_ONLY_EXTENSIONS and self.import_labels is not None:
            return self.import_labels(path)  # ROIs / GeoJSON: labels for the open image
        if path.is_dir():
            files = self._list_folder(path)
            if not files:
                self.window.show_message(f"{path}: no image files in this folder")
                return False
            path = files[0]
        if not self.leave_current():
            return False
        try:
            image = cellpose_io.read_image(path, 0)
            planes = image.plane(0, 0)
        except (cellpose_io.CellposeIOError, IndexError, OSError, ValueError) as exc:
            self.window.show_message(f"Cannot open {path}: {getattr(exc, 'reason', exc)}")
            return False
        if not self.settle_conflict(path, getattr(image, "series", 0)):
            image.close()
            return False
        self._set_image(path, image, planes)
        self.folder = self._list_folder(path.parent)
        self.index = next((i for i, p in enumerate(self.folder) if p == path), -1)
        self.settings.setValue(LAST_DIR_KEY, str(path.parent))
        self._update_folder_label()
        return True

    def _set_image(self, path: Path, image, planes: np.ndarray) -> None:
        if self.image is not None and hasattr(self.image, "close"):
            self.image.close()
        self.path, self.image = path, image
        self.t = self.z = 0
        self.series = getattr(image, "series", 0)
        self.window.channel_panel.set_stack(
            list(getattr(image, "series_names", []) or []), self.series,
            getattr(image, "size_t", 1), getattr(image, "size_z", 1),
        )
        self._load_labels(path, planes.shape[-2:], self.series)
        self.show_planes(planes, new_image=True)
        self.window.setWindowTitle(f"{path.name}[*] — MultiCellPose Trainer")
        self.window.setWindowModified(False)

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

    def set_plane(self, t: int, z: int) -> None:
        """Show plane (t, z) with its own labels; the current plane's are saved (or asked)."""
        if self.image is None or (t, z) == (self.t, self.z):
            return
        try:
            planes = self.image.plane(t, z)
        except (OSError, ValueError, IndexError) as exc:
            self.window.show_message(f"Cannot read plane t={t} z={z} of {self.path}: {exc}")
            self._show_plane(self.t, self.z)
            return
        if not self.leave_current():  # the user cancelled: stay on the current plane
            self._show_plane(self.t, self.z)
            return
        self.t, self.z = t, z
        self._load_labels(self.path, planes.shape[-2:], self.series, t, z)
        self.show_planes(planes, new_image=False)
        self.window.setWindowModified(False)

    def _show_plane(self, t: int, z: int) -> None:
        """Put the T/Z controls back on (t, z) without emitting a change."""
        panel = self.window.channel_panel
        blockers = [QtCore.QSignalBlocker(panel.t), QtCore.QSignalBlocker(panel.z)]
        panel.t.setValue(t)
        panel.z.setValue(z)
        del blockers

    def _plane_step(self, dt: int, dz: int) -> None:
        panel = self.window.channel_panel
        panel.t.setValue(panel.t.value() + dt)
        panel.z.setValue(panel.z.value() + dz)

    def set_series(self, series: int) -> None:
        """Show another series; its labels live in their own file, so save/ask first."""
        import cellpose_io

        if self.path is None or series == self.series:
            return
        try:
            image = cellpose_io.read_image(self.path, series)
            planes = image.plane(0, 0)
        except cellpose_io.CellposeIOError as exc:
            self.window.show_message(str(exc))
            self._show_series(self.series)
            return
        if not self.leave_current() or not self.settle_conflict(self.path, series):
            image.close()  # the user cancelled: stay on the current series
            self._show_series(self.series)
            return
        if self.image is not None:
            self.image.close()
        self.image, self.series, self.t, self.z = image, series, 0, 0
        self.window.channel_panel.set_stack(  # Z/T controls restart at 0 for the new series
            list(image.series_names or []), series, image.size_t, image.size_z)
        self._load_labels(self.path, planes.shape[-2:], series)
        self.show_planes(planes, new_image=True)
        self.window.setWindowModified(False)

    def _show_series(self, series: int) -> None:
        """Put the series chooser back on ``series`` without emitting a change."""
        combo = self.window.channel_panel.series
        blocker = QtCore.QSignalBlocker(combo)
        combo.setCurrentIndex(series)
        del blocker

    def channel_names(self, n: int) -> list[str]:
        names = list(getattr(self.image, "channel_names", []) or [])
        return names if len(names) == n else [f"channel {i}" for i in range(n)]

    # ----------------------------------------------------------------- folder
    def _list_folder(self, folder: Path) -> list[Path]:
        import cellpose_io

        try:
            from cellpose_io.registry import LABEL_IMAGE_SUFFIXES

            extra = (self.label_rule.mask_filter,) if self.label_rule.mask_filter else ()
            return cellpose_io.list_image_files(  # not mask images, _seg.npy, hidden files
                folder, label_suffixes=LABEL_IMAGE_SUFFIXES + extra)
        except OSError as exc:
            self.window.show_message(f"Cannot list {folder}: {exc}")
            return []

    def step(self, delta: int) -> bool:
        """Open the next/previous image of the folder, saving (or asking) first."""
        if not self.folder or self.index < 0:
            return False
        j = self.index + delta
        if not 0 <= j < len(self.folder):
            self.window.statusBar().showMessage("No more images in this folder", 3000)
            return False
        return self.open_path(self.folder[j])

    def labelled_count(self) -> int:
        """Labelled planes of the folder's images, by the label rule (a mask image counts;
        a _seg.npy that carries it does not count it twice)."""
        from cellpose_io.label_sources import labelled_planes

        return sum(c.chosen is not None for p in self.folder
                   for c in labelled_planes(p, self.label_rule))

    def _update_folder_label(self) -> None:
        if not self.folder:
            self.window.folder_label.setText("")
            return
        self.window.folder_label.setText(
            f"image {self.index + 1}/{len(self.folder)} · {self.labelled_count()} labelled")

    # ------------------------------------------------------------------ saving
    def _job(self) -> SaveJob:
        doc = self.doc
        t = doc.class_table
        extra = {} if self.carries is None else {CARRIES_KEY: dict(self.carries)}
        job = SaveJob(self.path, doc.masks.copy(), doc.classes, list(t.names),
                      list(t.colors), doc.version, self.token, self.series, *self.plane_key(),
                      extra=extra)
        return job if self.job_hook is None else self.job_hook(job)

    def _unlabelled(self, job: SaveJob) -> bool:
        """Nothing drawn on a plane that has no label file: it stays unlabelled (no file)."""
        return not job.masks.any() and not job.out_path.exists() and not job.extra \
            and not job.channels

    def save(self) -> bool:
        """Save now, in the GUI thread (Ctrl+S): the user sees the result immediately."""
        if self.path is None:
            return False

        self._timer.stop()
        self.autosaver.wait()
        if self.protect_seg:
            seg = self.label_file()
            if seg.exists():
                from cellpose_io.atomic import set_aside

                set_aside(seg)  # never over an earlier .unreadable copy
            self.protect_seg = False
        job = self._job()
        try:
            out = write_job(job)
        except (OSError, ValueError, TypeError) as exc:
            self.window.show_message(f"Could not save the labels of {self.path}: {exc}")
            return False
        self._on_saved(job, out)
        return True

    def set_autosave(self, on: bool) -> None:
        self.autosave = bool(on)
        self.settings.setValue(AUTOSAVE_KEY, self.autosave)
        self.on_state_changed()

    def on_state_changed(self) -> None:
        """Document changed: (re)start the autosave countdown."""
        if self.autosave and self.path is not None and self.is_dirty() and not self.protect_seg:
            self._timer.start()

    def autosave_now(self) -> None:
        if self.path is not None and self.is_dirty() and not self.protect_seg:
            self._submit(self._job())

    def _submit(self, job: SaveJob) -> None:
        if self._unlabelled(job):
            self._mark_saved(job)
            return
        self.autosaver.submit(job)

    def _mark_saved(self, job: SaveJob) -> None:
        if job.token == self.token:
            self.doc.mark_saved(job.version)
        if self.after_saved is not None:
            self.after_saved(job)

    def _on_saved(self, job: SaveJob, out: Path) -> None:
        self._mark_saved(job)
        self.window.statusBar().showMessage(f"Saved {Path(out).name}", 3000)
        carried = job.extra.get(CARRIES_KEY)
        if carried and Path(out) not in self.told:  # say once where the mask's labels went
            self.told.add(Path(out))
            self.window.show_message(
                f"{Path(out).name} now holds the labels of {carried['file']} with your "
                f"edits; {carried['file']} itself is unchanged and no longer counted "
                "separately.", title="Labels saved", error=False)
        self._update_folder_label()

    def leave_current(self) -> bool:
        """Before switching images: save (autosave) or ask; False = stay."""
        self._timer.stop()
        if self.path is None or not self.is_dirty():
            return True
        if self.autosave and not self.protect_seg:
            self._submit(self._job())
            return True
        answer = self.window.ask_unsaved(self.path.name)
        if answer == "save":
            return self.save()
        return answer == "discard"

    def can_close(self) -> bool:
        ok = self.leave_current()
        if ok:
            self.autosaver.wait()
        return ok
