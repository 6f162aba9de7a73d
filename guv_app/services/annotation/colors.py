"""Colour look-up tables for the label overlay, as packed RGBA ``uint32`` (one take per pixel).

A 1-D uint32 LUT indexed by object id turns a label image into RGBA with one ``take``,
4-5x faster than an (N, 4) uint8 LUT (see ``shared/notes/qt-gui-facts.md``). Class colours
are composed per object first (``class_colors[classes]``, a few thousand entries), never per
pixel.
"""

from __future__ import annotations

import numpy as np

from guv_app.services.annotation.class_table import ClassTable

SELECTED_RGB = (255, 255, 255)
SELECTED_MIX = 0.6


def pack_rgba(rgb: np.ndarray, alpha: np.ndarray | int) -> np.ndarray:
    """(N, 3) uint8 colours + alpha -> (N,) uint32 whose bytes are R, G, B, A in memory."""
    rgb = np.asarray(rgb, np.uint8).reshape(-1, 3)
    out = np.empty((len(rgb), 4), np.uint8)
    out[:, :3] = rgb
    out[:, 3] = alpha
    return out.view(np.uint32).ravel()


def _instance_rgb(n: int) -> np.ndarray:
    """Stable, well separated colours per id (golden-ratio hue walk, HSV -> RGB)."""
    ids = np.arange(n, dtype=np.float64)
    h = (ids * 0.618033988749895) % 1.0
    s = 0.55 + 0.35 * ((ids * 0.377) % 1.0)
    v = np.full(n, 0.95)
    i = np.floor(h * 6).astype(int) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r = np.choose(i, [v, q, p, p, t, v])
    g = np.choose(i, [t, v, v, q, p, p])
    b = np.choose(i, [p, p, t, v, v, q])
    return (np.stack([r, g, b], axis=1) * 255).astype(np.uint8)


def instance_lut(n: int, alpha: int = 255) -> np.ndarray:
    """LUT giving each id its own colour; id 0 transparent."""
    lut = pack_rgba(_instance_rgb(max(n, 1)), alpha)
    lut[0] = 0
    return lut


def class_lut(class_lookup: np.ndarray, table: ClassTable, alpha: int = 255) -> np.ndarray:
    """LUT colouring each id by its class; unassigned objects grey, hidden classes clear."""
    colors = np.asarray(table.colors, np.uint8).reshape(-1, 3).copy()
    colors[0] = (160, 160, 160)  # objects without a class stay visible, in grey
    per_class = pack_rgba(colors, alpha)
    lut = per_class[np.asarray(class_lookup, np.intp)]
    lut[0] = 0
    return lut


def object_lut(n: int, object_colors: np.ndarray, alpha: int = 255) -> np.ndarray:
    """LUT of ``n`` ids from a caller's colour per object id (``(M, 3)`` uint8 RGB, e.g.
    each object's track); ids beyond the table are grey, id 0 transparent."""
    rgb = np.full((n, 3), 160, np.uint8)
    m = min(n, len(object_colors))
    rgb[:m] = object_colors[:m]
    lut = pack_rgba(rgb, alpha)
    lut[0] = 0
    return lut


def selection_ids_lut(
    lut: np.ndarray,
    class_lookup: np.ndarray,
    table: ClassTable,
    selected: set[int] | None = None,
    alpha: int = 255,
) -> np.ndarray:
    """Finish a LUT: objects of hidden classes transparent, selected objects highlighted."""
    hidden = [i for i, v in enumerate(table.visible) if not v]
    if hidden:
        lut = lut.copy()
        lut[np.isin(np.asarray(class_lookup)[: len(lut)], hidden)] = 0
    if selected:
        lut = lut.copy()
        sel = np.fromiter((i for i in selected if i < len(lut)), np.intp)
        rgba = lut[sel].view(np.uint8).reshape(-1, 4).astype(np.float32)
        # selected objects: their own colour, lightened towards white (still recognisable)
        rgb = rgba[:, :3] * (1 - SELECTED_MIX) + np.asarray(SELECTED_RGB) * SELECTED_MIX
        lut[sel] = pack_rgba(rgb.round().astype(np.uint8), alpha)
    lut[0] = 0
    return lut
