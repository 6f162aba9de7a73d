"""Builders of malformed and hostile input files, from code, for the robustness corpus.

They write bytes by hand where a well-behaved library refuses to write such a file: pickles
whose arrays lie about their shape/dtype, TIFF headers that lie about their size. Also the
helper that runs a check in a child process, so a crash (SIGSEGV) fails one test instead of
killing the test run.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

_RECONSTRUCT = np.zeros(1).__reduce__()[0]


# ------------------------------------------------------------------------------- TIFF / PNG


def tiff_declaring(path: Path, height: int, width: int, bits: int = 8) -> Path:
    """A little-endian baseline TIFF whose header declares ``height`` x ``width`` pixels but
    holds one small deflate strip (a "decompression bomb" header: 139 bytes on disk)."""
    data = zlib.compress(b"\0" * min(height * width * bits // 8, 1024))
    entries = [  # tag, type (3 SHORT, 4 LONG), value
        (256, 4, width), (257, 4, height), (258, 3, bits), (259, 3, 8), (262, 3, 1),
        (273, 4, 0), (277, 3, 1), (278, 4, height), (279, 4, len(data)),
    ]
    data_offset = 8 + 2 + 12 * len(entries) + 4
    out = bytearray(b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", len(entries)))
    for tag, typ, value in entries:
        value = data_offset if tag == 273 else value
        if typ == 3:
            out += struct.pack("<HHIHH", tag, typ, 1, value, 0)
        else:
            out += struct.pack("<HHII", tag, typ, 1, value)
    out += struct.pack("<I", 0) + data
    path.write_bytes(bytes(out))
    return path


def png_declaring(path: Path, height: int, width: int) -> Path:
    """A PNG whose IHDR declares ``height`` x ``width`` 8-bit grey pixels, with one tiny
    IDAT (far too short for that size)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
    path.write_bytes(data + chunk(b"IEND", b""))
    return path


# -------------------------------------------------------------------------------- pickles


def npy_header(descr: str = "|O", shape: tuple = ()) -> bytes:
    """A version 1.0 ``.npy`` header (object dtype, 0-d: what ``np.save(dict)`` writes)."""
    header = repr({"descr": descr, "fortran_order": False, "shape": shape})
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1")


class ForgedArray:
    """Pickles as an ndarray rebuilt with the given (shape, dtype, data) state, unchecked."""

    def __init__(self, shape, dtype, data) -> None:
        self.state = (1, shape, dtype, False, data)

    def __reduce__(self):
        return _RECONSTRUCT, (np.ndarray, (0,), b"b"), self.state


class ForgedDtype:
    """Pickles as ``np.dtype(code)`` whose ``__setstate__`` gets ``state``."""

    def __init__(self, code: str, state: tuple) -> None:
        self.code, self.state = code, state

    def __reduce__(self):
        return np.dtype, (self.code, False, True), self.state


class Call:
    """Pickles as ``func(*args)`` for any importable ``func`` (what an attack file does)."""

    def __init__(self, func, *args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


class _Saved:
    """Pickles like ``np.save`` of a dict: a 0-d object array whose one item is ``obj``."""

    def __init__(self, obj) -> None:
        self.obj = obj

    def __reduce__(self):
        return _RECONSTRUCT, (np.ndarray, (0,), b"b"), (1, (), np.dtype(object), False,
                                                        [self.obj])


def seg_bytes(obj, protocol: int = 4) -> bytes:
    """The bytes of a ``_seg.npy`` holding ``obj`` (custom classes above pickle as numpy)."""
    return npy_header() + pickle.dumps(_Saved(obj), protocol=protocol)


def seg_bytes_with_deep_list(obj: dict, key: str, depth: int) -> bytes:
    """Like :func:`seg_bytes`, with ``obj[key]`` a list nested ``depth`` levels deep, written
    opcode by opcode (pickling such a list would itself overflow the stack)."""
    marker = "DEEP-LIST-MARKER"
    data = pickle.dumps(_Saved({**obj, key: marker}), protocol=2)
    op = b"X" + struct.pack("<I", len(marker)) + marker.encode()  # BINUNICODE
    assert data.count(op) == 1
    nested = b"]" * depth + b"a" * (depth - 1)  # EMPTY_LIST x depth, APPEND x depth-1
    return npy_header() + data.replace(op, nested)


# ---------------------------------------------------------------------- isolated running


def run_isolated(code: str, *args: str, timeout: float = 120.0,
                 env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with this tree on the path; a crash there shows as
    a negative return code here instead of ending the test run."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen",
                **(env or {})}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                          text=True, timeout=timeout, env=full_env, cwd=str(ROOT))


LOAD_ALL = """
import json, sys
import cellpose_io
out = {}
for path in sys.argv[1:]:
    try:
        seg = cellpose_io.load_seg(path)
        out[path] = ["ok", int(seg.masks.max()), len(seg.classes), list(seg.class_names)]
    except Exception as exc:
        out[path] = [type(exc).__name__, str(exc)]
print(json.dumps(out))
"""


def load_all_isolated(paths: list[Path]) -> dict[str, list]:
    """``load_seg`` every path in one child process: {path: ["ok", max_id, n_classes,
    names] or [error type, message]}. Fails loudly when the child crashed."""
    proc = run_isolated(LOAD_ALL, *map(str, paths))
    assert proc.returncode == 0, f"child crashed (rc {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])
