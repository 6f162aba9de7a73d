"""An ImageJ hyperstack cut off before its last frame opens with the frames it holds."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import tifffile

import cellpose_io
from cellpose_io import ImageReadError

REAL = Path(__file__).resolve().parents[1] / "data" / "formats" / "tiff" / \
    "BBBC022_IXMtest_A02_s9_3ch_imagej.tif"


def real_time_series(tmp_path: Path) -> Path:
    """The real ImageJ file (big-endian, IFDs after the pixels) declared as 3 frames.

    Its header says ``channels=3``; the same bytes as ``frames=003`` make it a time series
    without moving anything in the file.
    """
    data = REAL.read_bytes()
    assert data.count(b"channels=3") == 1
    path = tmp_path / "movie.tif"
    path.write_bytes(data.replace(b"channels=3", b"frames=003"))
    return path


def test_truncated_real_imagej_movie_opens_its_complete_frames(tmp_path, caplog):
    whole = real_time_series(tmp_path)
    with tifffile.TiffFile(REAL) as tif:
        expected = tif.asarray()  # (3, Y, X): the three planes
        page = tif.pages.first
        offset, nbytes = page.dataoffsets[0], page.nbytes
    cut = tmp_path / "cut.tif"
    cut.write_bytes(whole.read_bytes()[: offset + 2 * nbytes + nbytes // 3])
    with caplog.at_level(logging.WARNING):
        image = cellpose_io.read_image(cut)
    assert (image.axes, image.shape) == ("TYX", (2, 395, 695))
    assert "promises 3 frames but the file holds 2" in image.warnings[0]
    assert any("promises 3 frames" in r.getMessage() for r in caplog.records)
    for t in range(2):
        assert np.array_equal(image.plane(t=t)[0], expected[t])
    with pytest.raises(IndexError):
        image.plane(t=2)
    import pickle  # images travel to Dask workers: the cut file still reads after pickling

    assert np.array_equal(pickle.loads(pickle.dumps(image)).plane(t=1)[0], expected[1])
    intact = cellpose_io.read_image(whole)  # the uncut file still goes through tifffile
    assert intact.shape == (3, 395, 695) and not intact.warnings


def test_truncated_hyperstack_keeps_whole_time_points_of_z_and_c(tmp_path):
    data = (np.arange(5 * 2 * 3 * 16 * 24) % 60000).astype(np.uint16).reshape(5, 2, 3, 16, 24)
    path = tmp_path / "tzc.tif"
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "TZCYX"},
                     resolution=(1 / 0.5, 1 / 0.5))
    with tifffile.TiffFile(path) as tif:
        offset = tif.pages.first.dataoffsets[0]
    plane = 16 * 24 * 2
    path.write_bytes(path.read_bytes()[: offset + (3 * 6 + 4) * plane])  # 3 frames + 4 planes
    image = cellpose_io.read_image(path)
    assert (image.axes, image.shape) == ("TZCYX", (3, 2, 3, 16, 24))
    assert np.array_equal(image.asarray(), data[:3])


def test_cut_inside_the_first_frame_is_still_refused(tmp_path):
    whole = real_time_series(tmp_path)
    cut = tmp_path / "cut.tif"
    cut.write_bytes(whole.read_bytes()[:5000])
    with pytest.raises(ImageReadError, match=str(cut)):
        cellpose_io.read_image(cut).plane()
