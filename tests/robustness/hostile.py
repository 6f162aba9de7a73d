"""Builders of malformed and hostile input files, from code, for the robustness corpus.

Each returns the path it wrote. They build the bytes by hand where a well-behaved library
would refuse to write such a file (forged pickles, TIFF headers that lie about their size).
"""

from __future__ import annotations

import pickle
import struct
import zlib
from pathlib import Path

import numpy as np


def tiff_declaring(path: Path, height: int, width: int, bits: int = 8) -> Path:
    """A little-endian baseline TIFF whose header declares ``height`` x ``width`` pixels but
    holds one deflate strip of a few bytes (a "decompression bomb" header)."""
    data = zlib.compress(b"\0" * min(height * width * bits // 8, 1024))
    entries = [  # tag, type (3 SHORT, 4 LONG), count, value
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, bits), (259, 3, 1, 8),
        (262, 3, 1, 1), (273, 4, 1, 0), (277, 3, 1, 1), (278, 4, 1, height),
        (279, 4, 1, len(data)),
    ]
    ifd_offset = 8
    ifd_size = 2 + 12 * len(entries) + 4
    data_offset = ifd_offset + ifd_size
    out = bytearray(b"II*\0" + struct.pack("<I", ifd_offset))
    out += struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        if tag == 273:
            value = data_offset
        fmt = "<HHIHH" if typ == 3 else "<HHII"
        out += struct.pack(fmt, tag, typ, count, value, 0) if typ == 3 else struct.pack(
            fmt, tag, typ, count, value)
    out += struct.pack("<I", 0)
    out += data
    path.write_bytes(bytes(out))
    return path


def npy_header(dtype_descr: str = "|O", shape: tuple = ()) -> bytes:
    """A version 1.0 ``.npy`` header for a pickled (object) payload."""
    header = repr({"descr": dtype_descr, "fortran_order": False, "shape": shape})
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1")


def seg_with_payload(path: Path, payload: bytes) -> Path:
    """A ``_seg.npy`` file: a valid object-array header followed by ``payload`` bytes."""
    path.write_bytes(npy_header() + payload)
    return path


def _reduce_array(arr: np.ndarray) -> tuple:
    return arr.__reduce__()


class ForgedArray:
    """Pickles as an ndarray whose state (shape, dtype, data) is replaced by ``state``."""

    def __init__(self, shape, dtype, data, template=None) -> None:
        self.shape, self.dtype, self.data = shape, dtype, data

    def __reduce__(self):
        func, args, _state = np.zeros(1).__reduce__()
        return func, args, (1, self.shape, self.dtype, False, self.data)


class ForgedDtype:
    """Pickles as ``np.dtype(code)`` with a replaced ``__setstate__`` state."""

    def __init__(self, code: str, state: tuple) -> None:
        self.code, self.state = code, state

    def __reduce__(self):
        return np.dtype, (self.code, False, True), self.state


def forged_seg(path: Path, masks) -> Path:
    """A ``_seg.npy`` whose ``masks`` entry is ``masks`` (e.g. a :class:`ForgedArray`)."""
    obj = {"masks": masks, "filename": "x.tif"}
    payload = pickle.dumps(np.array(obj, dtype=object) if False else _wrap(obj), protocol=4)
    return seg_with_payload(path, payload)


class _ObjectScalarArray:
    """Pickles like ``np.save`` of a dict: a 0-d object array whose one item is ``obj``."""

    def __init__(self, obj) -> None:
        self.obj = obj

    def __reduce__(self):
        func, args, _state = np.zeros(1).__reduce__()
        return func, args, (1, (), np.dtype(object), False, [self.obj])


def _wrap(obj) -> _ObjectScalarArray:
    return _ObjectScalarArray(obj)
