"""What a folder offers for training: the Ctrl+T dialog's summary.

The counting lives in the Qt-free datasets service (shared with ``multicellpose train
--dry-run``); this module keeps the names the training controller imports.
"""

from __future__ import annotations

from guv_app.services.datasets.summary import (
    UNASSIGNED,
    DatasetSummary,
    per_class_rows,
    summarize_folder,
)

__all__ = ["UNASSIGNED", "DatasetSummary", "per_class_rows", "summarize_folder"]
