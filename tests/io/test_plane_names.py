"""The per-plane file naming scheme (cellpose_io.plane_names) and label discovery per plane."""

from pathlib import Path

import numpy as np
import pytest

import cellpose_io
from cellpose_io.plane_names import PlaneKey, parse_plane_tag, plane_file_for, plane_tag


@pytest.mark.parametrize(
    ("plane", "name"),
    [
        ((0, 0, 0), "movie.ome_seg.npy"),  # Cellpose GUI name: only the last extension dropped
        ((2, 0, 0), "movie.ome_s2_seg.npy"),  # per-series files written before planes
        ((0, 5, 0), "movie.ome_s0_t5_z0_seg.npy"),
        ((1, 0, 3), "movie.ome_s1_t0_z3_seg.npy"),
        ((3, 12, 7), "movie.ome_s3_t12_z7_seg.npy"),
    ],
)
def test_plane_file_names_and_their_inverse(plane, name):
    path = cellpose_io.seg_path_for("/data/movie.ome.tif", series=plane[0], t=plane[1], z=plane[2])
    assert path == Path("/data") / name
    tag = name[len("movie.ome"): -len("_seg.npy")]
    assert plane_tag(*plane) == tag
    assert parse_plane_tag(tag) == PlaneKey(*plane)
    pred = plane_file_for("/data/movie.ome.tif", "_pred_seg.npy", *plane)
    assert pred.name == name.replace("_seg.npy", "_pred_seg.npy")


@pytest.mark.parametrize("tag", ["_s0", "_s0_t0_z0", "_s1_t0_z0", "_s01", "_t1", "_s1_t1", "x"])
def test_tags_that_name_no_plane_or_a_plane_twice_are_refused(tag):
    assert parse_plane_tag(tag) is None


def test_negative_index_is_refused():
    with pytest.raises(ValueError):
        plane_tag(0, -1, 0)


def test_training_set_takes_every_labelled_plane(tmp_path):
    from guv_app.services.datasets.discovery import find_labelled_images

    stack = np.zeros((3, 2, 16, 16), dtype=np.uint8)  # T=3, Z=2
    for t in range(3):
        for z in range(2):
            stack[t, z] = 10 * t + z
    import tifffile

    tifffile.imwrite(tmp_path / "movie.tif", stack, imagej=True, metadata={"axes": "TZYX"})
    masks = np.zeros((16, 16), dtype=np.uint16)
    masks[2:6, 2:6] = 1
    for t, z in [(0, 0), (2, 1)]:
        cellpose_io.save_seg(tmp_path / "movie.tif", masks,
                             out_path=cellpose_io.seg_path_for(tmp_path / "movie.tif", t=t, z=z))
    report = find_labelled_images(tmp_path)
    assert [(p.series, p.t, p.z) for p in report.pairs] == [(0, 0, 0), (0, 2, 1)]
    from guv_app.services.datasets.labels import read_plane

    pair = report.pairs[1]
    assert read_plane(pair.image, t=pair.t, z=pair.z, series=pair.series).max() == 21
