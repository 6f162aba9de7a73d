"""The training dialog's values as the training service's settings, and back as editors.

Kept apart from the controller because this is the one translation between what a person
types in Ctrl+T and what ``run_training`` takes (``TrainConfig`` and ``DatasetOptions``),
with the readable messages for bad values; it is plain data in and out, testable without a
dialog. The editors come from the one settings table (``services.training.params``).
"""

from __future__ import annotations

import re
from pathlib import Path

from guv_app.controllers.training_label_set import label_set_options
from guv_app.services.datasets.builder import DatasetOptions
from guv_app.services.training.config import TrainConfig
from guv_app.views.training.fields import BIG, FieldSpec


def parse_class_weights(text) -> str | list[float]:
    """'auto', 'none' or comma/space separated numbers (background first)."""
    if isinstance(text, list | tuple):
        return [float(v) for v in text]
    t = str(text).strip().lower()
    if t in ("", "auto"):
        return "auto"
    if t == "none":
        return "none"
    try:
        return [float(v) for v in re.split(r"[,\s;]+", t) if v]
    except ValueError as exc:
        raise ValueError(f"per-class weights: expected 'auto', 'none' or numbers, got {text!r}"
                         ) from exc


def config_from_values(values: dict) -> tuple[TrainConfig, DatasetOptions]:
    """Dialog values -> the service's settings; ``ValueError`` with a readable message."""
    known = set(TrainConfig.__dataclass_fields__)
    cfg = {k: v for k, v in values.items() if k in known}
    cfg["class_weights"] = parse_class_weights(cfg.get("class_weights", "auto"))
    config = TrainConfig.from_dict(cfg)
    if values.get("val_mode") == "folder":
        folder = str(values.get("val_folder") or "").strip()
        if not folder:
            raise ValueError("choose a validation folder, or validate on a share of the images")
        if not Path(folder).is_dir():
            raise ValueError(f"{folder}: validation folder does not exist")
        options = DatasetOptions(test_dir=Path(folder), seed=int(values.get("val_seed", 0)),
                                 **label_set_options(values))
    else:
        options = DatasetOptions(test_ratio=float(values.get("val_ratio", 0.2)),
                                 seed=int(values.get("val_seed", 0)),
                                 **label_set_options(values))
    from guv_app.services.training.runner import check_crop_size

    check_crop_size(config, options)  # a message before any data is prepared
    return config, options


def field_specs(params) -> tuple[FieldSpec, ...]:
    """The dialog's editors for settings of the one table (``services.training.params``)."""
    return tuple(FieldSpec(
        p.name, p.label or p.title, p.kind, p.help_text(),
        p.minimum if p.minimum is not None else 0,
        p.maximum if p.maximum is not None else BIG, p.step, p.decimals,
        p.special, p.choices, p.editable) for p in params)
