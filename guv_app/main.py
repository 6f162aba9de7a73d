"""The app's entry module: ``python -m guv_app.main`` (or ``python -m guv_app``, or the
``multicellpose-gui`` command) opens the home window, or the Trainer on a given image.

All options are those of :func:`guv_app.gui_main.build_parser` (``--sample``, a path).
"""

from __future__ import annotations

import sys

from guv_app.gui_main import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
