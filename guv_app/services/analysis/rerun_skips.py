"""Which planes a rerun of a predict run skips, so that an interrupted run resumes.

A plane is skipped when its prediction file was written with the same model and
parameters (the settings fingerprint in the file, ``analysis.predictions``) or was
corrected by hand; a 3-D stack, whose file ``load_seg`` does not read, by its ``done`` row
in the run's CSV index (``services.batch.index``). The rule is a module of its own because
it is read apart from the run: the Analyzer and the CLI promise "rerun resumes", and this
is the whole of what that means.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from guv_app.services.analysis.plane_prediction import PredictTask
from guv_app.services.analysis.predictions import read_prediction_info
from guv_app.services.batch import PlaneStatus
from guv_app.services.batch.index import read_index

log = logging.getLogger(__name__)


def skip_reason(prediction: str | os.PathLike, settings: str) -> str | None:
    """Why the plane whose prediction file is ``prediction`` needs no new prediction, or
    None when it must run (no file, unreadable file, other settings)."""
    from cellpose_io import CellposeIOError

    pred = Path(prediction)
    if not pred.exists():
        return None
    try:
        info = read_prediction_info(pred)
    except CellposeIOError as exc:
        log.warning("prediction %s unreadable, predicting again: %s", pred, exc)
        return None
    if info.edited:
        return "prediction corrected by hand (force to replace it)"
    if info.params_hash == settings:
        return "already predicted with this model and these parameters"
    return None


def rerun_skipper(settings: str) -> Callable[[PredictTask], str | None]:
    """The skip rule: a plane by its prediction file's fingerprint; a 3-D stack (whose file
    ``load_seg`` does not read) by its done row in the run index."""
    from guv_app.services.batch.index import resolve

    done: dict[Path, set] = {}

    def indexed(task: PredictTask) -> str | None:
        folder = Path(task.prediction).parent
        if folder not in done:
            done[folder] = {resolve(folder, r.prediction).resolve() for r in read_index(folder)
                            if r.status in ("done", "skipped") and r.prediction
                            and r.settings_hash == settings}
        pred = Path(task.prediction)
        if pred.exists() and pred.resolve() in done[folder]:
            return "already predicted with this model and these parameters"
        return None

    return lambda task: indexed(task) if task.stack else skip_reason(task.prediction, settings)


def kept_objects(status: PlaneStatus) -> int:
    """Objects in a prediction kept by a skip (read only when the index needs it)."""
    if status.status != "skipped" or not status.file or status.z < 0:
        return 0
    try:
        return read_prediction_info(status.file).n_objects
    except Exception:  # noqa: BLE001 - the count is informative only
        return 0

