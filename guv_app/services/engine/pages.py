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
