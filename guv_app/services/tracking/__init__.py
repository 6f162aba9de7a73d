"""Tracks over time: link the objects of a measurement table between frames.

``track_table(table, TrackingConfig(...))`` adds ``track_id``, ``track_status``,
``track_age`` (and ``track_age_s``, ``parent_track_id``); ``wide_table`` lays one
measurement out as one column per track; ``delete_tracks`` / ``merge_tracks`` /
``TrackEdits`` edit whole tracks with undo; ``track_series`` / ``class_series`` give the
curves of a measurement over time. Plain data in and out (no Qt), so the CLI, the
Analyzer and a Dask worker call the same functions.
"""

from guv_app.services.tracking.config import TrackingConfig
from guv_app.services.tracking.costs import TrackingError
from guv_app.services.tracking.edits import TrackEdits, delete_tracks, merge_tracks
from guv_app.services.tracking.export import wide_table
from guv_app.services.tracking.link import (
    TrackingCancelled,
    TrackingResult,
    frames_from_image_order,
    track_table,
)
from guv_app.services.tracking.series import Series, class_series, time_axis, track_series

__all__ = ["Series", "frames_from_image_order", "TrackEdits", "TrackingCancelled", "TrackingConfig", "TrackingError",
           "TrackingResult", "class_series", "delete_tracks", "merge_tracks", "time_axis",
           "track_series", "track_table", "wide_table"]
