"""Run a service call on a QThread: throttled progress, per-item results, cancel event.

The service function gets plain callables -- ``progress(done, total, message)``, ``cancel``
(a ``threading.Event``) and ``on_item(obj)`` -- so it stays Qt-free. Cancel is an Event set
directly from the GUI thread: a queued signal would not reach a worker busy in its loop.
Progress is forwarded at most every ``PROGRESS_INTERVAL`` seconds (plus the last call), so a
fast loop cannot flood the GUI thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from PyQt6 import QtCore

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.05  # seconds: at most 20 progress updates per second
Job = Callable[[Callable[[int, int, str], None], threading.Event, Callable[[Any], None]], Any]


class _Worker(QtCore.QObject):
    progress = QtCore.pyqtSignal(int, int, str)
    item = QtCore.pyqtSignal(object)
    done = QtCore.pyqtSignal(object)
    error = QtCore.pyqtSignal(str)

    def __init__(self, job: Job, cancel: threading.Event) -> None:
        super().__init__()
        self._job = job
        self._cancel = cancel
        self._last = 0.0
        self._pending: tuple[int, int, str] | None = None

    def _progress(self, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        if now - self._last >= PROGRESS_INTERVAL or done >= total:
            self._last = now
            self._pending = None
            self.progress.emit(int(done), int(total), str(message))
        else:
            self._pending = (int(done), int(total), str(message))

    @QtCore.pyqtSlot()
    def run(self) -> None:
        try:
            result = self._job(self._progress, self._cancel, self.item.emit)
        except Exception as exc:  # noqa: BLE001 - reported to the user, never lost
            log.exception("background task failed")
            self.error.emit(f"{type(exc).__name__}: {exc}")
            return
        finally:
            if self._pending is not None:
                self.progress.emit(*self._pending)
        self.done.emit(result)


class Task(QtCore.QObject):
    """One background job; its signals are delivered in the GUI thread.

    Keep the Task referenced until ``finished``; call :meth:`cancel` to stop it.
    """

    progress = QtCore.pyqtSignal(int, int, str)
    item = QtCore.pyqtSignal(object)
    done = QtCore.pyqtSignal(object)
    error = QtCore.pyqtSignal(str)
    finished = QtCore.pyqtSignal()

    def __init__(self, job: Job, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.cancel_event = threading.Event()
        self.thread = QtCore.QThread()
        self.worker = _Worker(job, self.cancel_event)
        self.worker.moveToThread(self.thread)
        # signal-to-signal into this GUI-thread object: queued, so slots run in the GUI thread
        self.worker.progress.connect(self.progress)
        self.worker.item.connect(self.item)
        self.worker.done.connect(self.done)
        self.worker.error.connect(self.error)
        self.worker.done.connect(self.thread.quit)
        self.worker.error.connect(self.thread.quit)
        self.thread.started.connect(self.worker.run)
        self.thread.finished.connect(self._finished)
        self._running = False

    def start(self) -> None:
        self._running = True
        self.thread.start()

    @property
    def running(self) -> bool:
        return self._running

    def cancel(self) -> None:
        self.cancel_event.set()

    def wait(self, ms: int = 30000) -> bool:
        """Block until the thread ends (closing the window)."""
        return self.thread.wait(ms)

    def _finished(self) -> None:
        self._running = False
        self.finished.emit()
