"""Read pickled ``.npy`` files (``_seg.npy``) without letting the file run code.

``np.load(..., allow_pickle=True)`` hands the payload to ``pickle``, which will import and call
anything the file names (``os.system`` included). Label files travel between labs and
clusters, so we parse the ``.npy`` header ourselves and unpickle with an allow-list that
admits only numpy arrays, dtypes and scalars plus Python's plain containers and scalars.

Refusing code is not enough: numpy rebuilds an array from the shape, dtype and bytes the
file declares and trusts them, so a 2.6 KB file whose buffer is shorter than shape x
itemsize, or whose dtype is an object/structured type over raw bytes, makes numpy read
memory it does not own (SIGSEGV, or silently wrong values). Every array, dtype and scalar
is checked before numpy sees it (:class:`RestrictedUnpickler`).
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

#: dtype kinds an array rebuilt from raw bytes may have: bool, integers, floats, complex and
#: fixed-width strings. Object ("O") arrays are admitted only with a list of items as their
#: data (how numpy pickles them), never with raw bytes, which numpy would read as pointers.
PLAIN_KINDS = frozenset("biufcUS")
#: More dimensions than any label file or image plane needs (numpy allows 64).
MAX_NDIM = 8


class ForgedArrayError(pickle.UnpicklingError):
    """An array or dtype in a pickle whose description does not match its data."""


def _check_dtype(dtype: Any) -> np.dtype:
    if not isinstance(dtype, np.dtype):
        raise ForgedArrayError(f"array dtype is a {type(dtype).__name__}, not a numpy dtype")
    if dtype.fields is not None or dtype.subdtype is not None:
        raise ForgedArrayError(f"structured dtype {dtype} is not allowed")
    if dtype.kind not in PLAIN_KINDS and dtype.kind != "O":
        raise ForgedArrayError(f"dtype {dtype} (kind {dtype.kind!r}) is not allowed")
    return dtype


def _check_shape(shape: Any) -> tuple[int, ...]:
    if not isinstance(shape, tuple) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise ForgedArrayError(f"array shape {shape!r} is not a tuple of sizes")
    if len(shape) > MAX_NDIM:
        raise ForgedArrayError(f"array has {len(shape)} dimensions (at most {MAX_NDIM})")
    return shape


def _count(shape: tuple[int, ...]) -> int:
    n = 1
    for size in shape:
        n *= size  # Python ints: no overflow, unlike np.prod
    return n


def _check_array_state(state: Any) -> None:
    """Validate ``ndarray.__setstate__``'s (version, shape, dtype, fortran, data) before
    numpy sees it: numpy trusts the shape and dtype and reads past or into the buffer."""
    if not isinstance(state, tuple) or len(state) not in (4, 5):
        raise ForgedArrayError("malformed array state")
    shape, dtype, _fortran, data = state[-4:]
    shape = _check_shape(shape)
    dtype = _check_dtype(dtype)
    n = _count(shape)
    if dtype.kind == "O":
        if not isinstance(data, list) or len(data) != n:
            raise ForgedArrayError(
                f"object array of shape {shape} must carry a list of {n} items"
            )
        return
    if isinstance(data, str):  # Python 2 pickles read with encoding="latin1"
        data = data.encode("latin1")
    if not isinstance(data, (bytes, bytearray)):
        raise ForgedArrayError(f"{dtype} array data is a {type(data).__name__}, not bytes")
    if len(data) != n * dtype.itemsize:
        raise ForgedArrayError(
            f"array of shape {shape} and dtype {dtype} needs {n * dtype.itemsize} bytes, "
            f"the file holds {len(data)}"
        )


def _check_dtype_state(dtype: np.dtype, state: Any) -> None:
    """A dtype's pickled state may only restate what its type string already says (the
    byte order aside): forged fields, item sizes or flags make numpy misread memory."""
    expected = dtype.__reduce__()[2]
    if (not isinstance(state, tuple) or len(state) != len(expected)
            or state[1] not in ("<", ">", "|", "=")
            or state[:1] + state[2:] != expected[:1] + expected[2:]):
        raise ForgedArrayError(f"dtype {dtype} with a forged description (fields, size or flags)")


def _make_dtype(obj: Any, align: Any = False, copy: Any = True) -> np.dtype:
    """``np.dtype`` for a pickle: a type string only, always a fresh copy (a BUILD on a
    shared builtin dtype would change it for the whole process)."""
    if not isinstance(obj, str):
        raise ForgedArrayError(f"dtype from {type(obj).__name__} is not allowed")
    try:
        dtype = np.dtype(obj, bool(align), True)
    except (TypeError, ValueError) as exc:
        raise ForgedArrayError(f"invalid dtype {obj!r}: {exc}") from None
    if dtype.kind not in PLAIN_KINDS and dtype.kind not in "OV":
        raise ForgedArrayError(f"dtype {dtype} (kind {dtype.kind!r}) is not allowed")
    return dtype


class _NdarrayType:
    """What the name ``numpy.ndarray`` loads as: only a token for ``_reconstruct`` -- calling
    the real ``np.ndarray(shape, dtype, buffer)`` from a file would map raw bytes."""

    def __repr__(self) -> str:
        return "numpy.ndarray"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise ForgedArrayError("calling numpy.ndarray(...) on file data is not allowed")


_NDARRAY = _NdarrayType()


def _reconstruct(subtype: Any, shape: Any, dtype_code: Any) -> np.ndarray:
    if subtype is not _NDARRAY:
        raise ForgedArrayError("arrays can only be rebuilt as numpy.ndarray")
    return _RECONSTRUCT(np.ndarray, (0,), b"b")


def _scalar(dtype: Any, data: Any = None) -> Any:
    dtype = _check_dtype(dtype)
    if dtype.kind == "O":
        return data  # numpy stores the object itself for object scalars
    if not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise ForgedArrayError(f"{dtype} scalar with {len(data or b'')} bytes of data")
    return _SCALAR(dtype, data)


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    dtype = _check_dtype(dtype)
    shape = _check_shape(tuple(shape))
    if dtype.kind == "O":
        raise ForgedArrayError("object array from a raw buffer")
    size = memoryview(buf).nbytes
    if size != _count(shape) * dtype.itemsize:
        raise ForgedArrayError(
            f"array of shape {shape} and dtype {dtype} needs "
            f"{_count(shape) * dtype.itemsize} bytes, the buffer holds {size}"
        )
    return _FROMBUFFER(bytes(buf), dtype, shape, order)


def _bytearray(data: Any = b"", encoding: Any = None) -> bytearray:
    """``bytearray`` from pickled content only; ``bytearray(10**12)`` would allocate."""
    if isinstance(data, str) and isinstance(encoding, str):
        return bytearray(_encode(data, encoding))
    if isinstance(data, (bytes, bytearray)) and encoding is None:
        return bytearray(data)
    raise ForgedArrayError("bytearray from anything but its bytes is not allowed")


_TEXT_CODECS = frozenset({"latin1", "latin-1", "iso-8859-1", "utf-8", "utf8", "ascii"})


def _encode(text: Any, codec: Any = "utf-8", errors: Any = "strict") -> bytes:
    """``_codecs.encode`` as Python 2 era pickles use it (text to bytes, text codecs only)."""
    if not isinstance(text, str) or str(codec).lower() not in _TEXT_CODECS:
        raise ForgedArrayError(f"codec {codec!r} is not allowed")
    return __import__("codecs").encode(text, codec, errors)


_NUMPY_CORE = ("numpy.core.multiarray", "numpy._core.multiarray")
_ALLOWED: dict[tuple[str, str], Any] = {
    **{(mod, "_reconstruct"): _reconstruct for mod in _NUMPY_CORE},
    **{(mod, "scalar"): _scalar for mod in _NUMPY_CORE},
    **{(mod, "_frombuffer"): _frombuffer for mod in ("numpy.core.numeric", "numpy._core.numeric")},
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _make_dtype,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "complex"): complex,
    ("builtins", "bytearray"): _bytearray,
    ("builtins", "slice"): slice,
    ("collections", "OrderedDict"): collections.OrderedDict,
    # Protocol-2 pickles (old Python 2 era files) spell bytes as _codecs.encode(str, codec).
    ("_codecs", "encode"): _encode,
}


class RestrictedUnpickler(pickle._Unpickler):  # type: ignore[name-defined]
    """An unpickler that refuses every global outside a short allow-list and checks every
    array and dtype it rebuilds before numpy touches the data.

    Plain containers (dict, list, tuple) and scalars need no global at all; numpy arrays
    need ``_reconstruct``, ``ndarray``, ``dtype`` and ``scalar``. Anything else, e.g.
    ``os.system`` or ``builtins.eval``, raises ``pickle.UnpicklingError`` before it is
    imported. The pure-Python unpickler is used because its BUILD step can be checked:
    numpy's ``__setstate__`` trusts the shape and dtype a file declares, so a forged one
    (a buffer shorter than shape x itemsize, object or structured dtypes over raw bytes)
    would make numpy read memory it does not own.
    """

    dispatch = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]

    def load_build(self) -> None:
        state = self.stack[-1]
        inst = self.stack[-2] if len(self.stack) >= 2 else None
        if isinstance(inst, np.ndarray):
            _check_array_state(state)
        elif isinstance(inst, np.dtype):
            _check_dtype_state(inst, state)
        elif isinstance(inst, (set, frozenset, complex, bytearray, slice, bytes, str)):
            raise ForgedArrayError(f"state for a {type(inst).__name__} is not allowed")
        pickle._Unpickler.load_build(self)  # type: ignore[attr-defined]

    dispatch[pickle.BUILD[0]] = load_build

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
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except RecursionError:
        raise pickle.UnpicklingError("nested too deeply") from None


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
        if not isinstance(exc, ForgedArrayError) and any(
                word in str(exc) for word in ("truncated", "exhausted")):
            raise LabelReadError(path, "truncated pickle payload (the save was cut short "
                                 "or the file was damaged)") from exc
        raise LabelReadError(path, f"unsafe or corrupt pickle: {exc}") from exc
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            struct.error, MemoryError, UnicodeDecodeError, LookupError) as exc:
        # EOFError/"pickle data was truncated": a save cut short; the rest: garbage bytes.
        raise LabelReadError(
            path, f"truncated or corrupt pickle payload ({type(exc).__name__}: {exc})"
        ) from exc
