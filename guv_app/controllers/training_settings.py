"""The training dialog's last values: a small JSON file in ``paths.settings_dir()``.

A JSON file (not QSettings) so the CLI and scripts can read the same defaults, and so tests
isolate it with ``MULTICELLPOSE_HOME``. Unreadable or stale files fall back to defaults.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from guv_app import paths
from guv_app.controllers.training_label_set import DEFAULTS as LABEL_SET_DEFAULTS
from guv_app.services.training.config import TrainConfig

log = logging.getLogger(__name__)

SETTINGS_FILE = "training_dialog.json"
VALIDATION_DEFAULTS = {"val_mode": "split", "val_ratio": 0.2, "val_seed": 0, "val_folder": "",
                       "run_on": "local", "scheduler_address": ""}
NOT_REMEMBERED = ("model_name", "extra")


def settings_path() -> Path:
    return paths.settings_dir() / SETTINGS_FILE


def default_values() -> dict:
    """Every dialog value: the training service's defaults plus the validation choice."""
    values = TrainConfig().to_dict()
    values.update(VALIDATION_DEFAULTS)
    values.update(LABEL_SET_DEFAULTS)
    for key in NOT_REMEMBERED:
        values.pop(key, None)
    return values


def load_values() -> dict:
    """Defaults overlaid with the remembered values (unknown keys ignored)."""
    values = default_values()
    path = settings_path()
    if not path.exists():
        return values
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("%s: cannot read remembered training settings (%s)", path, exc)
        return values
    if isinstance(saved, dict):
        values.update({k: v for k, v in saved.items() if k in values})
    return values


def save_values(values: dict) -> None:
    """Remember the dialog's values for next time (atomic; failures only logged)."""
    from cellpose_io.atomic import atomic_write_text

    keep = {k: v for k, v in values.items() if k in default_values()}
    try:
        atomic_write_text(settings_path(), json.dumps(keep, indent=2, sort_keys=True))
    except (OSError, TypeError, ValueError) as exc:
        log.warning("cannot remember training settings: %s", exc)
