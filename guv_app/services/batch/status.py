"""The status of one plane of a batch (predict, measure, evaluate): one dataclass for all."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from guv_app.services.batch.runner import STATUSES


@dataclass
class PlaneStatus:
    """What happened to one plane (plain data: goes through Qt signals and pickles).

    ``status`` is one of :data:`STATUSES` (done / failed / skipped / cancelled) and
    ``reason`` says why for every status but done. ``file`` is the plane's result file (the
    prediction written or kept, or the label file measured); ``plugin_errors`` lists
    measurement plugins that failed on a plane that was otherwise measured.
    """

    image: str
    status: str
    reason: str = ""
    series: int = 0
    t: int = 0
    z: int = 0
    n_objects: int = 0
    seconds: float = 0.0
    file: str = ""
    single: bool = True
    plugin_errors: dict[str, str] = field(default_factory=dict)
    plugin_warnings: dict[str, str] = field(default_factory=dict)  # e.g. all-NaN columns

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    @property
    def plane_text(self) -> str:
        """``s0 t3 z0`` (``z all (3-D)`` for a whole stack); "" for a single-plane file."""
        if self.single and self.series == 0:
            return ""
        z = "z all (3-D)" if self.z < 0 else f"z{self.z}"
        return f"s{self.series} t{self.t} {z}"

    @property
    def label(self) -> str:
        """``movie.nd2 s0 t3 z0``, or the file name of a single-plane file."""
        name = Path(self.image).name
        return f"{name} {self.plane_text}" if self.plane_text else name

    @property
    def where(self) -> str:
        """The file's path, plus ``s0 t3 z0`` for a plane of a multi-plane file (messages)."""
        return f"{self.image} {self.plane_text}" if self.plane_text else str(self.image)


def count(statuses, status: str) -> int:
    return sum(s.status == status for s in statuses)


def n_files(statuses) -> int:
    """Number of distinct image files among ``statuses``."""
    return len({s.image for s in statuses})
