"""Outline mode stays right through edits, undo and recolouring (border cache)."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import Qt
from trainer_gestures import key, trace
from trainer_helpers import real_mask


def reference_edges(m: np.ndarray) -> np.ndarray:
    """Object pixels with a 4-neighbour of another id (inside the image), by padding."""
    p = np.pad(m.astype(np.int64), 1, constant_values=-1)
    c = p[1:-1, 1:-1]
    diff = np.zeros(m.shape, bool)
    for nb in (p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]):
        diff |= (nb != c) & (nb != -1)
    return diff & (m != 0)

CTRL = Qt.KeyboardModifier.ControlModifier


def _expected(ctl) -> np.ndarray:
    ov = ctl.canvas.overlay
    m = ctl.doc.masks
    return np.where(reference_edges(m), ov.lut.take(m), 0).astype(np.uint32)


def test_outline_buffer_matches_borders_after_edits(trainer, qtbot):
    ctl = trainer
    ctl.doc.import_labels(real_mask("fluorescence_02903040e19d"), mode="replace")
    key(ctl.canvas, Qt.Key.Key_O)  # filled -> outlines
    ov = ctl.canvas.overlay
    assert ov.mode == "outlines"
    assert np.array_equal(ov._buf32, _expected(ctl))
    trace(ctl.canvas, [(150.0, 150.0), (200.0, 150.0), (200.0, 190.0), (150.0, 190.0)],)
    assert np.array_equal(ov._buf32, _expected(ctl))
    key(ctl.canvas, Qt.Key.Key_C)  # colour by class: a LUT change, borders from the cache
    assert np.array_equal(ov._buf32, _expected(ctl))
    key(ctl.window, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(ov._buf32, _expected(ctl))
    key(ctl.canvas, Qt.Key.Key_O)  # hidden
    key(ctl.canvas, Qt.Key.Key_O)  # filled
    ctl.doc.delete(list(range(1, 8)))  # edits while filled: the cache must not go stale
    trace(ctl.canvas, [(110.0, 200.0), (140.0, 200.0), (140.0, 230.0), (110.0, 230.0)])
    key(ctl.canvas, Qt.Key.Key_O)  # outlines again
    assert np.array_equal(ov._buf32, _expected(ctl))
