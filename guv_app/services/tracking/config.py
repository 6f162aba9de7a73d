"""Settings of a tracking run, in the units of the measurement table (px, frames)."""

from __future__ import annotations

from dataclasses import dataclass

#: Track status of a row (the ``track_status`` column).
STATUS_NEW = "new"  # first object of a track (appeared, or first frame)
STATUS_MATCHED = "matched"  # linked to the same track in the previous frame
STATUS_GAP_CLOSED = "gap-closed"  # linked across one or more frames where it was not found
STATUS_DIVIDED = "divided"  # first object of a daughter track (a division of parent_track_id)
STATUS_UNTRACKED = "untracked"  # row without a position (no centroid): not linked


@dataclass(frozen=True)
class TrackingConfig:
    """How objects are linked between frames.

    The cost of linking object a (frame t) to object b (frame t + k) is, in px²::

        d² + (area_weight · ln(area_b / area_a))²
           + (intensity_weight · ln((1 + I_b) / (1 + I_a)))²
           + (overlap_weight · (1 − IoU of the bounding boxes))²

    with d the centroid displacement in px (in µm with ``units="um"``, from the
    ``centroid_y_um``/``centroid_x_um`` columns a calibrated measurement has). A link is allowed only when its cost is at most
    ``max_distance²`` (``gap_max_distance²`` across a gap), so the feature terms spend the
    same budget as the displacement: a weight is "how many px of movement a change by a
    factor e is worth" (TrackMate's feature penalties play the same role). Links across
    classes are forbidden when ``same_class`` is set. Among allowed links the globally
    cheapest set is chosen by linear assignment (Jaqaman et al. 2008, via ``laptrack``);
    ending a track and starting one each cost ``max_distance²``, so an object that can be
    linked is linked.

    ``max_gap`` is the number of consecutive frames an object may be missing and still keep
    its track (0 = no gap closing). ``divisions`` lets one object link to two in the next
    frame (cell division); the daughters get new tracks whose ``parent_track_id`` is the
    mother's.
    """

    max_distance: float = 15.0  # per frame, in ``units``
    units: str = "px"  # "px": centroid_y/_x; "um": centroid_y_um/_x_um (files with a pixel size)
    max_gap: int = 0  # missing frames bridged by gap closing
    gap_max_distance: float | None = None  # px across a gap; None = max_distance
    area_weight: float = 0.0
    intensity_weight: float = 0.0
    intensity_column: str = "ch0_mean"
    overlap_weight: float = 0.0
    same_class: bool = False
    divisions: bool = False
    frame_column: str = "t"

    def __post_init__(self) -> None:
        if self.units not in ("px", "um"):
            raise ValueError(f"units must be 'px' or 'um', got {self.units!r}")
        if not self.max_distance > 0:
            raise ValueError(f"max_distance must be > 0 px, got {self.max_distance}")
        if self.max_gap < 0:
            raise ValueError(f"max_gap must be >= 0 frames, got {self.max_gap}")
        if self.gap_max_distance is not None and not self.gap_max_distance > 0:
            raise ValueError(f"gap_max_distance must be > 0 px, got {self.gap_max_distance}")
        for name in ("area_weight", "intensity_weight", "overlap_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    @property
    def gap_distance(self) -> float:
        return self.max_distance if self.gap_max_distance is None else self.gap_max_distance
