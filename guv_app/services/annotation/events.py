"""A tiny synchronous event emitter, so views can follow the document without Qt in it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

Slices = tuple[slice, slice]


@dataclass(frozen=True)
class LabelEvent:
    """What changed in a :class:`LabelDocument`.

    kind:
      ``labels``    pixels changed inside ``slices`` (objects ``ids`` touched)
      ``classes``   objects ``ids`` got another class (pixels unchanged)
      ``table``     class names/colours/visibility changed (every pixel may recolour)
      ``reset``     the whole label image was replaced
      ``selection`` the selected objects changed
      ``state``     dirty flag or undo/redo availability changed
    """

    kind: str
    slices: Slices | None = None
    ids: np.ndarray | None = None
    # ``labels`` only, optional: bool mask (in ``slices``) of the pixels that just became
    # background and nothing else changed (a bulk delete): views may clear just those
    cleared: np.ndarray | None = None


class EventEmitter:
    """Calls every connected callback with each event, in connection order."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[LabelEvent], None]] = []

    def connect(self, callback: Callable[[LabelEvent], None]) -> None:
        if callback not in self._callbacks:
            self._callbacks.append(callback)

    def disconnect(self, callback: Callable[[LabelEvent], None]) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, event: LabelEvent) -> None:
        for cb in list(self._callbacks):
            cb(event)
