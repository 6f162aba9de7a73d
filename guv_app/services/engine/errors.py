"""Errors of the model/inference service; each message says what to do, in one line."""

from __future__ import annotations


class EngineError(Exception):
    """Base of every error raised by ``guv_app.services.engine``."""


class ModelNotFoundError(EngineError, LookupError):
    """No built-in model, registry entry or file has this name."""


class ModelNameError(EngineError, ValueError):
    """A name that cannot be used for a new model (taken, reserved or invalid characters)."""


class ModelLoadError(EngineError):
    """A model folder or weights file exists but cannot be loaded (corrupt, wrong shapes)."""


class WeightsUnavailableError(ModelLoadError):
    """Pretrained weights are neither on disk nor downloadable (offline, blocked, cancelled)."""


class SegmentationCancelled(EngineError):
    """The caller's cancel flag was set; raised between tiles."""
