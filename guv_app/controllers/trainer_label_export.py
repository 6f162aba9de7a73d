"""File ▸ Export labels (this plane / every labelled plane) and Export for Cellpose.

Writing is :mod:`guv_app.services.annotation.exchange`; this part picks the file or folder,
names each file after its image and plane (the name its ``_seg.npy`` has, so exports of a
stack sort and match), and hands big exports to the shared job runner: those are written
under a temporary name and moved into place only when not cancelled, so Cancel leaves no
half-written file.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PyQt6 import QtCore

from guv_app.controllers.open_dialogs import label_filters
from guv_app.controllers.task_runner import step_reporter
from guv_app.controllers.trainer_parts import ExchangeHost
from guv_app.services.annotation import exchange
from guv_app.services.annotation.exchange import ExchangeError
from guv_app.views.busy import busy_cursor

log = logging.getLogger(__name__)


class LabelExport(QtCore.QObject):
    """The export direction of one :class:`~guv_app.controllers.trainer_exchange.LabelExchange`."""

    def __init__(self, host: ExchangeHost) -> None:
        super().__init__(host)
        self.host = host
        self.ctl = host.ctl
        self.window = host.window

    def _plane_name(self) -> str:
        """``<stem>[_s<series>][_t<t>_z<z>]`` of the current plane: the name its label file
        has (``cellpose_io.plane_tag``), without the ``_seg.npy``."""
        files = self.ctl.files
        if files.path is not None:
            return files.label_file().name[: -len(exchange.SEG_SUFFIX)]
        path = self.host.image_path()
        return Path(path).stem if path else "labels"

    # ------------------------------------------------------------- one plane
    def ask_export(self) -> None:
        if not self.host.need_image():
            return
        dlg = self.host.file_dialog("Export labels of this plane", save=True,
                                    filters=label_filters()[1:])
        dlg.selectFile(self._plane_name() + ".tif")
        dlg.filterSelected.connect(lambda f: dlg.selectFile(
            self._plane_name() + _first_pattern(f)))
        dlg.fileSelected.connect(
            lambda p: self.export_path(_with_suffix(Path(p), dlg.selectedNameFilter())))
        dlg.open()

    def export_path(self, path: Path) -> Path | None:
        """Write the current plane's labels to ``path`` (format from its name)."""
        host = self.host
        doc, t = self.ctl.doc, self.ctl.doc.class_table
        path = Path(path)
        n = doc.n_objects
        big = n > host.ASYNC_OBJECTS
        masks = doc.masks.copy() if big else doc.masks  # a snapshot when written meanwhile
        classes, names, colors = doc.classes, list(t.names), list(t.colors)
        image = host.image_path()
        target = path.with_name(f".exporting-{path.name}") if big else path

        def write() -> Path:
            return exchange.write_labels_file(target, masks, classes, names, colors,
                                              image_path=image)

        def done(_written: Path) -> None:
            if big:
                os.replace(target, path)
            host.remember_dir(path)
            self.window.statusBar().showMessage(f"Exported {n} object(s) to {path}", 8000)
            host.last_export = path

        host.last_export = None
        ok = host.run(write, done, f"Writing {path.name}…", background=big,
                      cleanup=lambda: target.unlink(missing_ok=True))
        return path if ok and not big else None  # (in the background: see ``last_export``)

    # ------------------------------------------------------- every labelled plane
    def ask_export_all(self) -> None:
        if not self.host.need_image():
            return
        from guv_app.views.trainer.export_dialog import ExportAllDialog

        dlg = ExportAllDialog(self.window, self.host.start_dir(), exchange.EXPORT_ALL_FORMATS)
        dlg.chosen.connect(lambda folder, suffix: self.export_all(Path(folder), suffix))
        self.host.dialog = dlg
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

        host = self.host
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
        big = len(planes) > 20 or size > 20 * host.ASYNC_BYTES or \
            doc.n_objects > host.ASYNC_OBJECTS
        host.remember_dir(folder)
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
        host.run(None, done, "Exporting labels…", background=True, job=work,
                 steps=len(planes))
        return None

    # ------------------------------------------------------------ for Cellpose
    def ask_export_cellpose(self) -> None:
        if not self.host.need_image():
            return
        dlg = self.host.file_dialog("Export plane for Cellpose: choose a folder", save=False,
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
        self.host.remember_dir(folder)
        self.window.statusBar().showMessage(f"Wrote {tif.name} and {seg.name} in {folder}", 8000)
        return tif, seg


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
