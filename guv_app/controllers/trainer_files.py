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

    def _load_labels(self, path: Path, shape: tuple[int, int], series: int = 0,
                     t: int = 0, z: int = 0) -> None:
        """Load the labels of plane (series, t, z) of ``path`` (each plane has its own file).

        The first plane of a stack falls back to an untagged ``<stem>[_s{S}]_seg.npy`` of
        the plane's shape (what the Trainer wrote before planes); saving then writes the
        tagged file and leaves that one as it was.
        """
        import cellpose_io

        self.token += 1
        self.protect_seg = False
        doc = self.doc
        seg_file = self.label_file(t, z)
        self.autosaver.wait_written()  # this plane's last autosave may still be writing
        from cellpose_io.atomic import clean_stale_temps

        clean_stale_temps(seg_file)  # temp files a killed save left (hidden, up to 67 MB)
        table = doc.class_table.copy()  # keep the classes when the next image has no labels
        table.visible = [True] * len(table)
        legacy = cellpose_io.seg_path_for(path, series=series)
        if not seg_file.exists() and (t, z) == (0, 0) and legacy != seg_file and legacy.exists():
            try:  # may also be a Cellpose GUI 3-D file of the whole stack: then not this plane
                seg = cellpose_io.load_seg(legacy)
                if tuple(seg.masks.shape) == tuple(shape):
                    doc.reset_from_seg(seg)
                    return
            except cellpose_io.CellposeIOError as exc:
                log.info("%s is not the first plane's labels: %s", legacy, exc.reason)
        if seg_file.exists():
            try:
                doc.reset_from_seg(cellpose_io.load_seg(seg_file, shape))
                return
            except cellpose_io.CellposeIOError as exc:
                self.protect_seg = True
                self.window.show_message(
                    f"The labels {seg_file.name} cannot be read ({exc.reason}); starting empty. "
                    "The file is kept; saving moves it aside first.")
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
        if not self.leave_current():  # the user cancelled: stay on the current series
            image.close()
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
            return cellpose_io.list_image_files(folder)  # not _masks/_seg.npy/hidden files
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
        """Labelled images of the folder, counting each labelled series of a file once."""
        from guv_app.services.datasets.discovery import seg_files_for

        return sum(len(seg_files_for(p)) for p in self.folder)

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
        return SaveJob(self.path, doc.masks.copy(), doc.classes, list(t.names),
                       list(t.colors), doc.version, self.token, self.series, *self.plane_key())

    def _unlabelled(self, job: SaveJob) -> bool:
        """Nothing drawn on a plane that has no label file: it stays unlabelled (no file)."""
        return not job.masks.any() and not job.out_path.exists()

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
        if self.autosave and self.path is not None and self.doc.dirty and not self.protect_seg:
            self._timer.start()

    def autosave_now(self) -> None:
        if self.path is not None and self.doc.dirty and not self.protect_seg:
            self._submit(self._job())

    def _submit(self, job: SaveJob) -> None:
        if self._unlabelled(job):
            self.doc.mark_saved(job.version)
            return
        self.autosaver.submit(job)

    def _on_saved(self, job: SaveJob, out: Path) -> None:
        if job.token == self.token:
            self.doc.mark_saved(job.version)
        self.window.statusBar().showMessage(f"Saved {Path(out).name}", 3000)
        self._update_folder_label()

    def leave_current(self) -> bool:
        """Before switching images: save (autosave) or ask; False = stay."""
        self._timer.stop()
        if self.path is None or not self.doc.dirty:
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
