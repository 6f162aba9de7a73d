"""The per-plane work of a predict run: segment one plane (or one Z stack) and save it.

:func:`predict_plane` is the work function that :func:`~guv_app.services.batch.run_batch`
runs for every plane -- in-process, in a GUI worker or on Dask workers -- so it and its
task and result records are top-level and plain data (they pickle). It lives apart from the
run itself (:mod:`guv_app.services.analysis.batch`: listing, skip rule, index, order) because
this is the only part that a worker executes: loading the model, reading the pixels,
segmenting and writing the prediction file, each fault turned into a one-line
:class:`~guv_app.services.batch.ItemFailed` for that plane alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guv_app.services.analysis.predictions import save_prediction
from guv_app.services.batch import ItemCancelled, ItemFailed, Outcome, Plane, current_cancel
from guv_app.services.batch.planes import read_plane


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


def save_returned(outcome: Outcome[PredictTask]) -> None:
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


@dataclass
class ModelGate:
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

