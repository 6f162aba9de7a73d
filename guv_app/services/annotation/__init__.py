"""The label document (masks, classes, class table, undo) — plain Python, no Qt."""

from guv_app.services.annotation.class_table import DEFAULT_COLORS, ClassTable
from guv_app.services.annotation.colors import class_lut, instance_lut, selection_ids_lut
from guv_app.services.annotation.document import LabelDocument
from guv_app.services.annotation.events import LabelEvent

__all__ = [
    "DEFAULT_COLORS",
    "ClassTable",
    "LabelDocument",
    "LabelEvent",
    "class_lut",
    "instance_lut",
    "selection_ids_lut",
]
