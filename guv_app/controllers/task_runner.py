"""The one way controllers run a long service call (training, prediction, measurement) off
the GUI thread: :class:`TaskRunner`, with batched progress, cancel and one error text.

A job is ``job(report, cancel) -> result``: ``report(item)`` hands anything to the GUI (a
training event, a per-image status, a :class:`Step` made by :func:`step_reporter` from a
service's ``progress(done, total, message)``), ``cancel`` is a ``threading.Event`` the job
polls. Signals (delivered in the GUI thread): ``progress(list)`` every reported item, in
batches; ``finished(object)`` the result; ``failed(str)`` one sentence from
:func:`~guv_app.controllers.training_errors.describe_error`.

Measured on these machines (shared notes): a cancel sent as a queued signal never reaches a
busy worker, so cancel is a ``threading.Event`` set straight from the GUI thread; and
thousands of unthrottled progress signals freeze the GUI, so progress items are collected
in the worker and handed over in batches at most ``1 / interval_s`` times a second. Nothing
is dropped: the GUI gets every item, just fewer, larger deliveries.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PyQt6 import QtCore

from guv_app.controllers.training_errors import describe_error
from guv_app.services.progress import Progress

log = logging.getLogger(__name__)

Report = Callable[[Any], None]
Job = Callable[[Report, threading.Event], Any]


@dataclass(frozen=True)
class Step:
    """A service's ``progress(done, total, message)`` call, as a reported item."""

    done: int
    total: int
    message: str


def step_reporter(report: Report) -> Progress:
    """A service ``Progress`` callable that reports each call as a :class:`Step`."""
    return lambda done, total, message: report(Step(int(done), int(total), str(message)))


def last_step(batch: list) -> Step | None:
    """The newest :class:`Step` of a batch (what a progress bar shows), or None."""
    return next((item for item in reversed(batch) if isinstance(item, Step)), None)


class Batcher:
    """Collects items and passes them on as lists, at most once per ``interval_s``.

    ``urgent(item)`` items (an epoch end, a phase change) flush at once so that the user
    sees them without delay. Call from one thread only (the worker's).
    """

    def __init__(self, emit: Callable[[list], None], interval_s: float = 0.05, *,
                 urgent: Callable[[Any], bool] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._emit = emit
        self._interval = float(interval_s)
        self._urgent = urgent or (lambda item: False)
        self._clock = clock
        self._buf: list = []
        self._last = float("-inf")
        self.n_emits = 0

    def __call__(self, item: Any) -> None:
        self._buf.append(item)
        if self._urgent(item) or self._clock() - self._last >= self._interval:
            self.flush()

    def flush(self) -> None:
        if not self._buf:
            return
        batch, self._buf = self._buf, []
        self._last = self._clock()
        self.n_emits += 1
        self._emit(batch)


class _Worker(QtCore.QObject):
    progress = QtCore.pyqtSignal(list)
    finished = QtCore.pyqtSignal(object)
    failed = QtCore.pyqtSignal(str)

    def __init__(self, job: Job, cancel: threading.Event, interval_s: float,
                 urgent: Callable[[Any], bool] | None) -> None:
        super().__init__()
        self._job, self._cancel = job, cancel
        self._interval, self._urgent = interval_s, urgent

    @QtCore.pyqtSlot()
    def run(self) -> None:
        batcher = Batcher(self.progress.emit, self._interval, urgent=self._urgent)
        try:
            result = self._job(batcher, self._cancel)
        except Exception as exc:  # any failure becomes one message in the GUI
            # the user sees the reason once, in the window; the traceback is for debugging
            # only (DEBUG level), never printed on stderr by default
            log.debug("background job failed", exc_info=True)
            batcher.flush()
            self.failed.emit(describe_error(exc))
            return
        batcher.flush()
        self.finished.emit(result)


class TaskRunner(QtCore.QObject):
    """One job at a time on its own QThread; results and errors come back as signals.

    ``running`` turns False just before ``finished``/``failed`` is emitted, so a handler may
    start the next job at once. Threads are kept referenced until Qt reports them finished.
    """

    progress = QtCore.pyqtSignal(list)
    finished = QtCore.pyqtSignal(object)
    failed = QtCore.pyqtSignal(str)

    def __init__(self, parent: QtCore.QObject | None = None, *, interval_s: float = 0.05,
                 name: str = "task") -> None:
        super().__init__(parent)
        self.interval_s = interval_s
        self.name = name
        self._cancel = threading.Event()
        self._running = False
        self._alive: list[tuple[QtCore.QThread, _Worker]] = []

    @property
    def running(self) -> bool:
        return self._running

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def start(self, job: Job, *, urgent: Callable[[Any], bool] | None = None) -> None:
        if self._running:
            raise RuntimeError(f"{self.name} is already running")
        self._cancel = threading.Event()
        thread = QtCore.QThread()
        thread.setObjectName(self.name)
        worker = _Worker(job, self._cancel, self.interval_s, urgent)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        # direct: QThread.quit is thread-safe, and a blocking wait() in the GUI thread
        # must not depend on the GUI event loop delivering it
        direct = QtCore.Qt.ConnectionType.DirectConnection
        worker.finished.connect(thread.quit, direct)
        worker.failed.connect(thread.quit, direct)
        thread.finished.connect(self._reap)  # bound method: runs in the GUI thread
        self._alive.append((thread, worker))
        self._running = True
        thread.start()

    def cancel(self) -> None:
        """Ask the job to stop (it checks the event between steps)."""
        self._cancel.set()

    def wait(self, timeout_s: float = 60.0) -> bool:
        """Block until every thread has ended (shutdown, tests); True if they all did."""
        deadline = time.monotonic() + timeout_s
        for thread, _ in list(self._alive):
            left = max(deadline - time.monotonic(), 0.0)
            if not thread.wait(int(left * 1000)):
                return False
        QtCore.QCoreApplication.sendPostedEvents()
        return True

    def shutdown(self, timeout_s: float = 60.0) -> bool:
        self.cancel()
        return self.wait(timeout_s)

    # ------------------------------------------------------------------ slots
    def _on_progress(self, batch: list) -> None:
        self.progress.emit(batch)

    def _on_finished(self, result: object) -> None:
        self._running = False
        self.finished.emit(result)

    def _on_failed(self, message: str) -> None:
        self._running = False
        self.failed.emit(message)

    def _reap(self) -> None:
        for pair in [p for p in self._alive if p[0].isFinished()]:
            self._alive.remove(pair)
            thread, worker = pair
            worker.deleteLater()
            thread.deleteLater()
        if self._running and not any(t.isRunning() for t, _ in self._alive):
            # the job ended without a result (should not happen): never stay "running"
            self._running = False
            self.failed.emit(f"{self.name} stopped unexpectedly")
