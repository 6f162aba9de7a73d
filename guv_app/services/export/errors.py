"""Errors of export and import, each a one-line message naming the file and the problem."""

from __future__ import annotations

from guv_app.services.engine.errors import EngineError


class ExportError(EngineError, ValueError):
    """A model cannot be written in the requested format (and why, and what works instead)."""


class ImportModelError(EngineError, ValueError):
    """A file cannot be imported as a model (not a Cellpose checkpoint / BioImage.IO package)."""
