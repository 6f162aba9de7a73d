"""Saving labels off the GUI thread: snapshots go to one worker, results come back as signals.

One worker thread keeps saves of the same file in order. The GUI thread only copies the
arrays (a few ms); writing (outlines, compression, fsync) happens in the worker through
``cellpose_io.save_seg``, which replaces the file atomically.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PyQt6 import QtCore

log = logging.getLogger(__name__)


@dataclass
class SaveJob:
    """Everything needed to write one ``_seg.npy``; plain data, independent of the GUI."""

    image_path: Path
    masks: np.ndarray
    classes: np.ndarray
    class_names: list[str]
    class_colors: list[tuple[int, int, int]]
    version: int
    token: int  # which opened document this came from
    series: int = 0  # the plane the labels belong to: each has its own file, named by
    t: int | None = None  # cellpose_io.plane_tag (t/z None: a single-plane series)
    z: int | None = None
    extra: dict = field(default_factory=dict)  # save_seg metadata (mcp_labels_from)
    # label sets per channel: save_seg's channel_sets / active_channel / associations, and
    # the sets' versions at the snapshot (services.annotation.channel_sets.SetsSnapshot)
    channels: dict = field(default_factory=dict)
    sets_snapshot: object | None = None

    @property
    def out_path(self) -> Path:
        import cellpose_io

        return cellpose_io.seg_path_for(self.image_path, series=self.series, t=self.t, z=self.z)


def write_job(job: SaveJob) -> Path:
    import cellpose_io

    return cellpose_io.save_seg(
        job.image_path, job.masks, job.classes, job.class_names, job.class_colors,
        out_path=job.out_path, metadata=job.extra or None, **job.channels,
    )


class Autosaver(QtCore.QObject):
    """Runs :class:`SaveJob` s in a background thread and reports each result."""

    saved = QtCore.pyqtSignal(object, object)  # SaveJob, Path
    failed = QtCore.pyqtSignal(object, str)  # SaveJob, message

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autosave")
        self._futures: list[Future] = []
        self._closed = False

    @property
    def pending(self) -> int:
        self._futures = [f for f in self._futures if not f.done()]
        return len(self._futures)

    def submit(self, job: SaveJob) -> Future | None:
        if self._closed:  # after shutdown (window closing late): write in this thread
            self._run(job)
            return None
        fut = self._pool.submit(self._run, job)
        self._futures.append(fut)
        return fut

    def _run(self, job: SaveJob) -> None:
        try:
            path = write_job(job)
        except (OSError, ValueError, TypeError) as exc:
            log.warning("could not save labels of %s: %s", job.image_path, exc)
            self.failed.emit(job, f"Could not save the labels of {job.image_path}: {exc}")
            return
        self.saved.emit(job, path)

    def wait_written(self, timeout: float | None = 30.0) -> None:
        """Block until queued saves are on disk (before reading a label file back)."""
        wait_futures(list(self._futures), timeout=timeout)

    def wait(self, timeout: float | None = 30.0) -> None:
        """Block until queued saves are written (closing the window, tests)."""
        wait_futures(list(self._futures), timeout=timeout)
        QtCore.QCoreApplication.processEvents()

    def shutdown(self) -> None:
        self.wait()
        self._closed = True
        self._pool.shutdown(wait=True)
