"""End the app after its event loop without destroying the closed windows, so that quitting
never crashes.

Measured (``python -X faulthandler -m guv_app.main --sample`` offscreen, the windows closed
by a timer; ``gdb -batch -ex run -ex bt``): about one quit in two ended in a segmentation
fault (exit -11). Our windows and controllers hold each other through signal connections
and callbacks, so after ``app.exec()`` they were still alive at interpreter exit, and
PyQt6's atexit handler (``cleanup_on_exit`` -> ``sip_api_visit_wrappers`` ->
``cleanup_qobject``) deleted them while walking sip's table of wrappers, reading freed
wrappers. Deleting the windows ourselves first (``sip.delete``) crashed the same way,
inside ``~QGraphicsGridLayout`` while the pyqtgraph canvas's scene was cleared: destroying a
pyqtgraph view tree under PyQt is not reliable, and nothing the user made needs it.

So :func:`shut_down_gui`, called when the event loop has ended (every window already
closed, the ``aboutToQuit`` hooks run: labels saved, training stopped, the engine import
thread joined), waits for Qt's pooled threads, and hands each remaining top-level window to
C++ (``sip.transferto(window, None)``): Python never deletes it, PyQt's exit handler skips
it, and the operating system frees its memory with the process. Then it drops the app's
own references and collects the rest (controllers, timers: plain QObjects).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import MutableSequence
from typing import Any

from PyQt6 import QtCore, QtWidgets, sip

log = logging.getLogger(__name__)

# Qt's pooled threads (QThreadPool) still working after the event loop ended: how long the
# quit waits for them, in ms, before going on (a stuck one is logged, not waited for).
POOL_WAIT_MS = 10_000


def shut_down_gui(keep: MutableSequence[Any] | None = None) -> None:
    """Leave the app's windows to the process exit and release everything else.

    ``keep``: the list holding the app's windows/controllers (emptied). Call it in the GUI
    thread after ``QApplication.exec()`` has returned, with the application still alive.
    Windows stay hidden and are not destroyed (see the module docstring).
    """
    if not QtCore.QThreadPool.globalInstance().waitForDone(POOL_WAIT_MS):
        log.warning("quit: Qt's thread pool still busy after %d ms", POOL_WAIT_MS)
    app = QtCore.QCoreApplication.instance()
    if isinstance(app, QtWidgets.QApplication):
        for widget in app.topLevelWidgets():
            if not sip.isdeleted(widget) and sip.ispyowned(widget):
                widget.hide()
                sip.transferto(widget, None)
    if keep is not None:
        del keep[:]
    gc.collect()
