"""What the app knows about a model without loading its weights: backbone, classes, channels.

A ``ModelMeta`` is stored as ``meta.json`` in each trained model's folder and is built in code
for the built-in models. It is plain data (picklable, JSON round-trip) so that the GUI, the CLI
and cluster workers can list and choose models without importing torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from cellpose_io.label_classes import default_class_colors

BACKBONES = ("vit_l", "vit_b", "tiny")
# Side of the square crops (px) every backbone's position embedding is built for (the
# Cellpose-SAM network's bsize); training crops must have this size.
CROP_SIZE = 256
KINDS = ("builtin", "trained")


def default_class_names(n_classes: int) -> list[str]:
    return ["background"] + [f"class {i}" for i in range(1, n_classes + 1)]


@dataclass
class ModelMeta:
    """Description of one model in the registry.

    ``n_classes`` counts USER classes N; the network then has N+1 class logits (background
    first) when N > 0 and none when N == 0 (a plain flows model like upstream Cellpose-SAM).
    ``channels`` lists which image channels feed the network, in order (None: the first up
    to three channels of the image). ``diam_mean`` is the object diameter (pixels) the network
    expects; ``default_diameter`` is the diameter assumed for images when the caller gives
    none (None: run images at their native scale, like Cellpose-SAM). Keys this class does
    not know (training info, metrics, ...) are kept in ``extra`` and written back unchanged.
    """

    name: str
    backbone: str
    n_classes: int = 0
    class_names: list[str] = field(default_factory=list)
    class_colors: list[tuple[int, int, int]] = field(default_factory=list)
    channels: list[int] | None = None
    diam_mean: float = 30.0
    default_diameter: float | None = None
    parent: str | None = None
    kind: str = "trained"
    description: str = ""
    created: str | None = None
    weights: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(
                f"model {self.name!r}: unknown backbone {self.backbone!r} "
                f"(expected one of {', '.join(BACKBONES)})"
            )
        if self.kind not in KINDS:
            raise ValueError(f"model {self.name!r}: unknown kind {self.kind!r}")
        self.n_classes = int(self.n_classes)
        if self.n_classes < 0:
            raise ValueError(f"model {self.name!r}: n_classes must be >= 0")
        if not self.class_names:
            self.class_names = default_class_names(self.n_classes)
        self.class_names = [str(n) for n in self.class_names]
        if len(self.class_names) != self.n_classes + 1:
            raise ValueError(
                f"model {self.name!r}: {len(self.class_names)} class names for "
                f"{self.n_classes} classes (expected background + {self.n_classes})"
            )
        if not self.class_colors:
            self.class_colors = default_class_colors(self.n_classes)
        self.class_colors = [tuple(int(v) for v in c) for c in self.class_colors]
        if len(self.class_colors) != self.n_classes + 1:
            raise ValueError(
                f"model {self.name!r}: {len(self.class_colors)} class colours for "
                f"{self.n_classes} classes (expected {self.n_classes + 1})"
            )
        if self.channels is not None:
            self.channels = [int(c) for c in self.channels]
        self.diam_mean = float(self.diam_mean)
        if self.default_diameter is not None:
            self.default_diameter = float(self.default_diameter)

    @property
    def n_class_logits(self) -> int:
        """Channels of the class readout: N+1 (with background) or 0 for a flows-only model."""
        return self.n_classes + 1 if self.n_classes > 0 else 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; ``extra`` keys are merged at top level (they never shadow fields)."""
        data = asdict(self)
        extra = data.pop("extra")
        data["class_colors"] = [list(c) for c in self.class_colors]
        for key, value in extra.items():
            data.setdefault(key, value)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelMeta:
        """Inverse of :meth:`to_dict`; unknown keys go to ``extra``."""
        known = {f.name for f in fields(cls)} - {"extra"}
        kwargs = {k: v for k, v in data.items() if k in known}
        extra = dict(data.get("extra") or {})
        extra.update({k: v for k, v in data.items() if k not in known and k != "extra"})
        return cls(**kwargs, extra=extra)
