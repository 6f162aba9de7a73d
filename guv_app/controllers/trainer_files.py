"""The Trainer's file session: which image, series and plane are open, and moving between them.

Opening an image (or a folder's first image), Z/T/series moves and next/previous image of
the folder all go through here, so each move first saves or asks about the plane being
left (:mod:`~guv_app.controllers.trainer_saving`) and then reads the new plane's own labels
(:mod:`~guv_app.controllers.trainer_plane_labels`). Reading goes through ``cellpose_io``
only. A file that cannot be read produces a message and leaves the current image as it was.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PyQt6 import QtCore, QtWidgets

from cellpose_io.label_sources import LabelRule
from guv_app.controllers.gui_settings import app_settings
from guv_app.controllers.open_dialogs import LAST_DIR_KEY, image_filters
from guv_app.controllers.trainer_autosave import SaveJob
from guv_app.controllers.trainer_plane_labels import PlaneLabelLoading
from guv_app.controllers.trainer_saving import LabelSaving
from guv_app.services.annotation import LabelDocument
from guv_app.views.trainer.window import TrainerWindow

log = logging.getLogger(__name__)
LABEL_ONLY_EXTENSIONS = (".zip", ".roi", ".geojson", ".json")  # labels, never images


class TrainerFiles(PlaneLabelLoading, LabelSaving, QtCore.QObject):
    """Which image is open, where its labels go (:class:`PlaneLabelLoading`), and when
    they are written (:class:`LabelSaving`)."""

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
        self._setup_saving()  # autosave setting, worker, countdown; Save / Autosave actions
        a = self.window.actions
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
