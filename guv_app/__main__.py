"""``python -m guv_app`` starts the app (see :mod:`guv_app.main`)."""

from __future__ import annotations

import sys

from guv_app.main import main

if __name__ == "__main__":
    sys.exit(main())
