"""Ask before labels a person drew are replaced wholesale (Accept a prediction, import).

One question (the Trainer window's non-blocking :meth:`ask`), naming how many objects will
be lost, and a copy of the plane's label file on disk (``X_seg.npy.bak``) before the
replacement is saved over it. The replacement itself is one undo step of the label document,
so Ctrl+Z brings the objects back.

Where the new objects can instead be merged with the frozen labels (a prediction: see
:mod:`guv_app.services.annotation.merge`) the same question offers "Add new objects only"
and "Fill unlabelled pixels"; those never change a labelled pixel, so no backup is made.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

REPLACE = "Replace"
ADD = "Add new objects only"
FILL = "Fill unlabelled pixels"
KEEP = "Keep my labels"
MERGE_MODES = {ADD: "add", FILL: "fill"}  # answer -> merge mode of services.annotation.merge


def replace_text(n_old: int, n_new: int, what: str, name: str) -> str:
    """The question, naming what is lost."""
    return (f"{what[:1].upper()}{what[1:]} ({n_new} object(s)) replaces all {n_old} labelled "
            f"object(s) of {name}: {n_old} object(s) will be lost.\n\n"
            "The label file is kept as a .bak copy, and Ctrl+Z undoes the replacement.")


def merge_text() -> str:
    """What the two merge answers do (appended to the question when they are offered)."""
    from guv_app.services.annotation.merge import MIN_FRACTION, MIN_SIZE

    return (f"\n\n{ADD}: your objects stay as they are; predicted objects that overlap none "
            f"of them are added.\n{FILL}: your objects stay as they are; predicted objects "
            "are cut to the unlabelled pixels (of a cut object only its largest piece is "
            f"kept, if it has at least {MIN_SIZE} px and {MIN_FRACTION:.0%} of the object).\n"
            "Either way Ctrl+Z undoes it in one step.")


def keep_label_file(trainer: Any) -> Path | None:
    """Copy the open plane's label file to a backup before a replacement is saved over it."""
    from cellpose_io.label_sources import backup_copy

    files = trainer.files
    if files.path is None:
        return None
    files.autosaver.wait()
    target = files.label_file()
    if not Path(target).exists():
        return None
    backup = backup_copy(target)
    trainer.window.statusBar().showMessage(f"Previous labels kept as {backup.name}", 10000)
    return backup


def confirm_replace(trainer: Any, what: str, n_new: int, replace: Callable[[], Any],
                    merge: Callable[[str], Any] | None = None) -> bool:
    """Run ``replace()`` (replacing the open plane's labels by ``what``) once allowed.

    No objects yet: it runs at once (returns True). Otherwise the user is asked, the
    question names how many objects will be lost, and ``replace`` runs after "Replace"
    (the label file is first copied to a backup); returns False while asking. With
    ``merge``, the question also offers "Add new objects only" / "Fill unlabelled pixels",
    which call ``merge("add")`` / ``merge("fill")``.
    """
    n_old = trainer.doc.n_objects
    if n_old == 0:
        replace()
        return True
    files = trainer.files
    name = files.path.name if files.path is not None else "this image"

    def answered(choice: str | None) -> None:
        if choice == REPLACE:
            keep_label_file(trainer)
            replace()
        elif merge is not None and choice in MERGE_MODES:
            merge(MERGE_MODES[choice])

    text = replace_text(n_old, n_new, what, name)
    choices = [REPLACE, KEEP]
    if merge is not None:
        text += merge_text()
        choices = [REPLACE, ADD, FILL, KEEP]
    trainer.window.ask(text, choices, answered,
                       title="Replace labels?" if merge is None else "Replace or merge labels?")
    return False
