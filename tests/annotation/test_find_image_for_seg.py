"""Which image and plane a ``_seg.npy`` belongs to (opening a ``_seg.npy`` as Cellpose does)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile

from guv_app.services.annotation.exchange import find_image_for_seg


def _image(path: Path) -> Path:
    tifffile.imwrite(path, np.arange(64, dtype=np.uint16).reshape(8, 8))
    return path


def test_the_longest_image_name_the_label_file_starts_with_wins(tmp_path):
    _image(tmp_path / "cells.tif")
    own = _image(tmp_path / "cells_s1.tif")
    # cells_s1_seg.npy could be series 1 of cells.tif, but cells_s1.tif is named exactly
    assert find_image_for_seg(tmp_path / "cells_s1_seg.npy") == (own, (0, None, None))


def test_a_plane_tag_gives_the_plane(tmp_path):
    image = _image(tmp_path / "movie.tif")
    assert find_image_for_seg(tmp_path / "movie_s2_t3_z4_seg.npy") == (image, (2, 3, 4))


def test_the_image_recorded_in_the_file_comes_first(tmp_path):
    _image(tmp_path / "cells.tif")
    elsewhere = tmp_path / "raw"
    elsewhere.mkdir()
    recorded = _image(elsewhere / "original.tif")
    assert find_image_for_seg(tmp_path / "cells_seg.npy", str(recorded)) == (recorded, None)


def test_a_recorded_image_that_moved_is_found_beside_the_file(tmp_path):
    moved = _image(tmp_path / "cells.tif")
    gone = "/no/such/folder/cells.tif"
    assert find_image_for_seg(tmp_path / "cells_t1_z0_seg.npy", gone) == (moved, (0, 1, 0))


def test_no_image_gives_none(tmp_path):
    _image(tmp_path / "other.tif")
    assert find_image_for_seg(tmp_path / "cells_seg.npy") == (None, None)
