"""Per-plane file names (``cellpose_io.plane_tag``), their inverse, and a training set that
takes every labelled plane of a stack."""

from pathlib import Path

import numpy as np
import pytest
import tifffile

import cellpose_io
from cellpose_io.seg import parse_plane_tag, plane_of_file


@pytest.mark.parametrize(
    ("plane", "name"),
    [
        ((0, None, None), "movie.ome_seg.npy"),  # Cellpose GUI name: last extension dropped
        ((2, None, None), "movie.ome_s2_seg.npy"),  # a single-plane series
        ((0, 0, 0), "movie.ome_t0_z0_seg.npy"),  # the first plane of a stack
        ((0, 5, 0), "movie.ome_t5_z0_seg.npy"),
        ((3, 12, 7), "movie.ome_s3_t12_z7_seg.npy"),
    ],
)
def test_plane_file_names_and_their_inverse(plane, name):
    series, t, z = plane
    path = cellpose_io.seg_path_for("/data/movie.ome.tif", series=series, t=t, z=z)
    assert path == Path("/data") / name
    assert parse_plane_tag(name[len("movie.ome"): -len("_seg.npy")]) == plane
    assert plane_of_file(name, "movie.ome") == plane
    pred = cellpose_io.seg_path_for("/data/movie.ome.tif", cellpose_io.PRED_SUFFIX, series,
                                    t=t, z=z)
    assert plane_of_file(pred.name, "movie.ome", cellpose_io.PRED_SUFFIX) == plane


@pytest.mark.parametrize("tag", ["_s0", "_s01", "_t1", "_z1", "_t1_z", "_z1_t1", "x", "_pred"])
def test_tags_that_name_no_plane_are_refused(tag):
    assert parse_plane_tag(tag) is None


def test_training_set_takes_every_labelled_plane(tmp_path):
    from guv_app.services.datasets.discovery import find_labelled_images
    from guv_app.services.datasets.labels import read_plane

    stack = np.zeros((3, 2, 16, 16), dtype=np.uint8)  # T=3, Z=2, plane value 10 t + z
    for t in range(3):
        for z in range(2):
            stack[t, z] = 10 * t + z
    image = tmp_path / "movie.tif"
    tifffile.imwrite(image, stack, imagej=True, metadata={"axes": "TZYX"})
    tifffile.imwrite(tmp_path / "movie2.tif", stack[0, 0])  # a neighbour with a similar name
    masks = np.zeros((16, 16), dtype=np.uint16)
    masks[2:6, 2:6] = 1
    for t, z in [(0, 0), (2, 1)]:
        cellpose_io.save_seg(image, masks, out_path=cellpose_io.seg_path_for(image, t=t, z=z))
    cellpose_io.save_seg(tmp_path / "movie2.tif", masks)
    report = find_labelled_images(tmp_path)
    pairs = [(p.image.name, p.series, p.t, p.z) for p in report.pairs]
    assert pairs == [("movie.tif", 0, 0, 0), ("movie.tif", 0, 2, 1), ("movie2.tif", 0, 0, 0)]
    pair = report.pairs[1]
    assert read_plane(pair.image, t=pair.t, z=pair.z, series=pair.series).max() == 21
    # an untagged file written before planes counts as the first plane, the tagged one wins
    cellpose_io.save_seg(image, masks)
    again = find_labelled_images(tmp_path).pairs
    assert [p.labels.name for p in again if p.image == image] == [
        "movie_t0_z0_seg.npy", "movie_t2_z1_seg.npy"]
