"""The parts of the Trainer that its sub-controllers (menus, regions, label exchange) use,
and the parts of the label exchange that its import/export/open parts use.

A :class:`typing.Protocol` instead of the :class:`TrainerController` class, so that the
controller can own its sub-controllers without them importing it back (no import cycle).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from guv_app.services.annotation import LabelDocument


class TrainerParts(Protocol):
    """What a Trainer sub-controller may reach: the label document of the current plane,
    the file session (``TrainerFiles``), the image canvas and the image's planes
    (``(N, C, H, W)`` array or None before an image is open)."""

    doc: LabelDocument
    files: Any
    canvas: Any
    window: Any
    planes: np.ndarray | None


class ExchangeHost(Protocol):
    """What the import, export and ``_seg.npy``-opening parts of the label exchange
    (``trainer_label_import``, ``trainer_label_export``, ``trainer_seg_open``) use of their
    host, ``trainer_exchange.LabelExchange``: its shared dialogs and job runner."""

    ASYNC_BYTES: int
    ASYNC_OBJECTS: int
    ctl: Any  # the TrainerController (a TrainerParts)
    window: Any
    dialog: Any
    last_export: Path | None
    image_path: Callable[[], Path | None]  # the image the labels belong to

    def import_path(self, path: Path, mode: str | None = None,
                    as_objects: bool | None = None) -> bool: ...
    def start_dir(self) -> str: ...
    def file_dialog(self, title: str, *, save: bool, directory: bool = False,
                    filters: list[str] | None = None) -> Any: ...
    def remember_dir(self, path: Path) -> None: ...
    def need_image(self) -> bool: ...
    def run(self, work, done, text: str, *, background: bool, fail: str = "",
            cleanup=None, job=None, steps: int = 0) -> bool: ...
