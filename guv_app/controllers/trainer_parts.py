"""The parts of the Trainer that its sub-controllers (menus, regions, label exchange) use.

A :class:`typing.Protocol` instead of the :class:`TrainerController` class, so that the
controller can own its sub-controllers without them importing it back (no import cycle).
"""

from __future__ import annotations

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
