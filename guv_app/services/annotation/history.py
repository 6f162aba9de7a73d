"""Undo/redo history made of small atoms, grouped into user-visible steps.

Like napari's labels layer: a pixel edit stores only its bounding box (old and new block),
so a stroke on a 2048x2048 image costs kilobytes, not a copy of the image. Each document
(one image) owns its own history.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from guv_app.services.annotation.class_table import ClassTable

Slices = tuple[slice, slice]


class _Target(Protocol):
    def _apply_block(self, sl: Slices, block: np.ndarray) -> None: ...
    def _apply_classes(self, ids: np.ndarray, values: np.ndarray) -> None: ...
    def _apply_table(self, table: ClassTable) -> None: ...
    def _apply_remap(self, atom: RemapAtom, forward: bool) -> None: ...


@dataclass
class MaskAtom:
    """Pixels in ``slices`` went from ``old`` to ``new``."""

    slices: Slices
    old: np.ndarray
    new: np.ndarray

    def apply(self, doc: _Target, forward: bool) -> None:
        doc._apply_block(self.slices, self.new if forward else self.old)


@dataclass
class ClassAtom:
    """Objects ``ids`` changed class from ``old`` to ``new``."""

    ids: np.ndarray
    old: np.ndarray
    new: np.ndarray

    def apply(self, doc: _Target, forward: bool) -> None:
        doc._apply_classes(self.ids, self.new if forward else self.old)


@dataclass
class TableAtom:
    """The class table was replaced (add / rename / recolour / remove)."""

    old: ClassTable
    new: ClassTable

    def apply(self, doc: _Target, forward: bool) -> None:
        doc._apply_table((self.new if forward else self.old).copy())


@dataclass
class RemapAtom:
    """Objects ``ids`` became ``to`` (0 = deleted) inside ``slices``: a bulk delete/merge.

    Stores the block before the edit once (in the smallest integer type that holds the
    ids) instead of an old and a new block, and the areas and bounding boxes of ``ids`` so
    undo restores them without rescanning the image.
    """

    slices: Slices
    ids: np.ndarray
    to: np.ndarray
    old: np.ndarray
    areas: np.ndarray
    boxes: dict[int, list[int]] | None

    def apply(self, doc: _Target, forward: bool) -> None:
        doc._apply_remap(self, forward)


Atom = MaskAtom | ClassAtom | TableAtom | RemapAtom


@dataclass
class Step:
    """One user action (e.g. a traced polygon or a whole brush stroke)."""

    name: str
    atoms: list[Atom] = field(default_factory=list)
    current_before: int = 0  # current class before/after: restored when the table changed
    current_after: int = 0

    @property
    def changes_table(self) -> bool:
        return any(isinstance(a, TableAtom) for a in self.atoms)

    def undo(self, doc: _Target) -> None:
        for atom in reversed(self.atoms):
            atom.apply(doc, forward=False)

    def redo(self, doc: _Target) -> None:
        for atom in self.atoms:
            atom.apply(doc, forward=True)


class History:
    """Bounded undo stack; a new step clears the redo stack."""

    def __init__(self, limit: int = 200) -> None:
        self._undo: deque[Step] = deque(maxlen=limit)
        self._redo: list[Step] = []

    def push(self, step: Step) -> None:
        if step.atoms:
            self._undo.append(step)
            self._redo.clear()

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo_name(self) -> str | None:
        return self._undo[-1].name if self._undo else None

    def redo_name(self) -> str | None:
        return self._redo[-1].name if self._redo else None

    def pop_undo(self) -> Step | None:
        if not self._undo:
            return None
        step = self._undo.pop()
        self._redo.append(step)
        return step

    def pop_redo(self) -> Step | None:
        if not self._redo:
            return None
        step = self._redo.pop()
        self._undo.append(step)
        return step
