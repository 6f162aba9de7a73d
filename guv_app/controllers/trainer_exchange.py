"""File ▸ Import labels / Export labels / Export for Cellpose, and opening a ``_seg.npy``.

Formats and their rules live in :mod:`guv_app.services.annotation.exchange`; this module
only asks the questions (which file, merge or replace, label a binary mask as objects?) and
puts the result into the label document as one undo step. It serves the Trainer and the
Analyzer's prediction editor alike: ``image_path`` says which image the labels belong to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PyQt6 import QtCore, QtWidgets

from guv_app.services.annotation import exchange
from guv_app.services.annotation.exchange import ExchangeError, ImportedLabels
from guv_app.views.busy import busy_cursor

if TYPE_CHECKING:
    from guv_app.controllers.trainer_parts import TrainerParts

log = logging.getLogger(__name__)
LAST_EXCHANGE_DIR = "trainer/last_exchange_dir"
MERGE, REPLACE = "Merge with current labels", "Replace current labels"
AS_OBJECTS, AS_IS = "Label each blob as an object", "Keep the values as they are"


def _filters() -> list[str]:
    every = " ".join(f"*{p}" for _, pats in exchange.FORMATS for p in pats)
    return [f"All label files ({every})"] + [name for name, _ in exchange.FORMATS]


class LabelExchange(QtCore.QObject):
    """Import/export actions of one Trainer window."""

    def __init__(self, ctl: TrainerParts,
                 image_path: Callable[[], Path | None] | None = None) -> None:
        super().__init__(ctl)
        self.ctl = ctl
        self.window = ctl.window
        self.image_path = image_path or (lambda: ctl.files.path)
        self.dialog: QtWidgets.QFileDialog | None = None
        a = self.window.actions
        a["import_labels"].triggered.connect(self.ask_import)
        a["export_labels"].triggered.connect(self.ask_export)
        a["export_all_labels"].triggered.connect(self.ask_export_all)
        a["export_cellpose"].triggered.connect(self.ask_export_cellpose)

    # ------------------------------------------------------------------ dialogs
    def _start_dir(self) -> str:
        path = self.image_path()
        settings = self.ctl.files.settings
        return str(settings.value(LAST_EXCHANGE_DIR, str(path.parent if path else Path.home())))

    def _file_dialog(self, title: str, *, save: bool, directory: bool = False,
                     filters: list[str] | None = None) -> QtWidgets.QFileDialog:
        dlg = QtWidgets.QFileDialog(self.window, title, self._start_dir())
        Mode = QtWidgets.QFileDialog.FileMode
        if directory:
            dlg.setFileMode(Mode.Directory)
            dlg.setOption(QtWidgets.QFileDialog.Option.ShowDirsOnly, True)
        else:
            dlg.setFileMode(Mode.AnyFile if save else Mode.ExistingFile)
        if save:
            dlg.setAcceptMode(QtWidgets.QFileDialog.AcceptMode.AcceptSave)
        if filters:
            dlg.setNameFilters(filters)
        dlg.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dlg
        return dlg

    def _remember_dir(self, path: Path) -> None:
        folder = path if path.is_dir() else path.parent
        self.ctl.files.settings.setValue(LAST_EXCHANGE_DIR, str(folder.absolute()))

    def _need_image(self) -> bool:
        if self.ctl.planes is None or self.image_path() is None:
            self.window.show_message("Open an image first.")
            return False
        return True

    # ------------------------------------------------------------------ import
    def ask_import(self) -> None:
        if not self._need_image():
            return
        dlg = self._file_dialog("Import labels onto this plane", save=False, filters=_filters())
        dlg.fileSelected.connect(lambda p: self.import_path(Path(p)))
        dlg.open()

    def import_path(self, path: Path, mode: str | None = None,
                    as_objects: bool | None = None) -> bool:
        """Read ``path`` and put its objects on the current plane (asking what is unclear).

        ``mode`` ("merge"/"replace") and ``as_objects`` (label blobs of a binary/class-id
        mask) are asked when None and there is a choice to make.
        """
        path = Path(path)
        if not self._need_image():
            return False
        self._remember_dir(path)
        doc, files = self.ctl.doc, self.ctl.files
        image = files.image if files.path is not None else None
        stack = ((image.size_t, image.size_z, image.n_channels) if image is not None
                 else (1, 1, 1))
        try:
            with busy_cursor():
                labels = exchange.read_labels_file(path, doc.shape,
                                                   list(doc.class_table.names),
                                                   plane=(files.t, files.z), stack=stack)
        except ExchangeError as exc:
            self.window.show_message(f"Cannot import labels: {exc}")
            return False
        check = labels.check
        if check is not None and not check.ok and as_objects is None:
            self.window.ask(
                check.describe(path.name) + ". Label each separate blob as its own object?",
                [AS_OBJECTS, AS_IS],
                lambda ans: ans and self._import(labels, mode, ans == AS_OBJECTS))
            return True
        return self._import(labels, mode, bool(as_objects))

    def _import(self, labels: ImportedLabels, mode: str | None, as_objects: bool) -> bool:
        doc = self.ctl.doc
        if mode is None and doc.n_objects:
            if as_objects:  # the count in the question is the count after labelling
                labels = exchange.as_instances(labels)
                as_objects = False
            self.window.ask(
                f"This plane already has {doc.n_objects} object(s). Add the "
                f"{labels.n_objects} object(s) of {labels.source.name} to them, or replace "
                f"them ({doc.n_objects} object(s) lost; the label file is kept as .bak and "
                "Ctrl+Z undoes)?", [MERGE, REPLACE],
                lambda ans: ans and self._import(labels, "merge" if ans == MERGE else "replace",
                                                 False))
            return True
        if mode == "replace" and doc.n_objects:
            from guv_app.controllers.trainer_replace import keep_label_file

            keep_label_file(self.ctl)  # the file on disk is kept before it is saved over
        try:
            with busy_cursor():
                if as_objects:
                    labels = exchange.as_instances(labels)
                n = doc.import_labels(labels.masks, labels.classes, labels.class_names,
                                      labels.class_colors, mode=mode or "merge")
        except ValueError as exc:
            self.window.show_message(f"Cannot import labels from {labels.source.name}: {exc}")
            return False
        message = f"Imported {n} object(s) from {labels.source.name} (Ctrl+Z undoes)"
        if len(labels.roi_planes) > 1:
            message += "; " + self._import_other_planes(labels)
        self.window.statusBar().showMessage(message, 8000)
        return True

    def _import_other_planes(self, labels: ImportedLabels) -> str:
        """A RoiSet drawn on several slices: its other planes go to their own label files
        (planes that already have labels are left as they are)."""
        from guv_app.services.annotation.roi_import import RoiImportError, import_roiset

        files = self.ctl.files
        try:
            result = import_roiset(files.path, labels.source, files.series,
                                   list(self.ctl.doc.class_table.names),
                                   skip=[(files.t, files.z)], existing="skip")
        except RoiImportError as exc:
            return f"other planes not imported: {exc}"
        return f"other planes: {result.summary()}"

    # ------------------------------------------------------------------ export
    def _plane_name(self) -> str:
        """``<stem>[_s<series>][_t<t>_z<z>]`` of the current plane: the name its label file
        has (``cellpose_io.plane_tag``), without the ``_seg.npy``."""
        files = self.ctl.files
        if files.path is not None:
            return files.label_file().name[: -len(exchange.SEG_SUFFIX)]
        path = self.image_path()
        return Path(path).stem if path else "labels"

    def ask_export(self) -> None:
        if not self._need_image():
            return
        dlg = self._file_dialog("Export labels of this plane", save=True, filters=_filters()[1:])
        dlg.selectFile(self._plane_name() + ".tif")
        dlg.filterSelected.connect(lambda f: dlg.selectFile(
            self._plane_name() + _first_pattern(f)))
        dlg.fileSelected.connect(
            lambda p: self.export_path(_with_suffix(Path(p), dlg.selectedNameFilter())))
        dlg.open()

    def export_path(self, path: Path) -> Path | None:
        """Write the current plane's labels to ``path`` (format from its name)."""
        doc, t = self.ctl.doc, self.ctl.doc.class_table
        try:
            with busy_cursor():
                out = exchange.write_labels_file(path, doc.masks, doc.classes, list(t.names),
                                                 list(t.colors), image_path=self.image_path())
        except ExchangeError as exc:
            self.window.show_message(str(exc))
            return None
        self._remember_dir(Path(path))
        self.window.statusBar().showMessage(f"Exported {doc.n_objects} object(s) to {out}", 8000)
        return out

    def ask_export_all(self) -> None:
        if not self._need_image():
            return
        from guv_app.views.trainer.export_dialog import ExportAllDialog

        dlg = ExportAllDialog(self.window, self._start_dir(), exchange.EXPORT_ALL_FORMATS)
        dlg.chosen.connect(lambda folder, suffix: self.export_all(Path(folder), suffix))
        self.dialog = dlg
        dlg.open()

    def export_all(self, folder: Path, suffix: str) -> list[Path]:
        """Export every labelled plane of the open image's folder into ``folder``.

        Each file is named after its image and plane (``<stem><plane tag><suffix>``); the open plane is
        exported as edited, the others from their saved labels. A plane that fails is
        reported and the others are still written.
        """
        import cellpose_io
        from guv_app.services.datasets.discovery import seg_files_for

        files = self.ctl.files
        written: list[Path] = []
        failed: list[str] = []
        current = (files.path, (files.series, files.t, files.z))
        images = files.folder or ([files.path] if files.path else [])
        jobs = [(image, key, seg_path) for image in images
                for key, seg_path in seg_files_for(image)]
        if files.path is not None and not any((j[0], j[1]) == current for j in jobs):
            jobs.append((files.path, current[1], None))  # the open plane, not saved yet
        progress = QtWidgets.QProgressDialog("Exporting labels…", "Cancel", 0, len(jobs),
                                             self.window)
        progress.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(500)  # only shown when it takes a while
        self.progress = progress
        for k, (image, key, seg_path) in enumerate(jobs):
            progress.setValue(k)
            QtCore.QCoreApplication.processEvents()
            if progress.wasCanceled():
                failed.append(f"cancelled after {len(written)} of {len(jobs)} planes")
                break
            name = (Path(seg_path).name[: -len(exchange.SEG_SUFFIX)] if seg_path is not None
                    else self._plane_name())
            out = folder / (name + (exchange.SEG_SUFFIX if suffix == ".npy" else suffix))
            if seg_path is not None and out.absolute() == Path(seg_path).absolute():
                failed.append(f"{out.name}: that is the label file itself (choose another "
                              "folder)")
                continue
            try:
                keep_original(out)
                if (image, key) == current:
                    t = self.ctl.doc.class_table
                    masks, classes = self.ctl.doc.masks, self.ctl.doc.classes
                    names, colors = list(t.names), list(t.colors)
                else:
                    seg = cellpose_io.load_seg(seg_path)
                    masks, classes = seg.masks, seg.classes
                    names, colors = seg.class_names, seg.class_colors
                if not np.any(masks):
                    continue
                written.append(exchange.write_labels_file(
                    out, masks, classes, names, colors, image_path=image))
            except (ExchangeError, cellpose_io.CellposeIOError, OSError) as exc:
                failed.append(f"{out.name}: {getattr(exc, 'reason', exc)}")
        progress.setValue(len(jobs))
        progress.close()
        self._remember_dir(folder)
        text = f"Exported {len(written)} labelled plane(s) to {folder}"
        if failed:
            self.window.show_message(text + f"; {len(failed)} failed: " + "; ".join(failed[:5]))
        else:
            self.window.statusBar().showMessage(text, 8000)
        return written

    def ask_export_cellpose(self) -> None:
        if not self._need_image():
            return
        dlg = self._file_dialog("Export plane for Cellpose: choose a folder", save=False,
                                directory=True)
        dlg.fileSelected.connect(lambda p: self.export_cellpose(Path(p)))
        dlg.open()

    def export_cellpose(self, folder: Path) -> tuple[Path, Path] | None:
        """The current plane as ``<name>.tif`` + ``<name>_seg.npy`` for the Cellpose GUI."""
        doc, t = self.ctl.doc, self.ctl.doc.class_table
        try:
            tif, seg = exchange.export_for_cellpose(
                folder, self._plane_name(), self.ctl.planes, doc.masks, doc.classes,
                list(t.names), list(t.colors))
        except (OSError, ValueError, TypeError) as exc:
            self.window.show_message(f"Could not export for Cellpose into {folder}: {exc}")
            return None
        self._remember_dir(folder)
        self.window.statusBar().showMessage(f"Wrote {tif.name} and {seg.name} in {folder}", 8000)
        return tif, seg

    # ------------------------------------------------------------ open _seg.npy
    def open_seg(self, seg_path: Path) -> bool:
        """Open the image a ``_seg.npy`` belongs to, with those labels (as Cellpose does).

        The image is the one named inside the file, or an image beside it with the same
        name; if neither exists the user is told and offered to pick the image.
        """
        import cellpose_io

        seg_path = Path(seg_path)
        try:
            seg = cellpose_io.load_seg(seg_path)
        except cellpose_io.CellposeIOError as exc:
            self.window.show_message(f"Cannot open {seg_path.name}: {exc.reason}")
            return False
        image, plane = find_image_for_seg(seg_path, seg.filename)
        if image is None:
            where = f" ({seg.filename})" if seg.filename else ""
            self.window.ask(
                f"The image of {seg_path.name} was not found{where}. Pick the image these "
                "labels belong to?", ["Pick image…"],
                lambda ans: ans and self._pick_image_for(seg_path))
            return False
        return self._open_with(image, seg_path, plane)

    def _pick_image_for(self, seg_path: Path) -> None:
        from guv_app.controllers.open_dialogs import image_filters

        dlg = self._file_dialog(f"Pick the image of {seg_path.name}", save=False,
                                filters=image_filters())
        dlg.setDirectory(str(seg_path.parent))
        dlg.fileSelected.connect(lambda p: self._open_with(Path(p), seg_path))
        dlg.open()

    def _open_with(self, image: Path, seg_path: Path,
                   plane: tuple[int, int | None, int | None] | None = None) -> bool:
        """Open ``image`` on the plane ``seg_path`` belongs to, with those labels."""
        files = self.ctl.files
        if not files.open_path(image):
            return False
        series, t, z = plane or (0, None, None)
        if series:
            files.set_series(series)
        if t is not None and z is not None:
            files.set_plane(t, z)
            files._show_plane(t, z)
        if files.label_file().absolute() == Path(seg_path).absolute():
            return True  # its own labels: already loaded with the plane
        # the image's own labels are never replaced without the merge/replace question
        mode = None if self.ctl.doc.n_objects else "replace"
        return self.import_path(seg_path, mode=mode, as_objects=False)


def keep_original(path: Path) -> None:
    """Before a batch export replaces an existing file, keep it once as ``<name>.orig``."""
    import shutil

    backup = path.with_name(path.name + ".orig")
    if path.is_file() and not backup.exists():
        shutil.copy2(path, backup)


def find_image_for_seg(seg_path: Path, recorded: str = ""
                       ) -> tuple[Path | None, tuple[int, int | None, int | None] | None]:
    """The image a ``_seg.npy`` belongs to and which plane ``(series, t, z)``: the recorded
    file name if it exists, else an image beside the file whose label file name this is
    (``<stem>[_s<k>][_t<t>_z<z>]_seg.npy``)."""
    import cellpose_io
    from cellpose_io.seg import plane_of_file

    seg_path = Path(seg_path)
    try:
        candidates = [Path(p) for p in cellpose_io.list_image_files(seg_path.parent)]
    except OSError:
        candidates = []
    best: tuple[Path, tuple] | None = None
    for img in candidates:  # the longest matching stem wins (cells_s1.tif over cells.tif)
        plane = plane_of_file(seg_path.name, img.stem, exchange.SEG_SUFFIX)
        if plane is not None and (best is None or len(img.stem) > len(best[0].stem)):
            best = (img, plane)
    if recorded:
        p = Path(recorded)
        for cand in (p, seg_path.parent / p.name):
            if p.name and cand.is_file():
                plane = plane_of_file(seg_path.name, cand.stem, exchange.SEG_SUFFIX)
                return cand, plane
    return best if best is not None else (None, None)


def _first_pattern(name_filter: str) -> str:
    inside = name_filter[name_filter.find("(") + 1: name_filter.rfind(")")].split()
    pat = inside[0].lstrip("*") if inside else ".tif"
    return ".npy" if pat == exchange.SEG_SUFFIX else pat


def _with_suffix(path: Path, name_filter: str) -> Path:
    """Add the chosen format's extension when the typed name has none we know."""
    try:
        exchange.format_of(path)
        if path.name.lower().endswith(".npy") and not exchange.is_seg_file(path):
            return path.with_name(path.name[: -len(".npy")] + exchange.SEG_SUFFIX)
        return path
    except ExchangeError:
        suffix = _first_pattern(name_filter)
        return path.with_name(path.name + (exchange.SEG_SUFFIX if suffix == ".npy" else suffix))
