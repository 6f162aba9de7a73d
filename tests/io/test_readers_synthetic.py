"""Readers on files written in the test: layouts and metadata the sample set lacks.

Flex (no public sample exists), ImageJ hyperstacks with calibration, OME-TIFF with units and
channel names, RGBA TIFF, 16-bit colour PNG, bare .npy arrays, NRRD with units, dax sidecar
variants, pickling, lazy plane access and lazy library imports.
"""

from __future__ import annotations

import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cellpose_io import ImageReadError, list_series, read_image

FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"
RNG = np.random.default_rng(42)


# -- Flex -------------------------------------------------------------------------------------
def flex_xml(names: list[str], factors: list[float], fields: int, planes: int) -> str:
    arrays = "".join(f'<Array Name="{n}" Factor="{f}" Width="9" Height="8"/>'
                     for n, f in zip(names, factors, strict=True))
    field_xml = "".join(f'<Field No="{i + 1}"/>' for i in range(fields))
    plane_xml = "".join(f'<Plane No="{i + 1}"/>' for i in range(planes))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Root xmlns="http://www.evotec-technologies.com/dtd/flex">'
        f"<Arrays>{arrays}</Arrays><Layout>{field_xml}{plane_xml}</Layout>"
        "<Images><Image No=\"1\"><ImageResolutionX Unit=\"m\">3.2E-07</ImageResolutionX>"
        "<ImageResolutionY Unit=\"m\">3.3E-07</ImageResolutionY></Image></Images></Root>"
    )


def write_flex(path: Path, pages: np.ndarray, xml: str | None) -> None:
    import tifffile

    extratags = [(65200, "s", 0, xml, True)] if xml is not None else []
    tifffile.imwrite(path, pages, extratags=extratags, metadata=None, photometric="minisblack")


def test_flex_fields_planes_channels(tmp_path):
    # 2 fields x 2 planes x 2 channels, C fastest; each page filled with its own number
    pages = np.stack([np.full((8, 9), 100 * i, np.uint16) for i in range(8)])
    pages[:, 0, 0] = np.arange(8)
    names = ["Exp1Cam1", "Exp1Cam2"] * 4
    write_flex(tmp_path / "well.flex", pages, flex_xml(names, [1.0] * 8, 2, 2))
    image = read_image(tmp_path / "well.flex")
    assert image.format == "flex"
    assert (image.axes, image.shape, image.dtype) == ("ZCYX", (2, 2, 8, 9), np.uint16)
    assert image.channel_names == ["Exp1Cam1", "Exp1Cam2"]
    assert image.n_series == 2 and image.series_names == ["field 1", "field 2"]
    assert image.pixel_size == pytest.approx((0.33, 0.32))
    np.testing.assert_array_equal(image.asarray(), pages[:4].reshape(2, 2, 8, 9))
    field2 = read_image(tmp_path / "well.flex", series=1)
    np.testing.assert_array_equal(field2.plane(z=1), pages[6:8])


def test_flex_factor_scales_pages_to_float(tmp_path):
    pages = np.stack([np.full((8, 9), 10 + i, np.uint16) for i in range(2)])
    write_flex(tmp_path / "scaled.flex", pages, flex_xml(["A", "B"], [1.0, 4.0], 1, 1))
    image = read_image(tmp_path / "scaled.flex")
    assert image.dtype == np.float32 and image.channel_names == ["A", "B"]
    plane = image.plane()
    assert plane[0, 0, 0] == 10 and plane[1, 0, 0] == 44


def test_flex_without_usable_xml_falls_back_to_pages(tmp_path):
    pages = RNG.integers(0, 4000, (3, 8, 9), dtype=np.uint16)
    write_flex(tmp_path / "plain.flex", pages, None)
    image = read_image(tmp_path / "plain.flex")
    assert image.axes == "ZYX" and "plain multi-page TIFF" in image.warnings[-1]
    np.testing.assert_array_equal(image.asarray(), pages)
    write_flex(tmp_path / "odd.flex", pages, flex_xml(["A", "B"], [1.0, 1.0], 1, 1))
    assert "2 arrays for 3 pages" in read_image(tmp_path / "odd.flex").warnings[-1]


# -- TIFF / OME-TIFF --------------------------------------------------------------------------
def test_imagej_hyperstack_calibration_and_channel_labels(tmp_path):
    import tifffile

    data = RNG.integers(0, 4000, (2, 3, 2, 8, 9), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "hyper.tif", data, imagej=True, resolution=(1 / 0.5, 1 / 0.25),
                     metadata={"axes": "TZCYX", "unit": "um", "Labels": ["DAPI", "GFP"] * 6})
    image = read_image(tmp_path / "hyper.tif")
    assert (image.axes, image.shape) == ("TZCYX", (2, 3, 2, 8, 9))
    assert image.pixel_size == pytest.approx((0.25, 0.5))
    assert image.channel_names == ["DAPI", "GFP"]
    np.testing.assert_array_equal(image.plane(1, 2), data[1, 2])
    np.testing.assert_array_equal(image.asarray(), data)


def test_ome_tiff_units_names_and_content_sniffing(tmp_path):
    import tifffile

    data = RNG.integers(0, 4000, (2, 3, 4, 8, 9), dtype=np.uint16)
    meta = {"axes": "TCZYX", "PhysicalSizeX": 250, "PhysicalSizeXUnit": "nm",
            "PhysicalSizeY": 300, "PhysicalSizeYUnit": "nm",
            "Channel": {"Name": ["DAPI", "GFP", "RFP"]}}
    tifffile.imwrite(tmp_path / "stack.ome.tif", data, ome=True, metadata=meta)
    shutil.copy(tmp_path / "stack.ome.tif", tmp_path / "exported.tif")  # OME inside a .tif
    for name in ("stack.ome.tif", "exported.tif"):
        image = read_image(tmp_path / name)
        assert image.format == "ome_tiff", name
        assert (image.axes, image.shape) == ("TZCYX", (2, 4, 3, 8, 9))
        assert image.channel_names == ["DAPI", "GFP", "RFP"]
        assert image.pixel_size == pytest.approx((0.3, 0.25))
        np.testing.assert_array_equal(image.plane(1, 3), data[1, :, 3])
        np.testing.assert_array_equal(image.asarray(), data.transpose(0, 2, 1, 3, 4))


def test_rgba_tiff_drops_alpha(tmp_path):
    import tifffile

    rgba = RNG.integers(0, 255, (8, 9, 4), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "rgba.tif", rgba, photometric="rgb")
    image = read_image(tmp_path / "rgba.tif")
    assert (image.axes, image.shape) == ("CYX", (3, 8, 9))
    np.testing.assert_array_equal(image.plane(), np.moveaxis(rgba[..., :3], -1, 0))


def test_tiff_plane_reads_only_its_own_pages(tmp_path):
    """A damaged page only breaks its own plane: plane() does not decode the others."""
    import tifffile

    data = RNG.integers(0, 255, (4, 32, 32), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "z.tif", data, compression="zlib", metadata=None,
                     photometric="minisblack")
    with tifffile.TiffFile(tmp_path / "z.tif") as tif:
        offset = tif.pages[2].dataoffsets[0]
    raw = bytearray((tmp_path / "z.tif").read_bytes())
    raw[offset:offset + 16] = b"\xff" * 16  # break page 2's zlib stream
    (tmp_path / "z.tif").write_bytes(bytes(raw))
    image = read_image(tmp_path / "z.tif")
    for z in (0, 1, 3):
        np.testing.assert_array_equal(image.plane(z=z)[0], data[z])
    with pytest.raises(ImageReadError, match="plane t=0 z=2"):
        image.plane(z=2)
    image.close()


# -- Pillow -----------------------------------------------------------------------------------
def test_png_jpeg_bmp_modes(tmp_path):
    import imagecodecs
    from PIL import Image as PILImage

    rgb16 = RNG.integers(0, 65535, (8, 9, 3), dtype=np.uint16)
    (tmp_path / "rgb16.png").write_bytes(imagecodecs.png_encode(rgb16))
    image = read_image(tmp_path / "rgb16.png")
    assert image.dtype == np.uint16 and image.shape == (3, 8, 9)
    np.testing.assert_array_equal(image.plane(), np.moveaxis(rgb16, -1, 0))

    grey16 = RNG.integers(0, 65535, (8, 9), dtype=np.uint16)
    PILImage.fromarray(grey16).save(tmp_path / "grey16.png")
    image = read_image(tmp_path / "grey16.png")
    assert (image.axes, image.dtype) == ("YX", np.uint16)
    np.testing.assert_array_equal(image.asarray(), grey16)

    rgb = RNG.integers(0, 255, (8, 9, 3), dtype=np.uint8)
    PILImage.fromarray(rgb).save(tmp_path / "rgb.bmp")
    np.testing.assert_array_equal(read_image(tmp_path / "rgb.bmp").asarray(),
                                  np.moveaxis(rgb, -1, 0))
    PILImage.fromarray(rgb).convert("P").save(tmp_path / "palette.png")
    assert read_image(tmp_path / "palette.png").shape == (3, 8, 9)
    PILImage.fromarray(grey16.astype(np.uint8)).save(tmp_path / "grey.jpg")
    jpg = read_image(tmp_path / "grey.jpg")
    assert (jpg.axes, jpg.shape, jpg.dtype) == ("YX", (8, 9), np.uint8)


# -- npy --------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, axes, to_contract", [
    ((5, 6), "YX", lambda a: a),
    ((10, 12, 3), "CYX", lambda a: np.moveaxis(a, -1, 0)),
    ((2, 10, 12), "CYX", lambda a: a),
    ((7, 10, 12), "ZYX", lambda a: a),
    ((5, 2, 10, 12), "ZCYX", lambda a: a),
    ((3, 5, 10, 12), "ZCYX", lambda a: a.transpose(1, 0, 2, 3)),
    ((6, 10, 12, 2), "ZCYX", lambda a: np.moveaxis(a, -1, 1)),
    ((2, 3, 2, 6, 7), "TZCYX", lambda a: a),
])
def test_npy_axis_guesses(tmp_path, shape, axes, to_contract):
    data = RNG.standard_normal(shape).astype(np.float32)
    np.save(tmp_path / "img.npy", data)
    image = read_image(tmp_path / "img.npy")
    assert image.axes == axes and image.dtype == np.float32
    np.testing.assert_array_equal(image.asarray(), to_contract(data))
    image.close()


def test_npy_bool_becomes_uint8(tmp_path):
    np.save(tmp_path / "mask.npy", np.eye(5, dtype=bool))
    image = read_image(tmp_path / "mask.npy")
    assert image.dtype == np.uint8
    np.testing.assert_array_equal(image.asarray(), np.eye(5, dtype=np.uint8))


# -- NRRD -------------------------------------------------------------------------------------
def test_nrrd_units_and_rgb_kind(tmp_path):
    import nrrd

    vol = RNG.integers(-100, 100, (4, 8, 9), dtype=np.int16)
    nrrd.write(str(tmp_path / "vol.nrrd"), vol, index_order="C",
               header={"spacings": [0.5, 0.25, 2.0], "units": ["um", "um", "um"]})
    image = read_image(tmp_path / "vol.nrrd")
    assert (image.axes, image.pixel_size) == ("ZYX", pytest.approx((0.25, 0.5)))
    np.testing.assert_array_equal(image.asarray(), vol)

    rgb = RNG.integers(0, 255, (8, 9, 3), dtype=np.uint8)
    nrrd.write(str(tmp_path / "rgb.nrrd"), rgb, index_order="C",
               header={"kinds": ["RGB-color", "domain", "domain"], "encoding": "gzip"})
    image = read_image(tmp_path / "rgb.nrrd")
    assert (image.axes, image.shape) == ("CYX", (3, 8, 9))
    np.testing.assert_array_equal(image.plane(), np.moveaxis(rgb, -1, 0))


# -- dax --------------------------------------------------------------------------------------
def test_dax_sidecar_smaller_count_and_little_endian(tmp_path):
    frames = RNG.integers(0, 65535, (4, 6, 5), dtype=np.uint16)  # H=6, W=5
    frames.astype("<u2").tofile(tmp_path / "le.dax")
    (tmp_path / "le.inf").write_text(
        "data type = 16 bit integers (binary, little endian)\n"
        "frame dimensions = 5 x 6\nnumber of frames = 2\n"
    )
    image = read_image(tmp_path / "le.dax")
    assert image.shape == (4, 6, 5)
    assert "says 2 frames" in image.warnings[0] and "4 frames" in image.warnings[0]
    np.testing.assert_array_equal(image.asarray(), frames)


# -- pickling, laziness, imports ---------------------------------------------------------------
@pytest.mark.parametrize("rel", ["nd2/cluster.nd2", "tiff/BBBC022_IXMtest_A02_s9_3ch_imagej.tif",
                                 "dax/test.dax", "lif/PR2729_frameOrderCombinedScanTypes.lif",
                                 "czi/s_1_t_1_c_1_z_1.czi"])
def test_image_pickles_for_workers(rel):
    image = read_image(FORMATS / rel, series=0)
    last = (image.size_t - 1, image.size_z - 1)
    expected = image.plane(*last)
    clone = pickle.loads(pickle.dumps(image))
    np.testing.assert_array_equal(clone.plane(*last), expected)
    assert clone.axes == image.axes and clone.channel_names == image.channel_names
    clone.close()
    image.close()


def test_list_series():
    assert list_series(FORMATS / "lif/PR2729_frameOrderCombinedScanTypes.lif") == [
        f"TileScan_001 tile {m}/4" for m in (1, 2, 3, 4)]
    assert len(list_series(FORMATS / "nd2/cluster.nd2")) == 1


def test_format_libraries_are_imported_only_when_used():
    png = sorted((FORMATS.parent / "labelled/dsb2018/images").glob("*.png"))[0]
    code = (
        "import sys, cellpose_io\n"
        "libs = ('tifffile', 'nd2', 'readlif', 'nrrd', 'czifile', 'PIL', 'imagecodecs')\n"
        "assert not [m for m in libs if m in sys.modules], 'import cellpose_io'\n"
        "cellpose_io.supported_extensions(); cellpose_io.is_image_file('a.nd2')\n"
        "assert not [m for m in libs if m in sys.modules], 'listing readers'\n"
        f"cellpose_io.read_image({str(png)!r}).plane()\n"
        "print(','.join(m for m in libs if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "PIL"
