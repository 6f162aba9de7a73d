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

:func:`predict_plane` is the per-plane work function (top-level, plain dataclasses in and
out): the one :func:`~guv_app.services.batch.run_batch` runs it here, in a GUI worker or on
Dask workers (``executor``).
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

from guv_app.services.analysis.predictions import (
    PRED_SUFFIX,
    read_prediction_info,
    save_prediction,
    settings_hash,
)
from guv_app.services.batch import (
    ItemCancelled,
    ItemFailed,
    Outcome,
    Plane,
    PlaneSelection,
    PlaneStatus,
    append_rows,
    compact,
    current_cancel,
    list_planes,
    run_batch,
)
from guv_app.services.batch.index import make_row, read_index
from guv_app.services.batch.planes import read_plane
from guv_app.services.progress import CancelCheck, Progress

log = logging.getLogger(__name__)

ImageStatus = PlaneStatus  # the one status record (kept under its old name for callers)


@dataclass
class PredictTask:
    """One plane to predict (plain data: pickles to a Dask worker).

    ``prediction`` is the file to write; ``params`` an engine ``SegmentParams``.
    """

    plane: Plane
    model: str
    params: Any
    prediction: str
    weights_path: str | None = None
    stack: bool = False  # True: the whole Z stack of (series, t) in 3-D (plane.z is -1)
    save: bool = True  # False (2-D planes): return the arrays, the caller writes the file


@dataclass
class PlaneResult:
    """What :func:`predict_plane` returns for a plane it segmented and saved (or, with
    ``task.save`` False, segmented: ``segmentation`` then holds masks (H, W) uint32,
    classes (N+1,) int32, class names and colours for the caller to save)."""

    n_objects: int
    prediction: str
    diameter: float | None = None
    segmentation: tuple | None = None


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


def predict_plane(task: PredictTask) -> PlaneResult:
    """Segment one plane and save its prediction; the work function of every predict run.

    Raises :class:`ItemFailed` (one-line reason) for an unreadable plane, a model that
    cannot be loaded, a segmentation or save error; :class:`ItemCancelled` when the batch's
    cancel flag is set while it runs (in-process only).
    """
    from cellpose_io import CellposeIOError
    from guv_app.services.engine.errors import EngineError, SegmentationCancelled
    from guv_app.services.engine.inference import segment
    from guv_app.services.engine.loading import load_model

    plane, params = task.plane, task.params
    try:
        loaded = load_model(task.model, params.device, weights_path=task.weights_path,
                            dtype=params.dtype)
    except (EngineError, OSError, ValueError, RuntimeError) as exc:
        raise ItemFailed(f"cannot load model {task.model!r}: {exc}") from None
    if task.stack:
        return _predict_stack(task, loaded)
    try:
        pixels = read_plane(plane)
    except (CellposeIOError, OSError, IndexError) as exc:
        raise ItemFailed(str(exc)) from None
    try:
        res = segment(pixels, loaded, params, cancel=current_cancel())
    except SegmentationCancelled:
        raise ItemCancelled() from None
    except ValueError as exc:
        raise ItemFailed(f"{plane.label}: {exc}") from None
    arrays = (res.masks, res.classes, res.class_names, res.class_colors)
    if not task.save:
        return PlaneResult(res.n_objects, task.prediction, res.diameter, arrays)
    return PlaneResult(res.n_objects, str(_save(task, arrays, res.diameter)), res.diameter)


def _save(task: PredictTask, arrays: tuple, diameter: float | None) -> Path:
    """Write a plane's prediction file; ItemFailed (one line) when it cannot be written."""
    masks, classes, names, colors = arrays
    try:
        return save_prediction(task.plane.image, masks, classes, names, colors,
                               model=task.model, params=task.params, diameter=diameter,
                               out_path=task.prediction)
    except Exception as exc:  # noqa: BLE001 - one item's fault stays that item's
        raise ItemFailed(f"cannot save prediction: {exc}") from None


def _save_returned(outcome: Outcome[PredictTask]) -> None:
    """Client side of ``save=False``: write the arrays a worker sent back, then drop them
    (10,000 planes must not stay in memory); a write error fails that plane only."""
    result: PlaneResult | None = outcome.result
    if outcome.status != "done" or result is None or result.segmentation is None:
        return
    try:
        result.prediction = str(_save(outcome.task, result.segmentation, result.diameter))
    except ItemFailed as exc:
        outcome.status, outcome.reason, outcome.result = "failed", str(exc), None
    else:
        result.segmentation = None


def _predict_stack(task: PredictTask, loaded) -> PlaneResult:
    """3-D: segment every slice of (series, t) at once (engine.volume, Cellpose's 3-D path,
    anisotropy from the file's Z step and pixel size) and save one (Z, Y, X) file."""
    import numpy as np

    from cellpose_io import CellposeIOError
    from cellpose_io.seg import save_seg_volume
    from guv_app.services.analysis.predictions import prediction_keys
    from guv_app.services.batch.planes import open_image
    from guv_app.services.engine.errors import SegmentationCancelled
    from guv_app.services.engine.volume import anisotropy_for, segment_volume

    plane = task.plane
    try:
        image = open_image(plane.image, plane.series)
        stack = np.stack([image.plane(plane.t, z) for z in range(image.size_z)])
    except (CellposeIOError, OSError, IndexError) as exc:
        raise ItemFailed(str(exc)) from None
    anisotropy = anisotropy_for(image.z_step, image.pixel_size)
    try:
        res = segment_volume(stack, loaded, task.params, anisotropy=anisotropy,
                             cancel=current_cancel())
    except SegmentationCancelled:
        raise ItemCancelled() from None
    except ValueError as exc:
        raise ItemFailed(f"{plane.label}: {exc}") from None
    try:
        out = save_seg_volume(plane.image, res.masks, task.prediction, diameter=res.diameter,
                              metadata={**prediction_keys(task.model, task.params),
                                        "mcp_anisotropy": float(anisotropy)})
    except Exception as exc:  # noqa: BLE001 - one item's fault stays that item's
        raise ItemFailed(f"cannot save prediction: {exc}") from None
    return PlaneResult(res.n_objects, str(out), res.diameter)


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
        _save_returned(outcome)
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
                before.prediction == row.prediction else _kept_objects(status)
            status.n_objects = 0  # nothing segmented in this run
        append_rows(folder, [row])
        if on_image is not None:
            on_image(status)

    for status in early:
        if on_image is not None:
            on_image(status)
    skip = None if force else _skipper(settings)
    work = predict_plane if executor is not None else _ModelGate()
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


def _skipper(settings: str) -> Callable[[PredictTask], str | None]:
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


def _kept_objects(status: PlaneStatus) -> int:
    """Objects in a prediction kept by a skip (read only when the index needs it)."""
    if status.status != "skipped" or not status.file or status.z < 0:
        return 0
    try:
        return read_prediction_info(status.file).n_objects
    except Exception:  # noqa: BLE001 - the count is informative only
        return 0


@dataclass
class _ModelGate:
    """In-process work function: :func:`predict_plane`, but once the model failed to load
    every further plane fails at once with that reason (no reload per plane)."""

    failure: str | None = None

    def __call__(self, task: PredictTask) -> PlaneResult:
        if self.failure is not None:
            raise ItemFailed(self.failure)
        try:
            return predict_plane(task)
        except ItemFailed as exc:
            if str(exc).startswith("cannot load model"):
                self.failure = str(exc)
            raise


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
