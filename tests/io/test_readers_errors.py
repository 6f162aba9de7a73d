"""Bad input: only ImageReadError escapes, and its message names the file and the reason.

Truncated copies of the real sample files are cut inside their pixel data (or their
structure), so reading them completely must fail; a reader that silently returns fewer pages
or zero-filled planes fails these tests.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from cellpose_io import ImageReadError, is_image_file, read_image, supported_extensions

FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"
PNG = sorted((Path(__file__).resolve().parents[1] / "data/labelled/dsb2018/images").glob("*.png"))[0]

REAL = [
    "nd2/cluster.nd2",
    "lif/PR2729_frameOrderCombinedScanTypes.lif",
    "nrrd/BallBinary30x30x30.nrrd",
    "nrrd/BallBinary30x30x30_gz.nrrd",
    "ome_tiff/s_1_t_1_c_1_z_1.ome.tiff",
    "ome_tiff/ome-artificial_multi-channel.ome.tiff",
    "czi/s_1_t_1_c_1_z_1.czi",
    "tiff/BBBC022_IXMtest_A02_s9_3ch_imagej.tif",
    "tiff/skimage_multipage.tif",
    "tiff/skimage_multipage_rgb.tif",
]


def read_everything(path: Path, series: int | None = None) -> None:
    """Open and load every plane of every series (a lazy reader may fail only here)."""
    first = read_image(path)
    for s in range(first.n_series) if series is None else [series]:
        image = read_image(path, series=s)
        image.asarray()
        image.close()
    first.close()


def assert_read_error(path: Path, *words: str) -> ImageReadError:
    with pytest.raises(ImageReadError) as info:
        read_everything(path)
    message = str(info.value)
    assert str(path) in message, message
    assert "\n" not in message, message
    for word in words:
        assert word.lower() in message.lower(), message
    return info.value


@pytest.mark.parametrize("fraction", [0.004, 0.5, 0.95])
@pytest.mark.parametrize("rel", REAL, ids=[r.split("/")[-1] for r in REAL])
def test_truncated_real_files_raise_image_read_error(tmp_path, rel, fraction):
    data = (FORMATS / rel).read_bytes()
    if rel.startswith("ome_tiff/s_1"):
        # this file's pixel strips sit near the start (bytes 2915-311665); the tail holds
        # nothing a reader needs, so cut inside the strips instead
        cut = 2915 + int(308750 * fraction)
    else:
        cut = max(8, int(len(data) * fraction))
    path = tmp_path / f"cut_{Path(rel).name}"
    path.write_bytes(data[:cut])
    assert_read_error(path)


def test_truncated_png(tmp_path):
    path = tmp_path / "cut.png"
    path.write_bytes(PNG.read_bytes()[:5000])
    assert_read_error(path)


def test_truncated_jpeg_fails_when_its_pixels_are_read(tmp_path):
    import io

    from PIL import Image as PILImage

    buffer = io.BytesIO()
    rgb = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    PILImage.fromarray(rgb).save(buffer, format="JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    assert_read_error(path, "truncated")


def test_truncated_dax_is_read_by_file_size_with_a_warning(tmp_path, caplog):
    """Acquisition stopped early: the sidecar says 10 frames, the file holds 7."""
    data = (FORMATS / "dax/test.dax").read_bytes()
    frame = 256 * 256 * 2
    (tmp_path / "movie.dax").write_bytes(data[: 7 * frame + 100])
    shutil.copy(FORMATS / "dax/test.inf", tmp_path / "movie.inf")
    image = read_image(tmp_path / "movie.dax")
    assert image.shape == (7, 256, 256)
    assert len(image.warnings) == 1
    warning = image.warnings[0]
    assert "10 frames" in warning and "7" in warning and "trusting the file size" in warning
    assert "trusting the file size" in caplog.text
    reference = np.frombuffer(data[: 7 * frame], dtype=">u2").reshape(7, 256, 256)
    np.testing.assert_array_equal(image.asarray(), reference)
    image.close()


def test_dax_without_sidecar_or_less_than_a_frame(tmp_path):
    shutil.copy(FORMATS / "dax/test.dax", tmp_path / "lonely.dax")
    assert_read_error(tmp_path / "lonely.dax", "lonely.inf", "missing")
    (tmp_path / "tiny.dax").write_bytes(b"\x00" * 100)
    shutil.copy(FORMATS / "dax/test.inf", tmp_path / "tiny.inf")
    assert_read_error(tmp_path / "tiny.dax", "less than one")


def test_nhdr_with_missing_or_short_data_file(tmp_path):
    shutil.copy(FORMATS / "nrrd/BallBinary30x30x30.nhdr", tmp_path / "ball.nhdr")
    assert_read_error(tmp_path / "ball.nhdr", "not found")
    raw = (FORMATS / "nrrd/BallBinary30x30x30.raw").read_bytes()
    (tmp_path / "BallBinary30x30x30.raw").write_bytes(raw[:1000])
    assert_read_error(tmp_path / "ball.nhdr", "truncated")


@pytest.mark.parametrize("ext", [".tif", ".png", ".jpg", ".nd2", ".lif", ".czi", ".nrrd",
                                 ".npy", ".ome.tif", ".flex", ".dax", ".bmp"])
def test_empty_file(tmp_path, ext):
    path = tmp_path / f"empty{ext}"
    path.write_bytes(b"")
    assert_read_error(path, "empty")


@pytest.mark.parametrize("ext", [".tif", ".png", ".jpg", ".nd2", ".lif", ".czi", ".nrrd",
                                 ".npy", ".ome.tiff", ".flex", ".bmp"])
def test_garbage_bytes_with_an_image_extension(tmp_path, ext):
    path = tmp_path / f"garbage{ext}"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert_read_error(path, "not a valid")


def test_text_file_named_tif(tmp_path):
    path = tmp_path / "notes.tif"
    path.write_text("these are my notes, not an image\n")
    error = assert_read_error(path, "TIFF", "unrecognised content")
    assert error.path == str(path)


def test_unsupported_extension_directory_and_missing_file(tmp_path):
    path = tmp_path / "data.xyz"
    path.write_bytes(b"whatever")
    assert_read_error(path, "unsupported file type", ".xyz")
    assert_read_error(FORMATS / "dax/test.inf", "unsupported")
    folder = tmp_path / "stack.tif"
    folder.mkdir()
    assert_read_error(folder, "folder")
    assert_read_error(tmp_path / "nothing.tif", "not found")
    assert ".tif" in supported_extensions() and ".xyz" not in supported_extensions()


def test_series_out_of_range():
    with pytest.raises(ImageReadError, match="series 4 does not exist"):
        read_image(FORMATS / "lif/PR2729_frameOrderCombinedScanTypes.lif", series=4)
    with pytest.raises(ImageReadError, match="series 1 does not exist"):
        read_image(FORMATS / "nd2/cluster.nd2", series=1)


def test_plane_index_out_of_range_is_an_index_error():
    image = read_image(FORMATS / "tiff/skimage_multipage.tif")
    with pytest.raises(IndexError, match="z=2"):
        image.plane(z=2)


def test_png_renamed_tif_is_sniffed_and_says_so(tmp_path):
    path = tmp_path / "actually_png.tif"
    shutil.copy(PNG, path)
    image = read_image(path)
    assert image.format == "pillow" and image.n_channels == 3
    assert image.warnings and "content is PNG" in image.warnings[0]
    np.testing.assert_array_equal(image.asarray(), read_image(PNG).asarray())


def test_tiff_renamed_png_is_sniffed(tmp_path):
    path = tmp_path / "actually_tiff.png"
    shutil.copy(FORMATS / "tiff/BBBC022_IXMtest_A02_s9_3ch_imagej.tif", path)
    image = read_image(path)
    assert image.format == "tiff" and image.shape == (3, 395, 695)
    assert "content is TIFF" in image.warnings[0]
    image.close()


def test_seg_npy_is_not_an_image(tmp_path):
    path = tmp_path / "cells_seg.npy"
    np.save(path, {"masks": np.zeros((4, 4), np.uint16)}, allow_pickle=True)
    assert_read_error(path, "_seg.npy", "load_seg")
    assert not is_image_file(path)
    assert is_image_file(tmp_path / "cells.npy") and is_image_file(tmp_path / "a.OME.TIF")
    assert not is_image_file(tmp_path / "._cells.tif") and not is_image_file(tmp_path / "a.txt")


def test_pickled_npy_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    assert_read_error(path, "pickle")


def test_npy_with_unusable_arrays(tmp_path):
    np.save(tmp_path / "line.npy", np.arange(10))
    assert_read_error(tmp_path / "line.npy", "1-D")
    np.save(tmp_path / "complex.npy", np.ones((4, 4), np.complex64))
    assert_read_error(tmp_path / "complex.npy", "complex64")
