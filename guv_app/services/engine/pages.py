"""Give the pages of a memory-mapped weights file back once their tensor has been copied.

Why: casting vit_l's 1.2 GB float32 checkpoint to bfloat16 is fastest from a memory-mapped
file (no read into fresh memory: 0.3 s instead of 1.1 s), but every page of the file that
the cast touches stays mapped, and counted in the process's resident memory, until the
whole mapping is dropped -- file + cast network, 1.5x the file at the peak. After each
tensor is cast, ``madvise(MADV_DONTNEED)`` unmaps its pages from this process (they stay
in the OS page cache, nothing is written: the file is mapped copy-on-write and never
modified), so the peak is the cast network plus one tensor. Only pages inside a
mapping of a file (``/proc/self/maps``) are released. Linux only: elsewhere
:data:`AVAILABLE` is False and callers read the file instead of mapping it.

:func:`cast_floats` and :func:`own_memory` are the two ways the engine's loading
(``engine.loading.build_from_meta``) takes tensors out of a mapped file.
"""

from __future__ import annotations

import ctypes
import logging
import mmap
import sys

import torch

log = logging.getLogger(__name__)

_MADV_DONTNEED = 4  # <sys/mman.h> on Linux
AVAILABLE = sys.platform.startswith("linux")
_madvise = None
if AVAILABLE:
    try:
        _libc = ctypes.CDLL(None, use_errno=True)
        _madvise = _libc.madvise
        _madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        _madvise.restype = ctypes.c_int
    except (OSError, AttributeError):  # a libc without madvise: map nothing
        AVAILABLE = False


def file_backed_ranges() -> list[tuple[int, int]]:
    """(start, end) addresses of this process's mappings of files (``/proc/self/maps``);
    empty where that is not available."""
    if not AVAILABLE:
        return []
    ranges = []
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                fields = line.split(maxsplit=5)
                # address perms offset dev inode pathname; inode 0 = anonymous memory
                if len(fields) == 6 and fields[4] != "0" and fields[5].startswith("/"):
                    start, end = fields[0].split("-")
                    ranges.append((int(start, 16), int(end, 16)))
    except OSError:
        return []
    return ranges


def lies_in(tensor: torch.Tensor, ranges: list[tuple[int, int]]) -> bool:
    """Whether ``tensor``'s bytes lie in one of the file mappings ``ranges``
    (:func:`file_backed_ranges`): a tensor read from a memory-mapped file."""
    if tensor.device.type != "cpu" or tensor.numel() == 0:
        return False
    start = tensor.data_ptr()
    end = start + tensor.numel() * tensor.element_size()
    return any(lo <= start and end <= hi for lo, hi in ranges)


def release_pages(tensor: torch.Tensor, ranges: list[tuple[int, int]]) -> bool:
    """Unmap the whole pages of ``tensor``'s bytes from this process when they lie in one
    of the file mappings ``ranges`` (:func:`file_backed_ranges`); True when released.

    For a tensor read from a file mapping that will not be read again (reading it anyway
    faults the pages back in from the file: nothing is lost). Memory that is not a file
    mapping is never touched (unmapping it would zero it), nor are pages shared with a
    neighbouring tensor.
    """
    if _madvise is None or not lies_in(tensor, ranges):
        return False
    start = tensor.data_ptr()
    end = start + tensor.numel() * tensor.element_size()
    first = -(-start // mmap.PAGESIZE) * mmap.PAGESIZE
    last = end // mmap.PAGESIZE * mmap.PAGESIZE
    if last <= first:
        return False
    if _madvise(first, last - first, _MADV_DONTNEED) != 0:
        log.debug("madvise failed (errno %d); pages stay mapped", ctypes.get_errno())
        return False
    return True


def cast_floats(state: dict[str, torch.Tensor], dtype: torch.dtype) -> None:
    """Cast every floating-point tensor of ``state`` that is not ``dtype`` to ``dtype``, in
    place, handing each file-mapped original's pages back as soon as it is cast (peak: the
    cast tensors plus one original)."""
    ranges = file_backed_ranges()
    for key in list(state):  # replacing each entry lets its original go at once
        tensor = state[key]
        if tensor.is_floating_point() and tensor.dtype != dtype:
            state[key] = tensor.to(dtype)
            release_pages(tensor, ranges)
        del tensor


def own_memory(net: torch.nn.Module) -> None:
    """Copy every parameter and buffer of ``net`` that still lies in a memory-mapped file
    into the process's own memory, handing each one's file pages back as it goes (peak:
    the network plus one tensor).

    Why: a network that reads its weights from the file's pages changes when that file is
    rewritten in place (``cp new.pt model.pt``, ``torch.save`` to the same path truncate
    it): it silently takes the new file's bytes, or the process dies of SIGBUS when the new
    file is shorter; and on Windows a mapped file cannot be replaced or deleted at all. A
    loaded model must not depend on its file. Files are only mapped where
    :data:`AVAILABLE` (elsewhere they are read into memory: nothing to do here).
    """
    ranges = file_backed_ranges()
    for tensor in [*net.parameters(), *net.buffers()]:
        if not lies_in(tensor, ranges):
            continue  # already the process's own (cast, or read into memory)
        mapped = tensor.data
        tensor.data = mapped.clone()
        release_pages(mapped, ranges)
        del mapped
