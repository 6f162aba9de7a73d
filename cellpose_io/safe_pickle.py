"""Read pickled ``.npy`` files (``_seg.npy``) without letting the file run code.

``np.load(..., allow_pickle=True)`` hands the payload to ``pickle``, which will import and call
anything the file names (``os.system`` included). Label files travel between labs and
clusters, so we parse the ``.npy`` header ourselves and unpickle with an allow-list that
admits only numpy arrays, dtypes and scalars plus Python's plain containers and scalars.
"""

from __future__ import annotations

import ast
import collections
import io
import os
import pickle
import struct
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from numpy.lib import format as npy_format

from cellpose_io.errors import LabelReadError

__all__ = ["RestrictedUnpickler", "load_pickled_npy", "loads_restricted"]

# Resolved from numpy itself so the allow-list works on numpy 1.x and 2.x alike; the names
# a file may use for them are listed in _ALLOWED below.
_RECONSTRUCT = np.zeros(1).__reduce__()[0]
_SCALAR = np.float64(0).__reduce__()[0]
_FROMBUFFER = np.zeros(1).__reduce_ex__(5)[0]  # protocol 5 rebuilds arrays from buffers

_NUMPY_CORE = ("numpy.core.multiarray", "numpy._core.multiarray")
_ALLOWED: dict[tuple[str, str], Any] = {
    **{(mod, "_reconstruct"): _RECONSTRUCT for mod in _NUMPY_CORE},
    **{(mod, "scalar"): _SCALAR for mod in _NUMPY_CORE},
    **{(mod, "_frombuffer"): _FROMBUFFER for mod in ("numpy.core.numeric", "numpy._core.numeric")},
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "complex"): complex,
    ("builtins", "bytearray"): bytearray,
    ("builtins", "slice"): slice,
    ("collections", "OrderedDict"): collections.OrderedDict,
    # Protocol-2 pickles (old Python 2 era files) spell bytes as _codecs.encode(str, codec).
    ("_codecs", "encode"): __import__("codecs").encode,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that refuses every global outside a short allow-list.

    Plain containers (dict, list, tuple) and scalars need no global at all; numpy arrays
    need ``_reconstruct``, ``ndarray``, ``dtype`` and ``scalar``. Anything else, e.g.
    ``os.system`` or ``builtins.eval``, raises ``pickle.UnpicklingError`` before it is
    imported.
    """

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: only numpy arrays and plain "
                "containers are allowed in a label file"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent references are not allowed")


def loads_restricted(data: bytes) -> Any:
    """Unpickle bytes with :class:`RestrictedUnpickler` (latin1 for Python 2 pickles)."""
    return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()


def _read_header(fh: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = npy_format.read_magic(fh)
    if version == (1, 0):
        return npy_format.read_array_header_1_0(fh)
    if version == (2, 0):
        return npy_format.read_array_header_2_0(fh)
    if version == (3, 0):
        # numpy has no public reader for 3.0 (utf-8 header); its layout is 2.0's.
        (hlen,) = struct.unpack("<I", fh.read(4))
        header = ast.literal_eval(fh.read(hlen).decode("utf-8"))
        if not isinstance(header, dict) or not {"descr", "fortran_order", "shape"} <= set(header):
            raise ValueError(f"invalid .npy header: {header!r}")
        dtype = npy_format.descr_to_dtype(header["descr"])
        return tuple(header["shape"]), bool(header["fortran_order"]), dtype
    raise ValueError(f"unsupported .npy format version {version}")


def load_pickled_npy(path: str | os.PathLike) -> Any:
    """Return the object stored by ``np.save(path, obj)`` for a pickled ``.npy`` file.

    ``np.save`` wraps a dict in a 0-d object array; that array is returned as is (call
    ``.item()``). Raises :class:`LabelReadError` naming the file for a missing file, a plain
    (non-pickled) array, a truncated or corrupt payload, or a refused global.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            try:
                shape, _fortran, dtype = _read_header(fh)
            except (ValueError, struct.error, SyntaxError, EOFError) as exc:
                raise LabelReadError(path, f"not a valid .npy file ({exc})") from exc
            if not dtype.hasobject:
                raise LabelReadError(
                    path,
                    f"holds a plain {dtype} array of shape {shape}, not a pickled "
                    "_seg.npy dictionary",
                )
            payload = fh.read()
    except FileNotFoundError as exc:
        raise LabelReadError(path, "file not found") from exc
    except IsADirectoryError as exc:
        raise LabelReadError(path, "is a directory, not a file") from exc
    except PermissionError as exc:
        raise LabelReadError(path, "permission denied") from exc
    if not payload:
        raise LabelReadError(path, "truncated: the header is there but the data is missing")
    try:
        return loads_restricted(payload)
    except pickle.UnpicklingError as exc:
        raise LabelReadError(path, f"unsafe or corrupt pickle: {exc}") from exc
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            struct.error, MemoryError, UnicodeDecodeError, LookupError) as exc:
        # EOFError/"pickle data was truncated": a save cut short; the rest: garbage bytes.
        raise LabelReadError(
            path, f"truncated or corrupt pickle payload ({type(exc).__name__}: {exc})"
        ) from exc
