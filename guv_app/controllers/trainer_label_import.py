"""File ▸ Import labels: a label file's objects onto the open plane, as one undo step.

Reading is :func:`guv_app.services.annotation.exchange.read_labels_file`; this part asks
what only the user can say (merge with or replace the objects already there; label the
blobs of a binary or class-id mask as objects?) and keeps the plane's label file as
``.bak`` before a replacement is saved over it. A file read in the background is dropped
when the user moved to another image or plane meanwhile: labels never land on the wrong
plane.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PyQt6 import QtCore

from guv_app.controllers.open_dialogs import label_filters
from guv_app.controllers.trainer_parts import ExchangeHost
from guv_app.services.annotation import exchange
from guv_app.services.annotation.exchange import ImportedLabels
from guv_app.views.busy import busy_cursor

log = logging.getLogger(__name__)
MERGE, REPLACE = "Merge with current labels", "Replace current labels"
AS_OBJECTS, AS_IS = "Label each blob as an object", "Keep the values as they are"


class LabelImport(QtCore.QObject):
    """The import direction of one :class:`~guv_app.controllers.trainer_exchange.LabelExchange`."""

    def __init__(self, host: ExchangeHost) -> None:
        super().__init__(host)
        self.host = host
        self.ctl = host.ctl
        self.window = host.window

    def ask_import(self) -> None:
        if not self.host.need_image():
            return
        dlg = self.host.file_dialog("Import labels onto this plane", save=False,
                                    filters=label_filters())
        dlg.fileSelected.connect(lambda p: self.import_path(Path(p)))
        dlg.open()

    def import_path(self, path: Path, mode: str | None = None,
                    as_objects: bool | None = None) -> bool:
        """Read ``path`` and put its objects on the current plane (asking what is unclear).

        ``mode`` ("merge"/"replace") and ``as_objects`` (label blobs of a binary/class-id
        mask) are asked when None and there is a choice to make.
        """
        path = Path(path)
        host = self.host
        if not host.need_image():
            return False
        host.remember_dir(path)
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

        big = path.is_file() and path.stat().st_size > host.ASYNC_BYTES
        opened = self._opened()

        def done(labels: ImportedLabels) -> None:
            if self._opened() != opened:  # another image or plane meanwhile: not for it
                self.window.show_message(f"The image changed while {path.name} was read; "
                                         "nothing was imported.")
                return
            self._after_read(labels, mode, as_objects)

        return host.run(read, done, f"Reading {path.name}…", background=big,
                        fail="Cannot import labels: ")

    def _opened(self) -> tuple:
        """Which plane the labels on screen belong to (changes with every load)."""
        f = self.ctl.files
        return (getattr(f, "token", None), self.host.image_path(), f.series, f.t, f.z,
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
