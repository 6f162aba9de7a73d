"""Start and end a ``multicellpose`` process fast: most of a short run is not the work.

Measured on the 2-core development machine (Python 3.11, torch 2.9): importing torch,
cellpose and segment_anything (which pulls in torchvision, torch._dynamo and sympy) takes
~3 s, of which ~0.5 s is the cyclic garbage collector scanning the millions of objects the
imports create, again and again; and interpreter shutdown then spends ~1.1 s collecting
them one final time. Both are avoidable without changing what runs:

* :func:`preload` imports a command's heavy modules with the collector paused (it is
  switched back on at once: the command's own garbage is collected as usual);
* with ``freeze=True`` (only the console entry, never a test process or a library caller)
  everything alive after the imports moves to the permanent generation (``gc.freeze``):
  modules live until exit anyway, so no collection ever needs to look at them again.

That is CPython's documented ``gc.disable`` / ``gc.freeze`` API; atexit handlers,
finalizers and file flushing all still run at exit.
"""

from __future__ import annotations

import gc
import importlib
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)

#: what every command that runs the network imports (torch, upstream cellpose, our engine)
ENGINE_MODULES = (
    "torch",
    "cellpose.core",
    "guv_app.services.engine.loading",
    "guv_app.services.engine.inference",
)


def preload(modules: Iterable[str], *, freeze: bool = False) -> None:
    """Import ``modules`` with the garbage collector paused; with ``freeze``, exempt every
    object alive afterwards from later collections (``gc.freeze``). A module that cannot be
    imported is left for the command to report (it imports it again, with its own error)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for name in modules:
            try:
                importlib.import_module(name)
            except ImportError as exc:
                log.debug("preload of %s failed: %s", name, exc)
        if freeze:
            gc.freeze()
    finally:
        if was_enabled:
            gc.enable()
