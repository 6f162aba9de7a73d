"""Tracing a contour with real mouse events creates exactly one object with the right pixels."""

from __future__ import annotations

import numpy as np
from PyQt6 import QtCore
from skimage.draw import polygon as sk_polygon
from trainer_gestures import click, key, trace

Qt = QtCore.Qt
SQUARE = [(150.0, 150.0), (200.0, 150.0), (200.0, 190.0), (150.0, 190.0)]


def _expected(shape, pts) -> np.ndarray:
    """Pixels whose centre is inside the polygon (independent of our rasteriser)."""
    xs = np.array([p[0] for p in pts]) - 0.5
    ys = np.array([p[1] for p in pts]) - 0.5
    rr, cc = sk_polygon(ys, xs, shape)
    out = np.zeros(shape, bool)
    out[rr, cc] = True
    return out


def _check_square(doc, obj: int) -> None:
    got = doc.masks == obj
    want = _expected(doc.shape, SQUARE)
    # mouse positions are rounded to screen pixels: allow one pixel on the border only
    inner = want.copy()
    inner[1:-1, 1:-1] = want[:-2, 1:-1] & want[2:, 1:-1] & want[1:-1, :-2] & want[1:-1, 2:]
    assert got[inner].all(), "interior pixels missing"
    ys, xs = np.nonzero(got)
    assert ys.min() >= 149 and ys.max() <= 190 and xs.min() >= 149 and xs.max() <= 200
    assert abs(got.sum() - want.sum()) <= 2 * (50 + 40) + 4


def test_trace_right_click_makes_one_object(trainer, qtbot):
    doc, canvas = trainer.doc, trainer.canvas
    assert doc.n_objects == 0
    with qtbot.waitSignal(canvas.traceFinished):
        trace(canvas, SQUARE, close_by="right_click")
    assert doc.n_objects == 1
    obj = int(doc.object_ids()[0])
    _check_square(doc, obj)
    assert doc.class_of(obj) == doc.current_class


def test_trace_closes_when_returning_to_start(trainer, qtbot):
    with qtbot.waitSignal(trainer.canvas.traceFinished):
        trace(trainer.canvas, SQUARE, close_by="return")
    assert trainer.doc.n_objects == 1
    assert not trainer.canvas.tracing
    _check_square(trainer.doc, int(trainer.doc.object_ids()[0]))


def test_trace_enter_closes_and_escape_aborts(trainer, qtbot):
    canvas = trainer.canvas
    with qtbot.waitSignal(canvas.traceAborted):
        trace(canvas, SQUARE, close_by="escape")
    assert trainer.doc.n_objects == 0 and not canvas.tracing
    assert not trainer.doc.can_undo
    trace(canvas, SQUARE, close_by="enter")
    assert trainer.doc.n_objects == 1


def test_trace_does_not_steal_pixels_and_undo_redo(trainer, qtbot):
    doc, canvas = trainer.doc, trainer.canvas
    trace(canvas, SQUARE)
    first = int(doc.object_ids()[0])
    before = doc.masks.copy()
    # a second contour overlapping the first: the first object's pixels are kept
    trace(canvas, [(180.0, 170.0), (230.0, 170.0), (230.0, 220.0), (180.0, 220.0)])
    assert doc.n_objects == 2
    second = int(max(doc.object_ids()))
    assert np.array_equal(doc.masks == first, before == first)
    assert (doc.masks == second).sum() > 0
    key(trainer.window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(doc.masks, before)
    key(trainer.window, Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert (doc.masks == second).sum() > 0


def test_ctrl_click_deletes_object_and_undo_restores(trainer, qtbot):
    doc, canvas = trainer.doc, trainer.canvas
    trace(canvas, SQUARE)
    obj = int(doc.object_ids()[0])
    before = doc.masks.copy()
    click(canvas, 170, 170, mods=Qt.KeyboardModifier.ControlModifier)
    assert doc.n_objects == 0 and not (doc.masks == obj).any()
    key(trainer.window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(doc.masks, before)
