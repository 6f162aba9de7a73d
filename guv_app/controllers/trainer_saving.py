"""When the Trainer writes a plane's labels: Ctrl+S, the autosave countdown, before leaving.

Ctrl+S writes in the GUI thread so the user sees the result at once; autosave (on by
default, a setting) snapshots the labels a moment after the last edit and writes them on
the worker of :mod:`guv_app.controllers.trainer_autosave`. Before another image, plane or
series is shown, and before the window closes, unsaved edits are saved or the user is
asked. A label file that could not be read is never autosaved over: Ctrl+S first moves it
aside (``.unreadable``).

A mixin of :class:`~guv_app.controllers.trainer_files.TrainerFiles` rather than a part of its
own: every step reads the session's state (open path, plane, ``token``, ``protect_seg``) and
the rest of the Trainer reaches it as ``files.save`` / ``files.autosaver``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6 import QtCore

from cellpose_io.label_sources import CARRIES_KEY
from guv_app.controllers.trainer_autosave import Autosaver, SaveJob, write_job

if TYPE_CHECKING:
    from guv_app.services.annotation import LabelDocument
    from guv_app.views.trainer.window import TrainerWindow

log = logging.getLogger(__name__)
AUTOSAVE_KEY = "trainer/autosave"


class LabelSaving:
    """Saving and autosave of the open plane's labels (mixed into ``TrainerFiles``)."""

    AUTOSAVE_DELAY_MS = 1500

    # state of the file session this mixin works on (set by TrainerFiles)
    window: TrainerWindow
    doc: LabelDocument
    settings: QtCore.QSettings
    path: Path | None
    series: int
    token: int
    protect_seg: bool
    carries: dict | None
    told: set[Path]
    job_hook: Callable[[SaveJob], SaveJob] | None
    after_saved: Callable[[SaveJob], None] | None
    is_dirty: Callable[[], bool]
    label_file: Callable[[], Path]  # (trainer_plane_labels)
    plane_key: Callable[[], tuple[int | None, int | None]]
    _update_folder_label: Callable[[], None]  # (trainer_files)

    def _setup_saving(self) -> None:
        """The autosave setting, worker and countdown, and the Save / Autosave actions."""
        self.autosave = self.settings.value(AUTOSAVE_KEY, True, type=bool)
        self.autosaver = Autosaver(self)
        self.autosaver.saved.connect(self._on_saved)
        self.autosaver.failed.connect(lambda job, msg: self.window.show_message(msg))
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.AUTOSAVE_DELAY_MS)
        self._timer.timeout.connect(self.autosave_now)
        a = self.window.actions
        a["autosave"].setChecked(self.autosave)
        a["autosave"].toggled.connect(self.set_autosave)
        a["save"].triggered.connect(self.save)

    def _job(self) -> SaveJob:
        doc = self.doc
        t = doc.class_table
        extra = {} if self.carries is None else {CARRIES_KEY: dict(self.carries)}
        job = SaveJob(self.path, doc.masks.copy(), doc.classes, list(t.names),
                      list(t.colors), doc.version, self.token, self.series, *self.plane_key(),
                      extra=extra)
        return job if self.job_hook is None else self.job_hook(job)

    def _unlabelled(self, job: SaveJob) -> bool:
        """Nothing drawn on a plane that has no label file: it stays unlabelled (no file)."""
        return not job.masks.any() and not job.out_path.exists() and not job.extra \
            and not job.channels

    def save(self) -> bool:
        """Save now, in the GUI thread (Ctrl+S): the user sees the result immediately."""
        if self.path is None:
            return False

        self._timer.stop()
        self.autosaver.wait()
        if self.protect_seg:
            seg = self.label_file()
            if seg.exists():
                from cellpose_io.atomic import set_aside

                set_aside(seg)  # never over an earlier .unreadable copy
            self.protect_seg = False
        job = self._job()
        try:
            out = write_job(job)
        except (OSError, ValueError, TypeError) as exc:
            self.window.show_message(f"Could not save the labels of {self.path}: {exc}")
            return False
        self._on_saved(job, out)
        return True

    def set_autosave(self, on: bool) -> None:
        self.autosave = bool(on)
        self.settings.setValue(AUTOSAVE_KEY, self.autosave)
        self.on_state_changed()

    def on_state_changed(self) -> None:
        """Document changed: (re)start the autosave countdown."""
        if self.autosave and self.path is not None and self.is_dirty() and not self.protect_seg:
            self._timer.start()

    def autosave_now(self) -> None:
        if self.path is not None and self.is_dirty() and not self.protect_seg:
            self._submit(self._job())

    def _submit(self, job: SaveJob) -> None:
        if self._unlabelled(job):
            self._mark_saved(job)
            return
        self.autosaver.submit(job)

    def _mark_saved(self, job: SaveJob) -> None:
        if job.token == self.token:
            self.doc.mark_saved(job.version)
        if self.after_saved is not None:
            self.after_saved(job)

    def _on_saved(self, job: SaveJob, out: Path) -> None:
        self._mark_saved(job)
        self.window.statusBar().showMessage(f"Saved {Path(out).name}", 3000)
        carried = job.extra.get(CARRIES_KEY)
        if carried and Path(out) not in self.told:  # say once where the mask's labels went
            self.told.add(Path(out))
            self.window.show_message(
                f"{Path(out).name} now holds the labels of {carried['file']} with your "
                f"edits; {carried['file']} itself is unchanged and no longer counted "
                "separately.", title="Labels saved", error=False)
        self._update_folder_label()

    def leave_current(self) -> bool:
        """Before switching images: save (autosave) or ask; False = stay."""
        self._timer.stop()
        if self.path is None or not self.is_dirty():
            return True
        if self.autosave and not self.protect_seg:
            self._submit(self._job())
            return True
        answer = self.window.ask_unsaved(self.path.name)
        if answer == "save":
            return self.save()
        return answer == "discard"

    def can_close(self) -> bool:
        ok = self.leave_current()
        if ok:
            self.autosaver.wait()
        return ok
