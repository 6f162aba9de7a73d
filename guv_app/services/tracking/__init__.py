"""Tracks over time: link the objects of a measurement table between frames.

``track_table(table, TrackingConfig(...))`` adds ``track_id``, ``track_status``,
``track_age`` (and ``track_age_s``, ``parent_track_id``); ``wide_table`` lays one
measurement out as one column per track. Plain data in and out (no Qt), so the CLI, the
Analyzer and a Dask worker call the same functions.
"""

from guv_app.services.tracking.config import TrackingConfig
from guv_app.services.tracking.costs import TrackingError
from guv_app.services.tracking.export import wide_table
from guv_app.services.tracking.link import TrackingCancelled, TrackingResult, track_table

__all__ = ["TrackingCancelled", "TrackingConfig", "TrackingError", "TrackingResult",
           "track_table", "wide_table"]
