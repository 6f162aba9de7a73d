"""Opening a ``_seg.npy``: its image opens, on the plane the file belongs to, with those labels.

This is what the Cellpose GUI does with a dropped ``_seg.npy``. Which image and plane is
:func:`guv_app.services.annotation.exchange.find_image_for_seg` (no Qt); this part opens
them through the file session and, when the image has labels of its own that are not this
file, imports the file with the usual merge/replace question so that nothing drawn is lost.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PyQt6 import QtCore

from guv_app.controllers.trainer_parts import ExchangeHost
from guv_app.services.annotation.exchange import find_image_for_seg

log = logging.getLogger(__name__)


class SegOpening(QtCore.QObject):
    """Opens a ``_seg.npy`` with its image for one
    :class:`~guv_app.controllers.trainer_exchange.LabelExchange`."""

    def __init__(self, host: ExchangeHost) -> None:
        super().__init__(host)
        self.host = host
        self.ctl = host.ctl
        self.window = host.window

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

        dlg = self.host.file_dialog(f"Pick the image of {seg_path.name}", save=False,
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
        return self.host.import_path(seg_path, mode=mode, as_objects=False)
