"""Edits of the class table and of the class of objects, each one undo step.

Classes are a second axis of the labels, beside the pixels: assigning a class, or adding,
renaming, recolouring or removing one, never changes an instance mask, and removing a
class renumbers the class of every object above it. They live apart from the pixel and
object edits of :mod:`guv_app.services.annotation.edits` so that each module holds one kind
of edit; like those, they are plain functions over the document's public API that
:class:`~guv_app.services.annotation.document.LabelDocument` offers as methods
(``doc.add_class(...)``), and this module never imports the document (no cycle).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from guv_app.services.annotation.class_table import Color
from guv_app.services.annotation.edits import EditableDocument, _ids
from guv_app.services.annotation.events import LabelEvent


def assign_class(doc: EditableDocument, ids: Iterable[int] | int, class_id: int) -> None:
    doc.class_table.check_id(class_id)
    ids = [i for i in _ids(ids) if doc.area(i) > 0]
    if ids:
        with doc.group("assign class"):
            doc.set_object_classes(np.array(ids), np.full(len(ids), class_id))


def add_class(doc: EditableDocument, name: str, color: Color | None = None) -> int:
    name = name.strip()
    if not name or name in doc.class_table.names:
        raise ValueError(f"class name {name!r} is empty or already used")
    table = doc.class_table.copy()
    table.names.append(name)
    table.colors.append(tuple(color) if color else table.next_color())  # type: ignore[arg-type]
    table.visible.append(True)
    with doc.group("add class"):
        doc.current_class = len(table) - 1
        doc.set_class_table(table)
    return doc.current_class


def rename_class(doc: EditableDocument, class_id: int, name: str) -> None:
    doc.class_table.check_id(class_id, allow_background=False)
    name = name.strip()
    if not name or name in doc.class_table.names[:class_id] + doc.class_table.names[class_id + 1 :]:
        raise ValueError(f"class name {name!r} is empty or already used")
    table = doc.class_table.copy()
    table.names[class_id] = name
    with doc.group("rename class"):
        doc.set_class_table(table)


def recolour_class(doc: EditableDocument, class_id: int, color: Color) -> None:
    doc.class_table.check_id(class_id, allow_background=False)
    table = doc.class_table.copy()
    table.colors[class_id] = tuple(int(v) for v in color[:3])  # type: ignore[assignment]
    with doc.group("recolour class"):
        doc.set_class_table(table)


def remove_class(doc: EditableDocument, class_id: int, reassign_to: int = 0) -> None:
    """Remove a class; its objects move to ``reassign_to`` (ids above shift down)."""
    doc.class_table.check_id(class_id, allow_background=False)
    doc.class_table.check_id(reassign_to)
    if reassign_to == class_id:
        raise ValueError("objects cannot move to the class being removed")
    cur = doc.class_lookup.copy()
    new = np.where(cur == class_id, reassign_to, cur)
    new = np.where(new > class_id, new - 1, new).astype(np.int32)
    table = doc.class_table.copy()
    del table.names[class_id], table.colors[class_id], table.visible[class_id]
    with doc.group("remove class"):
        ids = np.flatnonzero(new != cur)
        if ids.size:
            doc.set_object_classes(ids, new[ids])
        # inside the step, so that undo/redo bring the current class back with the table
        if doc.current_class == class_id:
            target = reassign_to - (reassign_to > class_id)
            doc.current_class = min(max(target, 0), len(table) - 1)
        elif doc.current_class > class_id:
            doc.current_class -= 1
        doc.set_class_table(table)


def set_class_visible(doc: EditableDocument, class_id: int, visible: bool) -> None:
    """Show or hide a class on screen (a view setting: not undoable, not dirty)."""
    doc.class_table.check_id(class_id)
    doc.class_table.visible[class_id] = bool(visible)
    doc.events.emit(LabelEvent("table"))


def set_current_class(doc: EditableDocument, class_id: int) -> None:
    doc.class_table.check_id(class_id)
    doc.current_class = class_id
