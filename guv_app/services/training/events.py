"""Progress events sent to the training callback (plain, picklable dataclasses).

The GUI turns them into signals, the CLI into a progress line on stderr, a cluster job into
log lines. ``kind`` says which fields are filled.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class PixelMetrics:
    """Foreground (cell vs background) pixel metrics, plus class accuracy when classes exist."""

    accuracy: float
    precision: float
    recall: float
    f1: float
    iou: float
    class_accuracy: float | None = None


@dataclass(frozen=True)
class TrainEvent:
    kind: str  # "start" | "step" | "epoch" | "validation" | "checkpoint" | "done" | "cancelled"
    epoch: int  # 0-based epoch
    n_epochs: int
    step: int  # global step count so far
    n_steps: int  # total steps of the whole run
    train_loss: float | None = None  # last step (kind "step") or epoch mean (kind "epoch")
    val_loss: float | None = None
    metrics: PixelMetrics | None = None
    lr: float | None = None
    elapsed_s: float = 0.0
    eta_s: float | None = None
    message: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainEvent:
        """Inverse of :meth:`to_dict` (events streamed from a Dask worker arrive as dicts)."""
        data = dict(data)
        if data.get("metrics") is not None:
            data["metrics"] = PixelMetrics(**data["metrics"])
        return cls(**data)

    def line(self) -> str:
        """One-line text for logs and the CLI."""
        parts = [f"epoch {self.epoch + 1}/{self.n_epochs}", f"step {self.step}/{self.n_steps}"]
        if self.train_loss is not None:
            parts.append(f"loss {self.train_loss:.4f}")
        if self.val_loss is not None:
            parts.append(f"val {self.val_loss:.4f}")
        if self.metrics is not None:
            parts.append(f"F1 {self.metrics.f1:.3f} IoU {self.metrics.iou:.3f}")
        parts.append(f"{self.elapsed_s:.0f}s")
        if self.eta_s is not None:
            parts.append(f"ETA {self.eta_s:.0f}s")
        if self.message:
            parts.append(self.message)
        return " | ".join(parts)
