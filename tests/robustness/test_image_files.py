"""Malformed image files for every reader, declared sizes refused before decoding, and planes
that stay valid after their file is closed (memory lifetime), compared with TIFF copies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hostile import npy_header, png_declaring, run_isolated, tiff_declaring

from cellpose_io import ImageReadError, read_image
from cellpose_io.label_images import read_label_image

TESTS = Path(__file__).resolve().parents[1]
FORMATS = TESTS / "data" / "formats"
BAD = TESTS / "data" / "bad_inputs"
LIMIT_MSG = ("declares {w}x{h} pixels ({n:,} per plane), above the limit of 1,073,741,824 "
             "(set MULTICELLPOSE_MAX_IMAGE_PIXELS to change it); not decoded")


def _good_tiff_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    tifffile.imwrite(buf, np.arange(64 * 64, dtype=np.uint16).reshape(64, 64))
    return buf.getvalue()


# file name -> (bytes or None for a folder, exact reason after "<path>: ")
MALFORMED: dict[str, tuple[bytes | None, str]] = {
    "empty.tif": (b"", "file is empty (0 bytes)"),
    "text.tif": (b"just text", "not a valid OME-TIFF file: unrecognised content (first bytes "
                               "6a 75 73 74 20 74 65 78)"),
    "truncated.tif": (_good_tiff_bytes()[:300], "truncated TIFF: pixel data ends at byte 8448 "
                                                "but the file has 300 bytes"),
    "bad_ifd.ome.tif": (b"II*\0\x08\0\0\0\xff\xff", "cannot read as TIFF: TiffFileError: "
                                                    "suspicious number of tags 65535"),
    "folder.tif": (None, "is a folder, not an image file"),
    "garbage.png": (b"\x89PNG\r\n\x1a\n" + b"\0" * 50, "cannot read as PNG/JPEG/BMP: "
                    "UnidentifiedImageError: cannot identify image file '{path}'"),
    "garbage.jpg": (b"\xff\xd8\xff" + b"\0" * 40, "cannot read as PNG/JPEG/BMP: "
                    "UnidentifiedImageError: cannot identify image file '{path}'"),
    "pickle.npy": (npy_header("|O", ()) + b"\x80\x04N.", "cannot read as NumPy .npy: "
                   "ValueError: Array can't be memory-mapped: Python objects in dtype."),
    "complex.npy": (npy_header("<c16", (2, 2)) + b"\0" * 64, "cannot read as NumPy .npy: "
                    "ValueError: array of dtype complex128 is not an image (need integer or "
                    "float)"),
    "six_d.npy": (npy_header("|u1", (1, 1, 1, 1, 2, 2)) + b"\0" * 4, "cannot read as NumPy "
                  ".npy: ValueError: cannot read a 6-D array as an image (need 2 to 5 "
                  "dimensions)"),
    "short.npy": (npy_header("<u2", (128, 128)) + b"\0" * 10, "cannot read as NumPy .npy: "
                  "ValueError: mmap length is greater than file size"),
    "bad_header.npy": (b"\x93NUMPY\x01\x00" + b"\xff" * 40, "cannot read as NumPy .npy: "
                       "ValueError: EOF: reading array header, expected 65535 bytes got 38"),
    "garbage.nrrd": (b"NRRD0004\ntype: banana\n\n", "cannot read as NRRD: KeyError: 'sizes'"),
    "garbage.czi": (b"ZISRAWFILE" + b"\0" * 100, "cannot read as Zeiss CZI: error: unpack "
                    "requires a buffer of 80 bytes"),
    "garbage.nd2": (b"\xda\xce\xbe\n" + b"\0" * 100, "cannot read as Nikon ND2: error: unpack "
                    "requires a buffer of 112 bytes"),
    "garbage.lif": (b"\x70\0\0\0" + b"\0" * 100, "cannot read as Leica LIF: ValueError: "
                    "Expected LIF memory byte at 9"),
    "garbage.flex": (b"II*\0" + b"\0" * 20, "cannot read as Opera Flex: IndexError: 0"),
    "no_sidecar.dax": (b"\0" * 100, "the sidecar no_sidecar.inf (frame size) is missing"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_image_is_one_line_naming_the_file(tmp_path, name):
    data, reason = MALFORMED[name]
    path = tmp_path / name
    if data is None:
        path.mkdir()
    else:
        path.write_bytes(data)
    with pytest.raises(ImageReadError) as info:
        image = read_image(path)
        image.plane(0, 0)
    assert str(info.value) == f"{path}: " + reason.format(path=path)
    assert "\n" not in str(info.value)


BOMBS = {
    "bomb.tif": (tiff_declaring, 60000, 60000),
    "bomb.png": (png_declaring, 60000, 60000),
    "tall.tif": (tiff_declaring, 2**31, 1),
    "wide_16bit.tif": (lambda p, h, w: tiff_declaring(p, h, w, bits=16), 40000, 40000),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_declared_size_refused_before_decoding(tmp_path, name):
    """A few hundred bytes declaring billions of pixels: refused from the header by the
    image readers and the label-image reader alike (same limit, same words)."""
    make, h, w = BOMBS[name]
    path = make(tmp_path / name, h, w)
    assert path.stat().st_size < 1000
    expected = f"{path}: " + LIMIT_MSG.format(w=w, h=h, n=w * h)
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    assert str(info.value) == expected
    from cellpose_io import LabelReadError

    with pytest.raises(LabelReadError) as info:
        read_label_image(path)
    assert str(info.value) == expected


def test_size_limit_is_configurable(tmp_path):
    """The env variable and set_max_image_pixels move the limit for every reader."""
    small = tmp_path / "small.tif"
    tifffile.imwrite(small, np.zeros((100, 100), np.uint8))
    code = ("import sys, cellpose_io\n"
            "try:\n    cellpose_io.read_image(sys.argv[1]); print('ok')\n"
            "except cellpose_io.ImageReadError as e: print(e)\n")
    proc = run_isolated(code, str(small), env={"MULTICELLPOSE_MAX_IMAGE_PIXELS": "9999"})
    assert proc.stdout.strip() == (f"{small}: declares 100x100 pixels (10,000 per plane), "
                                   "above the limit of 9,999 (set "
                                   "MULTICELLPOSE_MAX_IMAGE_PIXELS to change it); not decoded")
    bomb = tiff_declaring(tmp_path / "bomb.tif", 60000, 60000)
    proc = run_isolated(code, str(bomb), env={"MULTICELLPOSE_MAX_IMAGE_PIXELS": "none"})
    assert "declares" not in proc.stdout  # limit off: it gets as far as the codec

    from cellpose_io.limits import set_max_image_pixels

    previous = set_max_image_pixels(9999)
    try:
        with pytest.raises(ImageReadError, match="above the limit of 9,999"):
            read_image(small)
    finally:
        set_max_image_pixels(previous)
    assert read_image(small).plane().shape == (1, 100, 100)


# ------------------------------------------------------------------ memory lifetime

LIFETIME = """
import gc, json, sys
import numpy as np, tifffile
import cellpose_io
pairs = json.loads(sys.argv[1])
rounds = int(sys.argv[2])
out = {}
for src, ref in pairs:
    kept, bad = [], 0
    for _ in range(rounds):
        a = cellpose_io.read_image(src)
        b = cellpose_io.read_image(ref)
        planes = [(a.plane(t, z), b.plane(t, z)) for t in (0, a.size_t - 1)
                  for z in (0, a.size_z - 1)]
        a.close(); b.close(); del a, b
        gc.collect()
        junk = [np.full(1 << 16, 0x5A, np.uint8) for _ in range(64)]  # reuse freed pages
        kept.append(planes)
        bad += sum(not np.array_equal(x, y) for x, y in planes)
        del junk
    bad += sum(not np.array_equal(x, y) for planes in kept for x, y in planes)
    from cellpose_io.image import owned
    out[src] = [bad, owned(planes[0][0]) is planes[0][0], str(planes[0][0].dtype)]
print(json.dumps(out))
"""


def _reference_tiff(src: Path, out: Path) -> Path:
    """The same pixels as ``src`` written as an ImageJ hyperstack TIFF (TZCYX)."""
    image = read_image(src)
    stack = np.stack([np.stack([image.plane(t, z) for z in range(image.size_z)])
                      for t in range(image.size_t)])
    imagej = stack.dtype in (np.uint8, np.uint16, np.float32)  # what ImageJ files can hold
    tifffile.imwrite(out, stack, imagej=imagej, photometric="minisblack",
                     metadata={"axes": "TZCYX"})
    image.close()
    return out


def _sources(tmp: Path) -> list[Path]:
    files = [BAD / "npy_image" / "plain.npy"]
    for sub in sorted(FORMATS.iterdir()):
        files += [p for p in sorted(sub.iterdir()) if p.suffix.lower() in
                  (".czi", ".dax", ".lif", ".nd2", ".nrrd", ".nhdr", ".tif", ".tiff")]
    rgb = tmp / "rgb.png"
    from PIL import Image as PILImage

    PILImage.fromarray(np.random.default_rng(0).integers(0, 255, (40, 50, 3), np.uint8)).save(rgb)
    grey16 = tmp / "grey16.png"
    PILImage.fromarray(np.arange(2000, dtype=np.uint16).reshape(40, 50)).save(grey16)
    stack = tmp / "stack.npy"
    np.save(stack, np.random.default_rng(1).integers(0, 4000, (3, 2, 30, 20), np.uint16))
    return files + [rgb, grey16, stack]


def test_every_reader_returns_planes_that_outlive_the_file(tmp_path):
    """Each reader's planes equal the same pixels read from a TIFF copy, 20 times over,
    and planes kept after their image was closed still hold the right pixels."""
    pairs = []
    for i, src in enumerate(_sources(tmp_path)):
        local = tmp_path / f"src{i}" / src.name
        local.parent.mkdir()
        shutil.copy(src, local)
        for sidecar in src.parent.glob(src.stem + ".*"):
            if sidecar.suffix in (".inf", ".raw"):
                shutil.copy(sidecar, local.parent / sidecar.name)
        pairs.append([str(local), str(_reference_tiff(local, tmp_path / f"ref{i}.tif"))])
    proc = run_isolated(LIFETIME, json.dumps(pairs), "20", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(result) == len(pairs) >= 12
    for src, (bad, owns, _dtype) in result.items():
        assert bad == 0, f"{src}: {bad} planes differ from the TIFF copy"
        assert owns, f"{src}: plane is a view into a memory map"


def test_npy_and_tiff_pair_from_bad_inputs_measure_the_same(tmp_path):
    """The issue's example: the same pixels as .npy and as TIFF give identical rows."""
    import subprocess
    import sys

    for name in ("plain.npy", "plain_seg.npy", "ref.tif", "ref_seg.npy"):
        shutil.copy(BAD / "npy_image" / name, tmp_path / name)
    out = tmp_path / "out" / "r.csv"
    for _ in range(3):
        proc = subprocess.run(
            [sys.executable, "-m", "guv_app.cli.main", "measure", "--dir", str(tmp_path),
             "--out", str(out), "--quiet", "--plugins", "shape,intensity"],
            capture_output=True, text=True, timeout=300,
            env={**__import__("os").environ, "PYTHONPATH": str(TESTS.parent)})
        assert proc.returncode == 0, proc.stderr
        lines = out.read_text().splitlines()
        header = lines[0].split(",")
        rows = {}
        for line in lines[1:]:
            cells = line.split(",")
            rows.setdefault(cells[0], []).append(cells[1:])
        assert set(rows) == {"plain.npy", "ref.tif"}
        assert rows["plain.npy"] == rows["ref.tif"]
        assert len(rows["ref.tif"]) == 8
        mean = header.index("ch0_mean")
        ref = tifffile.imread(tmp_path / "ref.tif")
        import cellpose_io

        masks = cellpose_io.load_seg(tmp_path / "ref_seg.npy").masks
        first = int(rows["ref.tif"][0][header.index("object_id") - 1])
        assert float(rows["plain.npy"][0][mean - 1]) == pytest.approx(
            ref[masks == first].mean())


REWRITTEN = """
import sys
import numpy as np
import cellpose_io
path, kind = sys.argv[1], sys.argv[2]
image = cellpose_io.read_image(path)
first = image.plane(0, 0).copy()
if kind == "npy":
    np.save(path, np.zeros((8, 8), np.uint16))   # another program saves over it
else:
    open(path, "r+b").truncate(100)               # or cuts it short
try:
    image.plane(0, 0)
    print("read")
except cellpose_io.ImageReadError as exc:
    print("ImageReadError", exc)
"""


@pytest.mark.parametrize("kind", ["npy", "dax"])
def test_file_rewritten_while_open_is_a_clean_error_not_a_crash(tmp_path, kind):
    """A memory-mapped file truncated under an open image used to kill the process (SIGBUS);
    the file is now mapped per read, so the next read reports the change."""
    if kind == "npy":
        path = tmp_path / "cells.npy"
        np.save(path, np.arange(256 * 256, dtype=np.uint16).reshape(256, 256))
        expected = (f"ImageReadError {path}: cannot read plane t=0 z=0: ValueError: cannot "
                    "reshape array of size 64 into shape (1,256,256)")
    else:
        path = tmp_path / "movie.dax"
        np.arange(3 * 64 * 64, dtype="<u2").tofile(path)
        (tmp_path / "movie.inf").write_text(
            "frame dimensions = 64 x 64\nnumber of frames = 3\nlittle endian\n")
        expected = (f"ImageReadError {path}: cannot read plane t=0 z=0: ValueError: mmap length "
                    "is greater than file size")
    proc = run_isolated(REWRITTEN, str(path), kind)
    assert proc.returncode == 0, f"crashed with {proc.returncode}: {proc.stderr[-1000:]}"
    assert proc.stdout.strip() == expected
