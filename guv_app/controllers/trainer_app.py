"""Factory used by the home window and the command line to open a Trainer."""

from __future__ import annotations

import os
from pathlib import Path

from PyQt6 import QtCore

from guv_app.controllers.trainer_controller import TrainerController


def open_trainer(
    path: str | os.PathLike | None = None, *, defer: bool = False
) -> TrainerController:
    """Create, show and return a Trainer (optionally opening an image or folder).

    With ``defer`` the window appears first and the image is read in the next event-loop
    turn, so the user sees the window without waiting for the file.
    """
    from guv_app.controllers.engine_warmup import warm_up_engine_later
    from guv_app.controllers.training_attach import attach_training

    ctl = TrainerController()
    attach_training(ctl)  # Ctrl+T training, model list, "run model on current image"
    ctl.show()
    warm_up_engine_later()  # torch + cellpose imported while the user looks at the image
    if path is not None:
        if defer:
            QtCore.QTimer.singleShot(0, lambda: ctl.files.open_path(Path(path)))
        else:
            ctl.files.open_path(Path(path))
    return ctl
