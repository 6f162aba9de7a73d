"""Predict every plane of a set of files with one model: per-plane status, index, resume.

A plane is (series, t, z) of a file (``services.batch.planes``); by default every plane of
every series is segmented, and ``selection`` narrows that (``--series``, ``--t``, ``--z``).
Each plane is written to its own file -- ``<stem>_pred_seg.npy`` for a single-plane file
(the Cellpose GUI opens it), ``<stem>[_s{S}]_t{T}_z{Z}_pred_seg.npy`` for a plane of a
multi-plane series -- so a 500-frame movie never rewrites earlier frames, and every
plane's status goes to the run's CSV index (``services.batch.index``) beside the files.

Each plane gets a status: ``done`` (prediction written), ``failed`` (with the reason: file
unreadable, model error, save error), ``skipped`` (already predicted with the same model
and parameters, or corrected by hand; ``force`` reruns it) or ``cancelled`` (not reached).
One bad plane never stops the others; a rerun after an interrupt skips the planes already
written, so it resumes. The model is loaded only when at least one plane needs it.

:func:`~guv_app.services.analysis.plane_prediction.predict_plane` is the per-plane work
function (top-level, plain dataclasses in and out): the one
:func:`~guv_app.services.batch.run_batch` runs it here, in a GUI worker or on Dask workers
(``executor``); the skip rule of a rerun is :mod:`guv_app.services.analysis.rerun_skips`.
This module holds the run: the task list, the index rows and the statuses in file order.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guv_app.services.analysis.plane_prediction import (
    ModelGate,
    PlaneResult,
    PredictTask,
    predict_plane,
    save_returned,
)
from guv_app.services.analysis.predictions import PRED_SUFFIX, settings_hash
from guv_app.services.analysis.rerun_skips import kept_objects, rerun_skipper
from guv_app.services.batch import (
    Outcome,
    Plane,
    PlaneSelection,
    PlaneStatus,
    append_rows,
    compact,
    list_planes,
    run_batch,
)
from guv_app.services.batch.index import make_row, read_index
from guv_app.services.progress import CancelCheck, Progress

log = logging.getLogger(__name__)

ImageStatus = PlaneStatus  # the one status record (kept under its old name for callers)


@dataclass
class BatchResult:
    """Outcome of one prediction run: a status per plane (files in input order, then series,
    t, z) and the index files written."""

    model: str
    settings: str
    planes: list[PlaneStatus] = field(default_factory=list)
    cancelled: bool = False
    indexes: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(s.status == status for s in self.planes)

    @property
    def n_files(self) -> int:
        return len({s.image for s in self.planes})

    @property
    def failures(self) -> list[str]:
        return [f"{s.label}: {s.reason}" for s in self.planes if s.status == "failed"]

    def by_image(self) -> dict[str, list[PlaneStatus]]:
        """The planes' statuses grouped by file, in order."""
        groups: dict[str, list[PlaneStatus]] = {}
        for status in self.planes:
            groups.setdefault(status.image, []).append(status)
        return groups


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly in ``folder``, sorted by name (label/prediction files excluded)."""
    from cellpose_io import list_image_files

    return list_image_files(folder)


def prediction_file(plane: Plane, out_dir: str | os.PathLike | None = None) -> Path:
    """Where the prediction of ``plane`` is saved: beside the image, or in ``out_dir``."""
    return plane.file_for(PRED_SUFFIX, out_dir)



def stack_tasks(planes: list[Plane], model: str, params: Any, out: Path | None,
                weights: str | None) -> list[PredictTask]:
    """For a 3-D run: one task per (file, series, t) whose series has Z > 1 (``z = -1``:
    the whole stack, saved as ``<stem>[_s{S}][_t{T}]_pred_seg.npy``; a Z stack without T
    keeps the Cellpose GUI's ``<stem>_pred_seg.npy``), planes of 2-D series as usual."""
    from dataclasses import replace

    tasks: list[PredictTask] = []
    seen: set[tuple] = set()
    for plane in planes:
        if plane.size_z < 2:
            tasks.append(PredictTask(plane, model, params, str(prediction_file(plane, out)),
                                     weights))
            continue
        key = (plane.image, plane.series, plane.t)
        if key in seen:
            continue
        seen.add(key)
        stack = replace(plane, z=-1, z_um=None)
        tasks.append(PredictTask(stack, model, params, str(stack.stack_file_for(
            PRED_SUFFIX, out)), weights, stack=True))
    return tasks


def _status(outcome: Outcome[PredictTask]) -> PlaneStatus:
    task, plane = outcome.task, outcome.task.plane
    result: PlaneResult | None = outcome.result
    kept = outcome.status == "skipped" and Path(task.prediction).exists()
    return PlaneStatus(
        str(plane.image), outcome.status, outcome.reason, plane.series, plane.t, plane.z,
        n_objects=result.n_objects if result else 0, seconds=outcome.seconds,
        file=result.prediction if result else (task.prediction if kept else ""),
        single=plane.single)


def _index_folder(task: PredictTask) -> Path:
    return Path(task.prediction).parent


def predict_images(
    images: Sequence[str | os.PathLike],
    model: str,
    params: Any = None,
    *,
    selection: PlaneSelection | None = None,
    force: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | CancelCheck | None = None,
    on_image: Callable[[PlaneStatus], None] | None = None,
    out_dir: str | os.PathLike | None = None,
    weights_path: str | os.PathLike | None = None,
    executor: Executor | None = None,
    do_3d: bool = False,
    write_on_worker: bool = True,
) -> BatchResult:
    """Predict every selected plane of ``images`` with ``model`` (registry name or path);
    save beside each image (or into ``out_dir``) and index every plane.

    ``params`` is an engine ``SegmentParams`` (None: defaults); ``selection`` a
    :class:`PlaneSelection` (None: every plane of every series). ``progress(done, total,
    message)`` counts planes; ``on_image`` gets each :class:`PlaneStatus` as soon as it is
    known; ``cancel`` stops between planes (and between tiles in-process). ``weights_path``
    points the built-in ``cpsam`` at a local weights file; ``executor`` runs the planes
    elsewhere (``concurrent.futures`` semantics; workers must see the files). ``do_3d``
    segments each Z stack in 3-D (:func:`stack_tasks`) instead of plane by plane; a stack is
    one item (``z = -1`` in its status and index row) and is skipped on a rerun through the
    index. With an ``executor`` and ``write_on_worker`` False the workers send each plane's
    masks back and they are written here (output folders the workers do not share; 3-D
    stacks are always written by the worker).
    """
    from guv_app.services.engine.inference import SegmentParams

    params = params if params is not None else SegmentParams()
    settings = settings_hash(model, params)
    listing = list_planes([Path(p) for p in images], selection or PlaneSelection())
    out = Path(out_dir) if out_dir is not None else None
    weights = str(weights_path) if weights_path is not None else None
    if do_3d:
        tasks = stack_tasks(listing.planes, model, params, out, weights)
    else:
        tasks = [PredictTask(p, model, params, str(prediction_file(p, out)), weights)
                 for p in listing.planes]
    if executor is not None and not write_on_worker:
        for task in tasks:
            task.save = task.stack  # 2-D planes come back and are written here
    result = BatchResult(model, settings)
    early = [PlaneStatus(path, "failed", why) for path, why in listing.problems]
    early += [PlaneStatus(path, "skipped", why) for path, why in listing.unmatched]
    folders: dict[Path, dict] = {}  # index folder -> its rows before this run, by plane

    def on_outcome(outcome: Outcome[PredictTask]) -> None:
        save_returned(outcome)
        status = _status(outcome)
        folder = _index_folder(outcome.task)
        if folder not in folders:
            folders[folder] = {row.key: row for row in read_index(folder)}
        row = make_row(folder, status.image, status.series, status.t, status.z, model=model,
                       settings_hash=settings, status=status.status, reason=status.reason,
                       n_objects=status.n_objects, prediction=status.file or None,
                       seconds=status.seconds)
        if status.status == "skipped" and status.file:  # kept: its count from before
            before = folders[folder].get(row.key)
            row.n_objects = before.n_objects if before is not None and \
                before.prediction == row.prediction else kept_objects(status)
            status.n_objects = 0  # nothing segmented in this run
        append_rows(folder, [row])
        if on_image is not None:
            on_image(status)

    for status in early:
        if on_image is not None:
            on_image(status)
    skip = None if force else rerun_skipper(settings)
    work = predict_plane if executor is not None else ModelGate()
    counted = progress
    if progress is not None and early:  # unreadable files count as finished items
        def counted(done: int, total: int, message: str) -> None:
            progress(done + len(early), total + len(early), message)
    report = run_batch(tasks, work, name=lambda t: t.plane.label, skip=skip,
                       executor=executor, progress=counted, cancel=cancel,
                       on_outcome=on_outcome)
    for folder in sorted(folders):  # one row per plane again, atomically
        try:
            result.indexes.append(str(compact(folder)))
        except OSError as exc:
            log.warning("cannot tidy the index in %s: %s", folder, exc)
    result.planes = _in_file_order(early, [_status(o) for o in report.outcomes], images)
    result.cancelled = report.cancelled
    return result


def _in_file_order(early: list[PlaneStatus], planes: list[PlaneStatus], images) -> list:
    """Statuses ordered by the input file order (unreadable files in their place)."""
    order = {str(Path(p)): i for i, p in enumerate(images)}
    merged = early + planes
    return sorted(merged, key=lambda s: (order.get(str(Path(s.image)), len(order)),
                                         s.series, s.t, s.z))


def predict_folder(
    folder: str | os.PathLike,
    model: str,
    params: Any = None,
    **kwargs: Any,
) -> BatchResult:
    """:func:`predict_images` over every image directly in ``folder``."""
    return predict_images(list_images(folder), model, params, **kwargs)
