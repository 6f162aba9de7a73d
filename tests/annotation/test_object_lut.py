"""Colouring objects by a caller's table (e.g. each object's track in the Analyzer)."""

from __future__ import annotations

import numpy as np

from guv_app.services.annotation.colors import object_lut

TABLE = np.array([[9, 9, 9], [255, 0, 0], [0, 200, 50]], np.uint8)  # RGB per object id


def _rgba(lut: np.ndarray) -> list[list[int]]:
    return lut.view(np.uint8).reshape(-1, 4).tolist()


def test_ids_take_their_colour_and_ids_beyond_the_table_are_grey():
    assert _rgba(object_lut(5, TABLE)) == [
        [0, 0, 0, 0],  # background stays transparent whatever the table says
        [255, 0, 0, 255], [0, 200, 50, 255],
        [160, 160, 160, 255], [160, 160, 160, 255],
    ]


def test_a_longer_table_is_cut_to_the_ids_there_are():
    assert _rgba(object_lut(2, TABLE, alpha=128)) == [[0, 0, 0, 0], [255, 0, 0, 128]]
