"""The label overlay: one persistent RGBA buffer, recoloured per bounding box on edits.

Recomputing the whole overlay of a 2048x2048 image costs 20-50 ms; recolouring the edited
bounding box in place and repainting that rectangle costs well under a millisecond. The
buffer is handed to pyqtgraph once (uint8 RGBA, no levels, no LUT), which wraps it in a
QImage without copying, so in-place writes show up on the next paint.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore

Slices = tuple[slice, slice]
MODES = ("filled", "outlines", "hidden")


def outline_pixels(m: np.ndarray) -> np.ndarray:
    """Pixels whose 4-neighbour has another label (object borders), for a label block."""
    edge = np.zeros(m.shape, bool)
    d = m[1:, :] != m[:-1, :]
    edge[1:, :] |= d
    edge[:-1, :] |= d
    d = m[:, 1:] != m[:, :-1]
    edge[:, 1:] |= d
    edge[:, :-1] |= d
    return edge & (m != 0)


class LabelOverlay:
    """Draws a label image through a packed uint32 RGBA LUT (``lut[id]``)."""

    def __init__(self) -> None:
        self.item = pg.ImageItem(axisOrder="row-major")
        self.item.setZValue(10)
        self.item.setOpacity(0.5)
        self.mode = "filled"
        self._masks: np.ndarray | None = None
        self._lut = np.zeros(1, np.uint32)
        self._buf: np.ndarray | None = None
        self._buf32: np.ndarray | None = None
        # border pixels of the whole image, kept while the labels do not change outside an
        # outline-mode update: recolouring outlines (LUT, selection, class colours, mode
        # toggles) then skips the border search
        self._edge: np.ndarray | None = None

    # ------------------------------------------------------------- setters
    def set_labels(self, masks: np.ndarray, lut: np.ndarray) -> None:
        """Follow a (live) label array; the overlay reads it on every update."""
        self._masks = masks
        self._edge = None
        self._lut = np.ascontiguousarray(lut, np.uint32)
        h, w = masks.shape
        if self._buf is None or self._buf.shape[:2] != (h, w):
            self._buf = np.zeros((h, w, 4), np.uint8)
            self._buf32 = self._buf.view(np.uint32)[..., 0]
            self.item.setImage(self._buf, autoLevels=False, levels=None)
        self.redraw()

    def set_lut(self, lut: np.ndarray, *, redraw: bool = True) -> None:
        self._lut = np.ascontiguousarray(lut, np.uint32)
        if redraw:
            self.redraw()

    @property
    def lut(self) -> np.ndarray:
        return self._lut

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"overlay mode must be one of {MODES}")
        self.mode = mode
        self.item.setVisible(mode != "hidden")
        self.redraw()

    def set_opacity(self, opacity: float) -> None:
        self.item.setOpacity(min(max(float(opacity), 0.0), 1.0))

    # ------------------------------------------------------------- drawing
    def covers(self, max_id: int) -> bool:
        """True if the LUT has an entry for ``max_id``."""
        return max_id < len(self._lut)

    def redraw(self) -> None:
        """Recompute the whole buffer (mode, LUT or image changed)."""
        if self._masks is None or self._buf32 is None:
            return
        full = (slice(0, self._masks.shape[0]), slice(0, self._masks.shape[1]))
        self._fill(full)
        self.item.update()

    def update_region(self, sl: Slices, cleared: np.ndarray | None = None) -> None:
        """Recolour one bounding box after an edit and repaint only that rectangle.

        ``cleared`` (bool, the box's shape): only these pixels changed, to background; in
        filled mode they are just cleared (a bulk delete skips recolouring the whole box).
        """
        if self._masks is None or self._buf32 is None:
            return
        if cleared is not None and self.mode != "outlines":
            self._edge = None
            np.copyto(self._buf32[sl], 0, where=cleared)
            r0, c0 = sl[0].start, sl[1].start
            self.item.update(QtCore.QRectF(c0, r0, sl[1].stop - c0, sl[0].stop - r0))
            return
        if self.mode == "outlines":  # borders of neighbours change one pixel outside
            h, w = self._masks.shape
            sl = (slice(max(sl[0].start - 1, 0), min(sl[0].stop + 1, h)),
                  slice(max(sl[1].start - 1, 0), min(sl[1].stop + 1, w)))
        else:
            self._edge = None  # labels changed where borders are not followed
        self._fill(sl, labels_changed=True)
        r0, c0 = sl[0].start, sl[1].start
        rect = QtCore.QRectF(c0, r0, sl[1].stop - c0, sl[0].stop - r0)
        self.item.update(rect)

    def _edges(self, sl: Slices, labels_changed: bool) -> np.ndarray:
        """Border pixels inside ``sl`` (from the cache unless the labels changed there)."""
        h, w = self._masks.shape
        whole = sl[0].start == 0 and sl[0].stop == h and sl[1].start == 0 and sl[1].stop == w
        if self._edge is not None and not labels_changed:
            return self._edge[sl]
        ps = (slice(max(sl[0].start - 1, 0), min(sl[0].stop + 1, h)),
              slice(max(sl[1].start - 1, 0), min(sl[1].stop + 1, w)))
        edge = outline_pixels(self._masks[ps])
        edge = edge[sl[0].start - ps[0].start : sl[0].stop - ps[0].start,
                    sl[1].start - ps[1].start : sl[1].stop - ps[1].start]
        if whole:
            self._edge = np.ascontiguousarray(edge)
        elif self._edge is not None:
            self._edge[sl] = edge
        return edge

    def _fill(self, sl: Slices, labels_changed: bool = False) -> None:
        m = self._masks[sl]
        if self.mode == "outlines":
            edge = self._edges(sl, labels_changed)
            out = self._buf32[sl]
            np.take(self._lut, m, out=out, mode="clip")
            np.copyto(out, 0, where=~edge)
        else:  # mode="clip": no bounds check and no buffering (ids < len(LUT) always)
            np.take(self._lut, m, out=self._buf32[sl], mode="clip")
