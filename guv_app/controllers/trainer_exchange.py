"""File ▸ Import labels / Export labels / Export for Cellpose, and opening a ``_seg.npy``.

Formats and their rules live in :mod:`guv_app.services.annotation.exchange`; this module
only asks the questions (which file, merge or replace, label a binary mask as objects?) and
puts the result into the label document as one undo step. It serves the Trainer and the
Analyzer's prediction editor alike: ``image_path`` says which image the labels belong to.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6 import QtCore, QtWidgets

from guv_app.controllers.task_runner import TaskRunner, last_step, step_reporter
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
    """Import/export actions of one Trainer window.

    Big files are read and written off the GUI thread (a 10,000-object RoiSet takes
    seconds), with a Cancel button: a cancelled import changes nothing, a cancelled export
    leaves no file (it is written under a temporary name and moved into place only when
    it was not cancelled).
    """

    ASYNC_BYTES = 2_000_000  # label files bigger than this are read off the GUI thread
    ASYNC_OBJECTS = 2000  # exports of more objects are written off the GUI thread

    def __init__(self, ctl: TrainerParts,
                 image_path: Callable[[], Path | None] | None = None) -> None:
        super().__init__(ctl)
        self.ctl = ctl
        self.window = ctl.window
        self.image_path = image_path or (lambda: ctl.files.path)
        self.dialog: QtWidgets.QFileDialog | None = None
        self.runner = TaskRunner(self, name="label exchange")
        self.runner.finished.connect(self._job_finished)
        self.runner.failed.connect(self._job_failed)
        self.runner.progress.connect(self._on_progress)
        self._pending: dict | None = None
        self.progress: QtWidgets.QProgressDialog | None = None
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
        names = list(doc.class_table.names)
        plane = (files.t, files.z)

        sets = getattr(self.ctl, "channels", None)  # a _seg.npy gives the set being labelled
        channel = None if sets is None else sets.sets.active

        def read() -> ImportedLabels:
            return exchange.read_labels_file(path, doc.shape, names, plane=plane, stack=stack,
                                             label_channel=channel)

        big = path.is_file() and path.stat().st_size > self.ASYNC_BYTES
        opened = self._opened()

        def done(labels: ImportedLabels) -> None:
            if self._opened() != opened:  # another image or plane meanwhile: not for it
                self.window.show_message(f"The image changed while {path.name} was read; "
                                         "nothing was imported.")
                return
            self._after_read(labels, mode, as_objects)

        return self._run(read, done, f"Reading {path.name}…", background=big,
                         fail="Cannot import labels: ")

    def _opened(self) -> tuple:
        """Which plane the labels on screen belong to (changes with every load)."""
        f = self.ctl.files
        return (getattr(f, "token", None), self.image_path(), f.series, f.t, f.z,
                self.ctl.doc.shape)

    def _after_read(self, labels: ImportedLabels, mode: str | None,
                    as_objects: bool | None) -> bool:
        path = labels.source
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

    # ------------------------------------------------------------ background
    def _run(self, work, done, text: str, *, background: bool, fail: str = "",
             cleanup=None, job=None, steps: int = 0) -> bool:
        """``done(work())`` now (busy cursor), or with ``work`` on a worker thread behind a
        progress dialog whose Cancel drops the result (``cleanup`` then runs)."""
        if not background:
            try:
                with busy_cursor():
                    result = work()
            except ExchangeError as exc:
                self.window.show_message(f"{fail}{exc}")
                return False
            done(result)
            return True
        if self.runner.running:
            self.window.statusBar().showMessage(
                "Another import or export is still running", 4000)
            return False
        dlg = QtWidgets.QProgressDialog(text, "Cancel", 0, steps, self.window)  # 0: busy
        dlg.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        dlg.setMinimumDuration(0)
        dlg.setAutoClose(False)
        state = {"done": done, "cleanup": cleanup, "fail": fail, "cancelled": False,
                 "dialog": dlg}

        def cancel() -> None:
            state["cancelled"] = True
            self.runner.cancel()

        dlg.canceled.connect(cancel)
        self._pending = state
        self.progress = dlg
        self.runner.start(job if job is not None else (lambda _report, _cancel: work()))
        dlg.show()
        return True

    def _on_progress(self, batch: list) -> None:
        step = last_step(batch)
        if step is not None and self._pending is not None:
            dlg = self._pending["dialog"]
            dlg.setMaximum(step.total)
            dlg.setValue(step.done)
            dlg.setLabelText(f"Exported {step.message} ({step.done} of {step.total})")

    def _finish_job(self) -> dict | None:
        state, self._pending = self._pending, None
        if state is not None:
            dlg = state["dialog"]
            dlg.canceled.disconnect()
            dlg.close()
            if state["cancelled"] and state["cleanup"] is not None:
                state["cleanup"]()
        return state

    def _job_finished(self, result: object) -> None:
        state = self._finish_job()
        if state is None:
            return
        if state["cancelled"]:
            self.window.statusBar().showMessage("Cancelled: nothing was changed", 6000)
        else:
            state["done"](result)

    def _job_failed(self, message: str) -> None:
        state = self._finish_job()
        if state is not None and not state["cancelled"]:
            self.window.show_message(f"{state['fail']}{message}")

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
        path = Path(path)
        n = doc.n_objects
        big = n > self.ASYNC_OBJECTS
        masks = doc.masks.copy() if big else doc.masks  # a snapshot when written meanwhile
        classes, names, colors = doc.classes, list(t.names), list(t.colors)
        image = self.image_path()
        target = path.with_name(f".exporting-{path.name}") if big else path

        def write() -> Path:
            return exchange.write_labels_file(target, masks, classes, names, colors,
                                              image_path=image)

        def done(_written: Path) -> None:
            if big:
                os.replace(target, path)
            self._remember_dir(path)
            self.window.statusBar().showMessage(f"Exported {n} object(s) to {path}", 8000)
            self.last_export = path

        self.last_export = None
        ok = self._run(write, done, f"Writing {path.name}…", background=big,
                       cleanup=lambda: target.unlink(missing_ok=True))
        return path if ok and not big else None  # (in the background: see ``last_export``)

    def ask_export_all(self) -> None:
        if not self._need_image():
            return
        from guv_app.views.trainer.export_dialog import ExportAllDialog

        dlg = ExportAllDialog(self.window, self._start_dir(), exchange.EXPORT_ALL_FORMATS)
        dlg.chosen.connect(lambda folder, suffix: self.export_all(Path(folder), suffix))
        self.dialog = dlg
        dlg.open()

    def export_all(self, folder: Path, suffix: str) -> list[Path] | None:
        """Export every labelled plane of the open image's folder into ``folder``.

        Each file is named after its image and plane (``<stem><plane tag><suffix>``); the
        open plane is exported as edited, the others from their saved labels. A plane that
        fails is reported and the others are still written. Many or big planes run in the
        background with a progress bar and Cancel (then None is returned and the result
        comes as a message).
        """
        from guv_app.services.datasets.discovery import seg_files_for

        files, doc = self.ctl.files, self.ctl.doc
        current = (files.path, (files.series, files.t, files.z))
        images = files.folder or ([files.path] if files.path else [])
        found = [(Path(image), key, seg_path) for image in images
                 for key, seg_path in seg_files_for(image)]
        if files.path is not None and not any((f[0], f[1]) == current for f in found):
            found.append((files.path, current[1], None))  # the open plane, not saved yet
        t = doc.class_table
        open_data = (doc.masks.copy(), doc.classes, list(t.names), list(t.colors))
        sets = getattr(self.ctl, "channels", None)  # the label set shown, on every plane
        channel = None if sets is None else sets.sets.active
        planes = [exchange.PlaneExport(
            image, seg_path,
            Path(seg_path).name[: -len(exchange.SEG_SUFFIX)] if seg_path is not None
            else self._plane_name(),
            open_data if (image, key) == current else None, channel)
            for image, key, seg_path in found]
        size = sum(Path(p.seg_path).stat().st_size for p in planes
                   if p.seg_path is not None and Path(p.seg_path).is_file())
        big = len(planes) > 20 or size > 20 * self.ASYNC_BYTES or \
            doc.n_objects > self.ASYNC_OBJECTS
        self._remember_dir(folder)
        result: list = []

        def work(report=None, cancel=None):
            progress = step_reporter(report) if report is not None else None
            return exchange.export_planes(planes, folder, suffix, progress,
                                          cancel.is_set if cancel is not None else None)

        def done(outcome) -> None:
            written, failed = outcome
            result.extend(written)
            text = f"Exported {len(written)} labelled plane(s) to {folder}"
            if failed:
                self.window.show_message(
                    text + f"; {len(failed)} failed: " + "; ".join(failed[:5]))
            else:
                self.window.statusBar().showMessage(text, 8000)

        if not big:
            with busy_cursor():
                done(work())
            return result
        self._run(None, done, "Exporting labels…", background=True, job=work,
                  steps=len(planes))
        return None

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
