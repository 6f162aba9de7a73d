"""The table of user classes: names, colours and visibility, with class 0 = background.

Plain data so the label document can snapshot it for undo and the file layer can save it
as the ``class_names`` / ``class_colors`` lists of the ``_seg.npy`` contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cellpose_io.label_classes import BACKGROUND_COLOR, CLASS_PALETTE, default_class_color

Color = tuple[int, int, int]

# The project's one default class palette (cellpose_io.label_classes), offered in order to
# new classes.
DEFAULT_COLORS: tuple[Color, ...] = CLASS_PALETTE


@dataclass
class ClassTable:
    """Class names and colours indexed by class id; index 0 is always ``background``."""

    names: list[str] = field(default_factory=lambda: ["background"])
    colors: list[Color] = field(default_factory=lambda: [BACKGROUND_COLOR])
    visible: list[bool] = field(default_factory=lambda: [True])

    def __post_init__(self) -> None:
        if not self.names or self.names[0] != "background":
            raise ValueError("class 0 must be named 'background'")
        if len(self.colors) != len(self.names):
            raise ValueError("class_colors must have one colour per class name")
        self.colors = [tuple(int(v) for v in c[:3]) for c in self.colors]  # type: ignore[misc]
        if len(self.visible) != len(self.names):
            self.visible = [True] * len(self.names)

    @classmethod
    def from_lists(cls, names: list[str] | None, colors: list | None = None) -> ClassTable:
        """Build from saved lists, tolerating missing colours (old files) and no names."""
        names = list(names) if names else ["background"]
        if names[0] != "background":
            names = ["background", *names]
        colors = list(colors) if colors is not None else []
        out = [BACKGROUND_COLOR]
        for i in range(1, len(names)):
            c = colors[i] if i < len(colors) else default_class_color(i)
            out.append(tuple(int(v) for v in c[:3]))  # type: ignore[arg-type]
        return cls(list(map(str, names)), out)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def n_user_classes(self) -> int:
        return len(self.names) - 1

    def copy(self) -> ClassTable:
        return ClassTable(list(self.names), list(self.colors), list(self.visible))

    def next_color(self) -> Color:
        used = set(self.colors)
        for c in DEFAULT_COLORS:
            if c not in used:
                return c
        return default_class_color(len(self.names))

    def check_id(self, class_id: int, *, allow_background: bool = True) -> None:
        low = 0 if allow_background else 1
        if not low <= class_id < len(self.names):
            raise ValueError(f"class id {class_id} is not in 0..{len(self.names) - 1}")


def merge_classes(table_names: list[str], table_colors: list, other_names: list[str],
                  other_colors: list, other_classes=None):
    """Map another label set's class ids onto a document's classes by name.

    Used for model predictions and imported labels. Classes the document lacks are appended
    (with the other set's colour). Returns ``(names, colours, classes)``: the merged lists
    and the remapped per-object class array (int64, ``classes[0] == 0``; None when
    ``other_classes`` is None or empty).
    """
    import numpy as np

    names, colors = list(table_names), [tuple(c) for c in table_colors]
    remap = np.zeros(max(len(other_names), 1), np.int32)
    for k, name in enumerate(other_names):
        if k == 0:
            continue
        if name not in names:
            names.append(name)
            colors.append(tuple(other_colors[k]) if k < len(other_colors) else
                          default_class_color(len(names) - 1))
        remap[k] = names.index(name)
    classes = None
    if other_classes is not None and len(other_classes):
        cl = np.clip(np.asarray(other_classes, np.int64), 0, len(remap) - 1)
        classes = remap[cl].astype(np.int64)
        classes[0] = 0
    return names, colors, classes
