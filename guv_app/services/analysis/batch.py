"""Predict a folder (or a list of files) with one model: per-image status, progress, cancel.

Each image gets a status: ``done`` (prediction written), ``failed`` (with the reason: file
unreadable, model error, save error), ``skipped`` (already predicted with the same model and
parameters, or corrected by hand; ``force`` reruns it) or ``cancelled`` (not reached). One
bad image never stops the others. The model is loaded only when at least one image needs
it, so a rerun over a finished folder returns at once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guv_app.services.analysis.predictions import (
    pred_path_for,
    read_prediction_info,
    save_prediction,
    settings_hash,
)

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
STATUSES = ("done", "failed", "skipped", "cancelled")


@dataclass
class ImageStatus:
    """What happened to one image (plain data: goes through Qt signals and pickles)."""

    image: str
    status: str
    reason: str = ""
    n_objects: int = 0
    seconds: float = 0.0
    prediction: str = ""  # path of the prediction file when one exists


@dataclass
class BatchResult:
    """Outcome of one batch: a status per input image, in input order."""

    model: str
    settings: str
    images: list[ImageStatus] = field(default_factory=list)
    cancelled: bool = False

    def count(self, status: str) -> int:
        return sum(s.status == status for s in self.images)

    @property
    def failures(self) -> list[str]:
        return [f"{Path(s.image).name}: {s.reason}" for s in self.images if s.status == "failed"]


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly in ``folder``, sorted by name (label/prediction files excluded)."""
    from cellpose_io import list_image_files

    return list_image_files(folder)


def format_eta(seconds: float | None) -> str:
    """``1:05`` style (``h:mm:ss`` past an hour); ``?`` before anything was measured."""
    if seconds is None or seconds != seconds:
        return "?"
    s = int(round(max(seconds, 0.0)))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def skip_reason(image: Path, settings: str, out_dir: Path | None = None) -> str | None:
    """Why ``image`` needs no new prediction, or None when it must run."""
    from cellpose_io import CellposeIOError

    pred = pred_path_for(image, out_dir)
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


class _Clock:
    """ETA from the mean time of the images actually predicted so far."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.start = time.perf_counter()
        self.ran = 0

    def eta(self, done: int) -> float | None:
        if self.ran == 0:
            return None
        per = (time.perf_counter() - self.start) / self.ran
        return per * (self.total - done)


def predict_images(
    images: Sequence[str | os.PathLike],
    model: str,
    params: Any = None,
    *,
    force: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    on_image: Callable[[ImageStatus], None] | None = None,
    out_dir: str | os.PathLike | None = None,
    weights_path: str | os.PathLike | None = None,
) -> BatchResult:
    """Predict ``images`` with ``model`` (registry name or path) and save beside each image
    (or into ``out_dir``).

    ``params`` is an engine ``SegmentParams`` (None: defaults). ``progress(done, total,
    message)`` counts images (the message names the image and the ETA); ``on_image`` gets
    each :class:`ImageStatus` as soon as it is known; ``cancel`` stops between tiles.
    ``weights_path`` points the built-in ``cpsam`` at a local weights file.
    """
    from guv_app.services.engine.inference import SegmentParams

    params = params if params is not None else SegmentParams()
    paths = [Path(p) for p in images]
    out = Path(out_dir) if out_dir is not None else None
    total = len(paths)
    settings = settings_hash(model, params)
    result = BatchResult(model, settings)
    statuses: list[ImageStatus | None] = [None] * total
    done = 0

    def finish(index: int, status: ImageStatus) -> None:
        nonlocal done
        statuses[index] = status
        done += 1
        if on_image is not None:
            on_image(status)

    todo: list[int] = []
    for i, path in enumerate(paths):
        reason = None if force else skip_reason(path, settings, out)
        if reason is None:
            todo.append(i)
        else:
            finish(i, ImageStatus(str(path), "skipped", reason,
                                  prediction=str(pred_path_for(path, out))))
    if progress is not None:
        progress(done, total, f"{done} skipped" if done else "starting")
    if todo and not (cancel is not None and cancel.is_set()):
        _run(paths, todo, model, params, finish, progress, cancel, lambda: done,
             out, weights_path)
    for i, status in enumerate(statuses):
        if status is None:
            result.cancelled = True
            statuses[i] = ImageStatus(str(paths[i]), "cancelled", "cancelled before it ran")
    result.images = [s for s in statuses if s is not None]
    if progress is not None:
        progress(total if not result.cancelled else done, total,
                 "cancelled" if result.cancelled else
                 f"finished: {result.count('done')} done, {result.count('failed')} failed, "
                 f"{result.count('skipped')} skipped")
    return result


def _run(paths, todo, model, params, finish, progress, cancel, n_done, out_dir,
         weights_path) -> None:
    """Load the model and predict the images in ``todo`` (indices into ``paths``)."""
    from guv_app.services.engine.errors import EngineError
    from guv_app.services.engine.inference import segment_batch
    from guv_app.services.engine.loading import load_model

    try:
        loaded = load_model(model, params.device, weights_path=weights_path)
    except (EngineError, OSError, ValueError, RuntimeError) as exc:
        log.error("cannot load model %s: %s", model, exc)
        for i in todo:
            finish(i, ImageStatus(str(paths[i]), "failed", f"cannot load model {model!r}: {exc}"))
        return
    clock = _Clock(len(todo))
    total = len(paths)

    def on_item(index: int, _n: int, _msg: str) -> None:
        if progress is not None and index < len(todo):
            name = paths[todo[index]].name
            progress(n_done(), total,
                     f"predicting {name} · ETA {format_eta(clock.eta(index))}")

    for item in segment_batch([paths[i] for i in todo], loaded, params, on_item, cancel):
        i = todo[item.index]
        clock.ran += 1
        if not item.ok or item.result is None:
            finish(i, ImageStatus(str(paths[i]), "failed", item.error or "failed",
                                  seconds=item.seconds))
            continue
        res = item.result
        try:
            out = save_prediction(paths[i], res.masks, res.classes, res.class_names,
                                  res.class_colors, model=model, params=params,
                                  diameter=res.diameter, out_dir=out_dir)
        except Exception as exc:  # noqa: BLE001 - one item's fault stays that item's
            finish(i, ImageStatus(str(paths[i]), "failed", f"cannot save prediction: {exc}",
                                  seconds=item.seconds))
            continue
        finish(i, ImageStatus(str(paths[i]), "done", "", res.n_objects, item.seconds, str(out)))
        if progress is not None:
            progress(n_done(), total, f"{paths[i].name}: {res.n_objects} objects · "
                     f"ETA {format_eta(clock.eta(item.index + 1))}")


def predict_folder(
    folder: str | os.PathLike,
    model: str,
    params: Any = None,
    **kwargs: Any,
) -> BatchResult:
    """:func:`predict_images` over every image directly in ``folder``."""
    return predict_images(list_images(folder), model, params, **kwargs)
