"""Every reader on the real sample files: axes, shape, dtype, metadata and pixel values.

Pixel values are compared with an independent reading of the same file (the format library
called directly, or the raw bytes laid out by hand), and every plane() with the slice of
asarray() it should equal.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cellpose_io import read_image

FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"
DSB = Path(__file__).resolve().parents[1] / "data" / "labelled" / "dsb2018" / "images"

# file, axes, shape, dtype (shapes from tests/data/SOURCES.md)
EXPECTED = [
    ("nd2/cluster.nd2", "TZCYX", (3, 10, 2, 31, 38), "uint16"),
    ("lif/PR2729_frameOrderCombinedScanTypes.lif", "TZCYX", (2, 3, 2, 64, 64), "uint8"),
    ("nrrd/BallBinary30x30x30.nrrd", "ZYX", (30, 30, 30), "int16"),
    ("nrrd/BallBinary30x30x30_gz.nrrd", "ZYX", (30, 30, 30), "int16"),
    ("nrrd/BallBinary30x30x30.nhdr", "ZYX", (30, 30, 30), "int16"),
    ("dax/test.dax", "TYX", (10, 256, 256), "uint16"),
    ("ome_tiff/s_1_t_1_c_1_z_1.ome.tiff", "YX", (325, 475), "uint16"),
    ("ome_tiff/ome-artificial_multi-channel.ome.tiff", "CYX", (3, 167, 439), "int8"),
    ("czi/s_1_t_1_c_1_z_1.czi", "YX", (325, 475), "uint16"),
    ("tiff/BBBC022_IXMtest_A02_s9_3ch_imagej.tif", "CYX", (3, 395, 695), "uint16"),
    ("tiff/skimage_multipage.tif", "ZYX", (2, 15, 10), "uint8"),
    ("tiff/skimage_multipage_rgb.tif", "ZCYX", (2, 3, 10, 10), "float64"),
]


def _tzcyx(image) -> np.ndarray:
    """asarray() expanded to 5-D (T, Z, C, Y, X) to index planes uniformly."""
    arr = image.asarray()
    shape = (image.size_t, image.size_z) + image.plane_shape
    return arr.reshape(shape)


@pytest.mark.parametrize("rel, axes, shape, dtype", EXPECTED, ids=[e[0] for e in EXPECTED])
def test_real_file_axes_shape_dtype_and_planes(rel, axes, shape, dtype):
    image = read_image(FORMATS / rel)
    with image:
        assert image.axes == axes
        assert image.shape == shape
        assert image.dtype == np.dtype(dtype)
        full = image.asarray()
        assert full.shape == shape and full.dtype == np.dtype(dtype)
        assert full.any(), "all-zero pixels: nothing was actually read"
        stack = _tzcyx(image)
        for t in range(image.size_t):
            for z in range(image.size_z):
                plane = image.plane(t, z)
                assert plane.shape == image.plane_shape
                np.testing.assert_array_equal(plane, stack[t, z])


def test_tiff_pixels_match_tifffile():
    import tifffile

    for rel in ("tiff/BBBC022_IXMtest_A02_s9_3ch_imagej.tif", "tiff/skimage_multipage.tif",
                "tiff/skimage_multipage_rgb.tif", "ome_tiff/s_1_t_1_c_1_z_1.ome.tiff",
                "ome_tiff/ome-artificial_multi-channel.ome.tiff"):
        np.testing.assert_array_equal(read_image(FORMATS / rel).asarray(),
                                      tifffile.imread(FORMATS / rel), err_msg=rel)


def test_imagej_channel_names_and_format():
    image = read_image(FORMATS / "tiff/BBBC022_IXMtest_A02_s9_3ch_imagej.tif")
    assert image.format == "tiff"
    assert image.channel_names == [f"IXMtest_A02_s9_c{i}.tif" for i in (1, 2, 3)]
    assert image.pixel_size is None  # the file carries no calibration
    np.testing.assert_array_equal(image.plane()[1], image.asarray()[1])


def test_nd2_pixels_metadata_and_frame_order():
    import nd2

    image = read_image(FORMATS / "nd2/cluster.nd2")
    reference = nd2.imread(FORMATS / "nd2/cluster.nd2")  # (T, Z, C, Y, X)
    np.testing.assert_array_equal(image.asarray(), reference)
    np.testing.assert_array_equal(image.plane(2, 7), reference[2, 7])
    assert image.channel_names == ["5-FAM/pH 9.0", "FM 4-64/2% CHAPS"]
    assert image.pixel_size == pytest.approx((0.1678, 0.1678), abs=1e-4)
    image.close()


def _lif_reference(path: Path) -> np.ndarray:
    """The LIF pixel block laid out by hand from the file's XML (BytesInc of each dim).

    X 1, Y 64, channel 4096, Z 8192, tile (M) 24576, T 98304 bytes: so the block is
    (T=2, M=4, Z=3, C=2, Y=64, X=64) in C order. Only readlif's data offset is used.
    """
    from readlif.reader import LifFile

    lif = LifFile(str(path))
    incs = {d.get("DimID"): int(d.get("BytesInc")) for d in lif.xml_root.iter("DimensionDescription")}
    assert incs == {"1": 1, "2": 64, "3": 8192, "10": 24576, "4": 98304}
    start, length = lif.get_image(0).offsets[:2]
    raw = np.fromfile(path, dtype=np.uint8, count=length, offset=start)
    return raw.reshape(2, 4, 3, 2, 64, 64)


def test_lif_tiles_are_series_with_pixels_from_the_xml_layout():
    path = FORMATS / "lif/PR2729_frameOrderCombinedScanTypes.lif"
    reference = _lif_reference(path)
    first = read_image(path)
    assert first.n_series == 4
    assert first.series_names == [f"TileScan_001 tile {m}/4" for m in (1, 2, 3, 4)]
    assert first.channel_names == ["Green", "Red"]
    assert first.pixel_size == pytest.approx((250 / 63, 250 / 63), rel=1e-3)
    for m in range(4):
        tile = read_image(path, series=m)
        np.testing.assert_array_equal(tile.asarray(), reference[:, m], err_msg=f"tile {m}")
    # tiles differ, so a wrong tile order could not pass
    assert not np.array_equal(reference[:, 0], reference[:, 3])


def test_nrrd_three_encodings_agree_with_pynrrd():
    import nrrd

    reference, _ = nrrd.read(str(FORMATS / "nrrd/BallBinary30x30x30.nrrd"), index_order="C")
    for name in ("BallBinary30x30x30.nrrd", "BallBinary30x30x30_gz.nrrd",
                 "BallBinary30x30x30.nhdr"):
        image = read_image(FORMATS / "nrrd" / name)
        np.testing.assert_array_equal(image.asarray(), reference, err_msg=name)
        np.testing.assert_array_equal(image.plane(0, 15)[0], reference[15], err_msg=name)
        assert image.pixel_size is None  # space directions without units
        image.close()


def test_dax_big_endian_frames_match_raw_bytes():
    path = FORMATS / "dax/test.dax"
    reference = np.fromfile(path, dtype=">u2").reshape(10, 256, 256)
    image = read_image(path)
    assert image.warnings == []  # sidecar and file size agree
    np.testing.assert_array_equal(image.asarray(), reference)
    np.testing.assert_array_equal(image.plane(t=9)[0], reference[9])
    assert image.asarray().dtype.byteorder in ("=", "<", "|")  # native, usable downstream
    image.close()


def test_czi_matches_czifile_and_ome_tiff_twin():
    import czifile

    image = read_image(FORMATS / "czi/s_1_t_1_c_1_z_1.czi")
    reference = czifile.imread(FORMATS / "czi/s_1_t_1_c_1_z_1.czi").squeeze()
    np.testing.assert_array_equal(image.asarray(), reference)
    assert image.channel_names == ["Bright"]
    assert image.pixel_size == pytest.approx((1.08333, 1.08333), abs=1e-4)
    # the OME-TIFF is the same field exported by Bio-Formats
    twin = read_image(FORMATS / "ome_tiff/s_1_t_1_c_1_z_1.ome.tiff")
    np.testing.assert_array_equal(image.asarray(), twin.asarray())
    assert twin.channel_names == ["Bright"] and twin.format == "ome_tiff"
    assert twin.pixel_size == pytest.approx(image.pixel_size)


def test_ome_tiff_multichannel_is_read_from_ome_metadata():
    image = read_image(FORMATS / "ome_tiff/ome-artificial_multi-channel.ome.tiff")
    assert image.format == "ome_tiff"
    assert image.channel_names == []  # the channels carry no Name
    assert image.series_names == ["multi-channel.ome.tiff"]
    # synthetic pattern: the three channels differ
    arr = image.asarray()
    assert not np.array_equal(arr[0], arr[1]) and not np.array_equal(arr[1], arr[2])


def test_skimage_rgb_pages_become_channels():
    import tifffile

    image = read_image(FORMATS / "tiff/skimage_multipage_rgb.tif")
    reference = tifffile.imread(FORMATS / "tiff/skimage_multipage_rgb.tif")  # (2, 3, 10, 10)
    assert image.n_channels == 3 and image.size_z == 2
    np.testing.assert_array_equal(image.plane(z=1), reference[1])


@pytest.mark.parametrize("png", sorted(DSB.glob("*.png"))[:3], ids=lambda p: p.name)
def test_rgba_png_gives_three_channels_alpha_dropped(png):
    from PIL import Image as PILImage

    with PILImage.open(png) as pil:
        assert pil.mode == "RGBA"
        rgba = np.asarray(pil)
    image = read_image(png)
    assert image.axes == "CYX" and image.shape == (3,) + rgba.shape[:2]
    assert image.dtype == np.uint8
    np.testing.assert_array_equal(image.asarray(), np.moveaxis(rgba[..., :3], -1, 0))
