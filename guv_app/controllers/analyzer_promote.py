"""Promote in the Analyzer: the selected images' predictions become training labels.

A module of its own because promoting is the Analyzer's one write into the training set,
apart from predicting and measuring: it asks before it touches labels a person drew
(replace, add new objects only, fill unlabelled pixels, or keep them), keeps what it
replaced for Undo promote, and reports with the CLI's summary line
(:func:`~guv_app.services.analysis.promote.promote_summary`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6 import QtCore

from guv_app.services.analysis.promote import (
    PromoteResult,
    promote,
    promote_conflicts,
    promote_summary,
    undo_promote,
)

if TYPE_CHECKING:
    from guv_app.views.analyzer.window import AnalyzerWindow

log = logging.getLogger(__name__)


class PromoteActions(QtCore.QObject):
    """Owns the Promote / Undo promote buttons of one Analyzer window and the last result.

    ``images`` gives the window's image list (row order); ``before`` is called first and a
    False stops the promote (unsaved corrections that could not be saved); ``ask(title,
    text)`` answers the question about existing labels with ``"replace"``, ``"add"``,
    ``"fill"`` or None (keep them).
    """

    def __init__(self, window: AnalyzerWindow, images: Callable[[], list[Path]],
                 before: Callable[[], bool], ask: Callable[[str, str], str | None],
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.images = images
        self.before = before
        self.ask = ask
        self.last: PromoteResult | None = None
        window.files.promoteRequested.connect(self.promote_selected)
        window.files.undoPromoteRequested.connect(self.undo_last)

    def promote_selected(self) -> PromoteResult | None:
        """Copy the selected images' predictions to training labels.

        Images that already have training labels are replaced only if the user agrees;
        otherwise they are kept and only the others are promoted.
        """
        known = self.images()
        rows = self.window.files.selected_rows()
        images = [known[r] for r in rows if 0 <= r < len(known)]
        if not images or not self.before():
            return None
        conflicts = promote_conflicts(images)
        overwrite: list[str] = []
        mode: str | None = None
        if conflicts:
            lost = sum(c.n_objects for c in conflicts)
            lines = "\n".join(c.describe() for c in conflicts[:10])
            more = f"\n… and {len(conflicts) - 10} more" if len(conflicts) > 10 else ""
            mode = self.ask(
                "Replace training labels?",
                f"{len(conflicts)} image(s) already have training labels:\n{lines}{more}"
                f"\n\nReplacing them with the predictions loses {lost} labelled "
                "object(s) from the training set (the files are kept as .bak backups; "
                "Undo promote puts them back).\n"
                "No: keep them and promote only the other images.")
            if mode is not None:
                overwrite = [c.image for c in conflicts]
        result = promote(images, overwrite, mode or "replace")
        self.last = result
        self.window.show_message("Promote: " + promote_summary(result))
        self.window.files.undo_promote.setEnabled(bool(result.written or result.backups))
        return result

    def undo_last(self) -> list[str]:
        """Remove what the last promote wrote and put the replaced label files back."""
        result, self.last = self.last, None
        if result is None:
            return []
        restored = undo_promote(result)
        self.window.show_message(f"Promote undone: {len(restored)} label file(s) restored")
        self.window.files.undo_promote.setEnabled(False)
        return restored
