"""Import the inference engine (torch, cellpose) in the background once a window is up.

Start-up stays fast because nothing imports torch before the first window is shown
(``benchmarks/bench_startup.py``). But then the user's first "Run" paid for importing torch
and cellpose (several seconds on a laptop CPU) before the model even started. While the user
looks at the image, :func:`warm_up_engine_later` imports the engine modules on a background
thread, so the first Run only builds the model and segments
(``benchmarks/bench_first_result.py`` measures it). Only imports: no model is built, no
memory is held that the first Run would not need anyway. Once per process.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading

from PyQt6 import QtCore

log = logging.getLogger(__name__)

ENGINE_MODULE = "guv_app.services.engine.inference"
# what the first segmentation imports on top of the engine module (upstream's tiling, flow
# following and mask clean-up, imported lazily inside the engine's functions): ~0.5 s
FIRST_RUN_MODULES = (ENGINE_MODULE, "cellpose.core", "cellpose.transforms",
                     "cellpose.dynamics", "cellpose.utils")
_STATE: dict[str, object] = {}


def warm_up_engine_later(delay_ms: int = 1000) -> None:
    """After ``delay_ms`` of the event loop running, import the engine on a thread."""
    if _STATE or ENGINE_MODULE in sys.modules:
        return
    _STATE["scheduled"] = True
    QtCore.QTimer.singleShot(delay_ms, _start)


def _start() -> None:
    if ENGINE_MODULE in sys.modules:
        return
    thread = threading.Thread(target=_import, name="engine-warm-up", daemon=True)
    _STATE["thread"] = thread
    app = QtCore.QCoreApplication.instance()
    if app is not None:  # never leave the interpreter while torch is half imported
        app.aboutToQuit.connect(lambda: thread.join(60))
    thread.start()


def _import() -> None:
    for name in FIRST_RUN_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the first Run reports the real error to the user
            log.debug("engine warm-up: importing %s failed", name, exc_info=True)
            return


def warm_up_thread() -> threading.Thread | None:
    """The background import thread once started (None before), e.g. to wait for it."""
    thread = _STATE.get("thread")
    return thread if isinstance(thread, threading.Thread) else None
