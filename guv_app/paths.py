"""Where MultiCellPose keeps its own files (settings, model registry, caches).

One root for everything, overridable with ``MULTICELLPOSE_HOME`` so that tests, scripts and
cluster jobs stay isolated from a user's real data.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "MULTICELLPOSE_HOME"


def app_home() -> Path:
    """Root folder for settings, registry and caches (created on first use)."""
    env = os.environ.get(HOME_ENV)
    if env:
        root = Path(env).expanduser()
    else:
        from platformdirs import user_data_dir

        root = Path(user_data_dir("multicellpose", appauthor=False))
    root.mkdir(parents=True, exist_ok=True)
    return root


def _subdir(name: str) -> Path:
    path = app_home() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    """Model registry folder: one sub-folder per trained model."""
    return _subdir("models")


def cache_dir() -> Path:
    """Derived data (e.g. flows computed from labels); safe to delete."""
    return _subdir("cache")


def settings_dir() -> Path:
    """GUI and CLI settings (remembered dialog values)."""
    return _subdir("settings")


def weights_dir() -> Path:
    """Where downloaded or user-supplied pretrained weights are kept."""
    return _subdir("weights")


def package_data_dir() -> Path:
    """Read-only files shipped inside the package: the sample image, packaged models."""
    return Path(__file__).resolve().parent / "data"
