"""The name a training run saves its model under: suggested, checked, asked about.

A module of its own because a model name is never reused silently: the dialog suggests a
free name from the folder and the base model, says as the user types whether the name is
free, taken by a built-in or saved model, or held by an interrupted run (which Start can
resume), and Start asks what to do with a name in use (new name, resume, replace).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from PyQt6 import QtWidgets

from guv_app.services.engine import registry
from guv_app.services.engine.errors import ModelNameError


def suggest_name(folder: Path | None, base: str) -> str:
    """``<folder>-<base>`` made registry-safe, with -2, -3 … until the name is free."""
    stem = re.sub(r"[^A-Za-z0-9._+-]+", "_", folder.name if folder else "model").strip("._-+")
    stem = f"{stem or 'model'}-{base}"[:90]
    return next_free_name(stem)


def next_free_name(stem: str) -> str:
    """``stem``, else ``stem-2``, ``stem-3`` … : the first name no model or kept run uses."""
    from guv_app.services.training.runner import is_name_unused

    if is_name_unused(stem):
        return stem
    k = 2
    while not is_name_unused(f"{stem}-{k}"):
        k += 1
    return f"{stem}-{k}"


@dataclass(frozen=True)
class NameStatus:
    """Whether a model name can be used, the line the dialog shows under it, and the
    interrupted run it holds (``run``: a ``services.training.runner`` run info, or None)."""

    usable: bool
    message: str
    run: object = None


def name_status(name: str) -> NameStatus:
    """Check ``name`` (stripped) against the registry's rules, the built-in models, kept
    interrupted runs and saved models."""
    name = name.strip()
    try:
        registry.validate_name(name)
    except ModelNameError as exc:
        return NameStatus(False, str(exc) if name else "Enter a name")
    from guv_app.services.training.runner import interrupted_run

    if name in registry.BUILTIN_NAMES:
        return NameStatus(False, f"“{name}” is taken by a built-in model")
    run = interrupted_run(name)
    if run is not None:
        return NameStatus(True, f"“{name}” has an interrupted run ({run.describe()}): Start "
                                "offers to resume it", run)
    if not registry.is_name_free(name):
        return NameStatus(True, f"“{name}” is taken by a saved model: Start asks whether to "
                                "replace it or use a new name")
    return NameStatus(True, "name is free")


def ask_name_in_use(parent: QtWidgets.QWidget | None, name: str, run, taken: bool
                    ) -> str | None:
    """Blocking question for a name in use: "new", "resume", "replace" or None (cancel).

    ``run``: the interrupted run that holds ``name`` (or None); ``taken``: a saved model
    has the name.
    """
    box = QtWidgets.QMessageBox(parent)
    box.setIcon(QtWidgets.QMessageBox.Icon.Question)
    box.setWindowTitle("Name in use")
    what = (f"An interrupted run named “{name}” is kept ({run.describe()})."
            if run is not None else f"A model named “{name}” already exists.")
    box.setText(what + "\n\nUse a new name, "
                + ("resume the interrupted run, " if run is not None else "")
                + ("or replace it (the existing "
                   + ("checkpoint" if run is not None and not taken else "model")
                   + " is discarded)?"))
    answers = {box.addButton(f"Use {next_free_name(name)}",
                             QtWidgets.QMessageBox.ButtonRole.AcceptRole): "new"}
    if run is not None:
        answers[box.addButton("Resume", QtWidgets.QMessageBox.ButtonRole.AcceptRole)] = (
            "resume")
    answers[box.addButton("Replace", QtWidgets.QMessageBox.ButtonRole.DestructiveRole)] = (
        "replace")
    box.addButton(QtWidgets.QMessageBox.StandardButton.Cancel)
    box.exec()
    return answers.get(box.clickedButton())
