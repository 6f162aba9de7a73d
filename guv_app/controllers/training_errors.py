"""Turn any exception from a background job into one sentence a user can act on."""

from __future__ import annotations

import re

_MAX = 600


def _one_line(text: str) -> str:
    text = re.sub(r"\s+", " ", str(text)).strip()
    return text if len(text) <= _MAX else text[: _MAX - 1] + "…"


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    name = type(exc).__name__
    return name == "OutOfMemoryError" or "out of memory" in str(exc).lower()


def describe_error(exc: BaseException) -> str:
    """A one-line message: what went wrong, and for known cases what to do about it."""
    if _is_oom(exc):
        return _one_line(
            "Out of memory. Lower the batch size or the crop size (Advanced tab), train "
            f"fewer blocks, or use the CPU. ({type(exc).__name__}: {exc})")
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "WeightsUnavailableError" in names:
        return _one_line(f"Pretrained weights are missing: {exc}")
    if names & {"ModelNotFoundError", "ModelNameError", "ModelLoadError", "EngineError"}:
        return _one_line(str(exc))
    if isinstance(exc, FileNotFoundError | NotADirectoryError):
        return _one_line(str(exc) or f"file not found: {exc.filename}")
    if isinstance(exc, ValueError | OSError) or "CellposeIOError" in names:
        return _one_line(str(exc))
    return _one_line(f"Unexpected error ({type(exc).__name__}): {exc}")
