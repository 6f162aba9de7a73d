"""The one batch runner: predict, measure and evaluate go through it, per plane.

Public API (plain Python, no Qt; everything a Dask worker receives pickles):

* :func:`run_batch` (``runner``) -- run a top-level ``work(task) -> result`` over tasks with
  skip, progress, cancel and an optional ``concurrent.futures``-style executor; returns a
  :class:`BatchReport` of :class:`Outcome` (status done / failed / skipped / cancelled).
  Work functions raise :class:`ItemFailed` / :class:`ItemSkipped` / :class:`ItemCancelled`
  and poll :func:`current_cancel` to stop mid-item in-process.
* :class:`Plane`, :class:`PlaneSelection`, :func:`parse_selection`, :func:`list_planes`
  (``planes``) -- the (series, t, z) unit and the ``0``, ``0-99``, ``::10``, ``1,3,5``
  selections of the CLI and the Analyzer; ``Plane.file_for(suffix, folder)`` is the one
  per-plane file naming (``cellpose_io.seg_path_for``).
* :class:`PlaneStatus` (``status``) -- the status record every batch returns per plane.
* ``index`` -- the CSV index of a prediction run (``predictions_index.csv``):
  :func:`append_rows`, :func:`read_index`, :func:`predictions_by_plane`.

The work functions themselves live with their domain: ``analysis.plane_prediction.predict_plane``,
``measurement.folder.measure_plane``, ``training.evaluate.evaluate_pair``.
"""

from guv_app.services.batch.index import (
    INDEX_NAME,
    IndexRow,
    append_rows,
    compact,
    predictions_by_plane,
    read_index,
)
from guv_app.services.batch.planes import (
    Plane,
    PlaneListing,
    PlaneSelection,
    Selection,
    SelectionError,
    list_planes,
    parse_selection,
    planes_of,
)
from guv_app.services.batch.runner import (
    STATUSES,
    BatchReport,
    ItemCancelled,
    ItemFailed,
    ItemSkipped,
    Outcome,
    current_cancel,
    format_eta,
    run_batch,
)
from guv_app.services.batch.status import PlaneStatus

__all__ = [
    "INDEX_NAME", "STATUSES", "BatchReport", "IndexRow", "ItemCancelled", "ItemFailed",
    "ItemSkipped", "Outcome", "Plane", "PlaneListing", "PlaneSelection", "PlaneStatus",
    "Selection", "SelectionError", "append_rows", "compact", "current_cancel", "format_eta",
    "list_planes", "parse_selection", "planes_of", "predictions_by_plane", "read_index",
    "run_batch",
]
