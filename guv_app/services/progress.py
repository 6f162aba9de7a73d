"""The progress and cancel callables every service takes.

The CLI, the GUI (through Qt signals) and Dask workers call the same service functions; they
differ only in what they pass here. Defined once so that every long-running service speaks
the same protocol.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int, str], None]
"""``progress(done, total, message)``: ``done`` of ``total`` items are finished (counts, not
percent); ``message`` names what was just finished (a file, a plane, an epoch)."""

CancelCheck = Callable[[], bool]
"""``cancelled()`` returns True once the user asked to stop; loops poll it between items."""


def no_progress(done: int, total: int, message: str) -> None:
    """A :data:`Progress` that ignores every report (the default of headless calls)."""


def never_cancelled() -> bool:
    """A :data:`CancelCheck` for runs that cannot be cancelled."""
    return False
