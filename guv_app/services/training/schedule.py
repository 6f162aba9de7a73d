"""Learning rate per step: linear warm-up from lr/10, then cosine decay to a floor.

Per step, not per epoch, and never zero: upstream Cellpose warms up per epoch from 0, so its
whole first epoch trains at LR 0 (shared notes). A pure function of the step makes resuming
exact.
"""

from __future__ import annotations

import math


def warmup_steps(total_steps: int, requested: int = 0) -> int:
    if requested > 0:
        return min(requested, max(1, total_steps))
    return max(1, round(0.05 * total_steps))


def lr_at(step: int, total_steps: int, peak: float, warmup: int,
          min_fraction: float = 0.05) -> float:
    """LR for 0-based ``step`` of ``total_steps``."""
    if step < warmup:
        return peak * (0.1 + 0.9 * step / warmup)
    span = max(1, total_steps - warmup)
    progress = min(1.0, (step - warmup) / span)
    floor = peak * min_fraction
    return floor + (peak - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
