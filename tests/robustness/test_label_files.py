"""Hostile and malformed ``_seg.npy`` label files: each is refused in one line naming the
file (never a crash, never code run), or read with the right values.

All files are loaded in one child process, so a memory-safety regression (SIGSEGV) fails
these tests instead of killing the run.
"""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from hostile import (
    Call,
    ForgedArray,
    ForgedDtype,
    load_all_isolated,
    npy_header,
    seg_bytes,
    seg_bytes_with_deep_list,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "bad_inputs"
M44 = np.arange(16, dtype=np.uint16).reshape(4, 4) % 3


def _frombuffer_call(buf: bytes, dtype: str, shape: tuple) -> Call:
    func = np.zeros(1).__reduce_ex__(5)[0]
    return Call(func, pickle.PickleBuffer(buf), np.dtype(dtype), shape, "C")


class _PersistentPickler(pickle.Pickler):
    def persistent_id(self, obj):
        return "ref" if isinstance(obj, str) and obj == "x.tif" else None


def _persistent_bytes() -> bytes:
    import io

    from hostile import _Saved

    buf = io.BytesIO()
    _PersistentPickler(buf, protocol=4).dump(_Saved({"masks": M44, "filename": "x.tif"}))
    return npy_header() + buf.getvalue()


def _seg(**entries) -> bytes:
    return seg_bytes({"masks": M44, "filename": "x.tif", **entries})


# name -> (file bytes, expected: ("error", exact reason) or ("ok", max_id, n_class_entries))
CASES: dict[str, tuple[bytes, tuple]] = {
    "short_buffer": (
        seg_bytes({"masks": ForgedArray((64, 64), np.dtype("u2"), b"\0" * 16)}),
        ("error", "unsafe or corrupt pickle: array of shape (64, 64) and dtype uint16 "
                  "needs 8192 bytes, the file holds 16")),
    "long_buffer": (
        seg_bytes({"masks": ForgedArray((2, 2), np.dtype("u2"), b"\0" * 64)}),
        ("error", "unsafe or corrupt pickle: array of shape (2, 2) and dtype uint16 "
                  "needs 8 bytes, the file holds 64")),
    "object_dtype_raw_bytes": (
        seg_bytes({"masks": ForgedArray((4,), np.dtype(object), b"A" * 32)}),
        ("error", "unsafe or corrupt pickle: object array of shape (4,) must carry a list "
                  "of 4 items")),
    "object_dtype_short_list": (
        seg_bytes({"masks": ForgedArray((4,), np.dtype(object), [1, 2])}),
        ("error", "unsafe or corrupt pickle: object array of shape (4,) must carry a list "
                  "of 4 items")),
    "void_dtype": (
        seg_bytes({"masks": ForgedArray((2,), ForgedDtype("V8", (3, "|", None, None, None, 8,
                                                                1, 0)), b"\0" * 16)}),
        ("error", "unsafe or corrupt pickle: dtype |V8 (kind 'V') is not allowed")),
    "structured_object_field": (
        seg_bytes({"masks": ForgedArray((2,), ForgedDtype(
            "V8", (3, "|", None, ("a",), {"a": (np.dtype(object), 0)}, 8, 1, 27)),
            b"A" * 16)}),
        ("error", "unsafe or corrupt pickle: dtype |V8 with a forged description (fields, "
                  "size or flags)")),
    "dtype_forged_flags": (
        seg_bytes({"masks": ForgedArray((2,), ForgedDtype(
            "u8", (3, "<", None, None, None, -1, -1, 63)), b"A" * 16)}),
        ("error", "unsafe or corrupt pickle: dtype uint64 with a forged description "
                  "(fields, size or flags)")),
    "dtype_forged_itemsize": (
        seg_bytes({"masks": ForgedArray((2,), ForgedDtype(
            "u2", (3, "<", None, None, None, 64, 1, 0)), b"A" * 4)}),
        ("error", "unsafe or corrupt pickle: dtype uint16 with a forged description "
                  "(fields, size or flags)")),
    "datetime_dtype": (
        seg_bytes({"masks": ForgedArray((2,), ForgedDtype(
            "M8", (4, "<", None, None, None, -1, -1, 0, (None, (b"ns", 1, 1, 1)))),
            b"\0" * 16)}),
        ("error", "unsafe or corrupt pickle: dtype datetime64 (kind 'M') is not allowed")),
    "forty_dimensions": (
        seg_bytes({"masks": ForgedArray((1,) * 40, np.dtype("u1"), b"\0")}),
        ("error", "unsafe or corrupt pickle: array has 40 dimensions (at most 8)")),
    "negative_shape": (
        seg_bytes({"masks": ForgedArray((-1, 4), np.dtype("u1"), b"")}),
        ("error", "unsafe or corrupt pickle: array shape (-1, 4) is not a tuple of sizes")),
    "ndarray_constructor_call": (
        seg_bytes({"masks": Call(np.ndarray, (4,), "O", b"A" * 32)}),
        ("error", "unsafe or corrupt pickle: calling numpy.ndarray(...) on file data is not "
                  "allowed")),
    "reconstruct_other_subtype": (
        seg_bytes({"masks": Call(np.zeros(1).__reduce__()[0], np.dtype, (0,), b"b")}),
        ("error", "unsafe or corrupt pickle: arrays can only be rebuilt as numpy.ndarray")),
    "scalar_short_data": (
        _seg(diameter=Call(np.float64(0).__reduce__()[0], np.dtype("f8"), b"abc")),
        ("error", "unsafe or corrupt pickle: float64 scalar with 3 bytes of data")),
    "protocol5_short_buffer": (
        npy_header() + pickle.dumps(
            {"masks": _frombuffer_call(b"\0" * 8, "u2", (64, 64))}, protocol=5),
        ("error", "unsafe or corrupt pickle: array of shape (64, 64) and dtype uint16 "
                  "needs 8192 bytes, the buffer holds 8")),
    "os_system": (
        seg_bytes({"masks": Call(os.system, "true")}),
        ("error", f"unsafe or corrupt pickle: refusing to load {os.name == 'nt' and 'nt' or 'posix'}"
                  ".system: only numpy arrays and plain containers are allowed in a label "
                  "file")),
    "builtins_eval": (
        seg_bytes({"masks": Call(eval, "1+1")}),
        ("error", "unsafe or corrupt pickle: refusing to load builtins.eval: only numpy "
                  "arrays and plain containers are allowed in a label file")),
    "bytearray_of_a_terabyte": (
        _seg(extra=Call(bytearray, 10**12)),
        ("error", "unsafe or corrupt pickle: bytearray from anything but its bytes is not "
                  "allowed")),
    "codec_not_text": (
        _seg(extra=Call(__import__("codecs").encode, "x", "zlib_codec")),
        ("error", "unsafe or corrupt pickle: codec 'zlib_codec' is not allowed")),
    "python2_style_bytes": (
        _seg(extra=Call(__import__("codecs").encode, "\xff\x00", "latin1")),
        ("ok", 2, 3)),
    "persistent_reference": (
        _persistent_bytes(),
        ("error", "unsafe or corrupt pickle: persistent references are not allowed")),
    "deeply_nested_filename": (
        seg_bytes_with_deep_list({"masks": M44}, "filename", 100_000),
        ("error", "unreadable (RecursionError: maximum recursion depth exceeded while "
                  "getting the repr of an object)")),
    "truncated_payload": (
        _seg()[:-40],
        ("error", "truncated pickle payload (the save was cut short or the file was "
                  "damaged)")),
    "empty_payload": (
        npy_header(),
        ("error", "truncated: the header is there but the data is missing")),
    "plain_array_not_pickle": (
        npy_header("<u2", (4, 4)) + M44.tobytes(),
        ("error", "holds a plain uint16 array of shape (4, 4), not a pickled _seg.npy "
                  "dictionary")),
    "png_bytes_named_seg": (
        b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
        ("error", "not a valid .npy file (the magic string is not correct; expected "
                  "b'\\x93NUMPY', got b'\\x89PNG\\r\\n')")),
    "empty_file": (
        b"",
        ("error", "not a valid .npy file (EOF: reading magic string, expected 8 bytes got "
                  "0)")),
    "masks_3d": (
        seg_bytes({"masks": np.zeros((2, 4, 4), np.uint16)}),
        ("error", "'masks' has shape (2, 4, 4); only 2-D (H, W) label images are supported")),
    "masks_nan": (
        seg_bytes({"masks": np.full((4, 4), np.nan)}),
        ("error", "'masks': masks must hold whole-number object ids, got fractions/NaN")),
    "masks_negative": (
        seg_bytes({"masks": np.full((4, 4), -5, np.int32)}),
        ("error", "'masks': masks hold a negative id (-5)")),
    "masks_strings": (
        seg_bytes({"masks": np.full((4, 4), "a")}),
        ("error", "'masks': masks must be an integer array, got dtype <U1")),
    "masks_not_array": (
        seg_bytes({"masks": "nope"}),
        ("error", "'masks' is a str, not an array")),
    "missing_masks": (
        seg_bytes({"outlines": np.zeros((4, 4))}),
        ("error", "missing key 'masks' (keys: ['outlines'])")),
    "list_not_dict": (
        seg_bytes([1, 2, 3]),
        ("error", "holds a list, not a _seg.npy dictionary")),
    "classes_too_short": (
        _seg(classes=np.zeros(2, np.int32)),
        ("error", "'classes' has 2 entries but masks have ids up to 2 (classes length "
                  "mismatch, need 3)")),
    "class_id_1e9": (
        _seg(classes=np.array([0, 1, 1_000_000_000], np.int64)),
        ("error", "'classes' uses class id 1000000000, above the limit of 4096 classes")),
    "class_names_not_text": (
        _seg(class_names=np.zeros(3), class_colors=[object]),
        ("error", "unsafe or corrupt pickle: refusing to load builtins.object: only numpy "
                  "arrays and plain containers are allowed in a label file")),
    "id_3e9_renumbered": (
        seg_bytes({"masks": np.array([[0, 3_000_000_000], [7, 3_000_000_000]], np.uint32)}),
        ("ok", 2, 3)),
    "id_max_uint32_with_classes_map": (
        seg_bytes({"masks": np.array([[0, 2**32 - 1], [5, 5]], np.uint32),
                   "classes_map": np.array([[0, 2], [1, 1]], np.int32)}),
        ("ok", 2, 3)),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> tuple[Path, dict[str, list]]:
    folder = tmp_path_factory.mktemp("labels")
    paths = []
    for name, (data, _expected) in CASES.items():
        path = folder / f"{name}_seg.npy"
        path.write_bytes(data)
        paths.append(path)
    real = folder / "forged_seg.npy"
    shutil.copy(DATA / "forged_seg.npy", real)
    paths.append(real)
    return folder, load_all_isolated(paths)


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_label_file_outcome(outcomes, name):
    folder, results = outcomes
    path = str(folder / f"{name}_seg.npy")
    expected = CASES[name][1]
    got = results[path]
    if expected[0] == "error":
        assert got == ["LabelReadError", f"{path}: {expected[1]}"]
    else:
        assert got[0] == "ok" and got[1:3] == list(expected[1:])


def test_real_forged_file_from_bad_inputs(outcomes):
    folder, results = outcomes
    path = str(folder / "forged_seg.npy")
    assert results[path] == [
        "LabelReadError",
        f"{path}: unsafe or corrupt pickle: dtype |V8 with a forged description (fields, "
        "size or flags)",
    ]


def test_sparse_huge_ids_keep_order_and_classes(tmp_path):
    """Ids 7 and 3e9 become 1 and 2 (order kept) and their classes move with them."""
    from cellpose_io import load_seg

    masks = np.array([[0, 3_000_000_000], [7, 3_000_000_000]], np.uint32)
    path = tmp_path / "a_seg.npy"
    path.write_bytes(seg_bytes({"masks": masks, "classes_map": np.array([[0, 2], [1, 1]]),
                                "class_names": ["background", "x", "y"]}))
    seg = load_seg(path)
    assert seg.masks.tolist() == [[0, 2], [1, 2]]
    assert seg.classes.tolist() == [0, 1, 1]  # object 3e9: pixels class 2 and 1 -> tie -> 1
    assert seg.class_names == ["background", "x", "y"]
