"""Atomic training checkpoints: trainable tensors + optimizer + RNG + position in the run.

Only what training changes is stored (LoRA tensors, readouts, unfrozen blocks), so a vit_l
LoRA checkpoint is a few MB. A checkpoint is written at the end of every
``checkpoint_every`` epochs and when the run is cancelled, always through a temporary file
and a rename: a crash mid-write keeps the previous checkpoint.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.pt"
RUN_INFO_FILE = "run.json"  # small summary beside the checkpoint, readable without torch


@dataclass(frozen=True)
class RunInfo:
    """An interrupted run that can be resumed: where it stopped and its epoch losses."""

    run_dir: Path
    epoch: int
    step: int
    rows: list[dict]
    config: dict

    @property
    def checkpoint(self) -> Path:
        return self.run_dir / CHECKPOINT_FILE

    def describe(self) -> str:
        return f"stopped at step {self.step} ({self.epoch} complete epoch(s))"


def read_run_info(run_dir: Path) -> RunInfo | None:
    """The interrupted run kept in ``run_dir`` (None when there is no checkpoint).

    A checkpoint without its summary (older runs) still counts, at an unknown position.
    """
    import json

    run_dir = Path(run_dir)
    if not (run_dir / CHECKPOINT_FILE).is_file():
        return None
    try:
        data = json.loads((run_dir / RUN_INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.info("%s: no readable run summary (%s)", run_dir, exc)
        data = {}
    return RunInfo(run_dir, int(data.get("epoch", 0)), int(data.get("step", 0)),
                   list(data.get("rows", [])), dict(data.get("config", {})))


@dataclass
class RunState:
    """Where a run is: next epoch / batch, the epoch's sample order and partial sums."""

    epoch: int = 0
    batch: int = 0  # next batch index inside ``epoch``
    step: int = 0  # global steps done
    order: list[int] = field(default_factory=list)  # sample order of the current epoch
    epoch_loss_sum: float = 0.0
    epoch_parts_sum: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    rows: list[dict] = field(default_factory=list)  # losses.csv rows so far
    elapsed_s: float = 0.0


def trainable_state(net) -> dict:
    return {n: p.detach().cpu().clone() for n, p in net.named_parameters() if p.requires_grad}


def save_checkpoint(path: Path, net, optimizer, rng, state: RunState, config: dict,
                    extra: dict[str, Any] | None = None) -> Path:
    import torch

    from cellpose_io.atomic import atomic_write

    payload = {
        "format": 1,
        "trainable": trainable_state(net),
        "optimizer": optimizer.state_dict(),
        "numpy_rng": rng.bit_generator.state,
        "torch_rng": torch.get_rng_state(),
        "state": state.__dict__.copy(),
        "config": config,
        "extra": extra or {},
    }
    atomic_write(path, lambda fh: torch.save(payload, fh))
    _write_run_info(path.parent, state, config)
    log.info("checkpoint %s (epoch %d, step %d)", path, state.epoch, state.step)
    return path


def _write_run_info(run_dir: Path, state: RunState, config: dict) -> None:
    import json

    from cellpose_io.atomic import atomic_write_text

    info = {"epoch": state.epoch, "step": state.step, "rows": state.rows, "config": config}
    atomic_write_text(Path(run_dir) / RUN_INFO_FILE, json.dumps(info, default=str, indent=1))


def load_checkpoint(path: Path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (clear error when unusable)."""
    import pickle

    import torch

    from guv_app.services.engine.errors import load_error_line

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"{path}: no checkpoint to resume from") from exc
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise ValueError(load_error_line(path, exc, "checkpoint")) from None
    if not isinstance(payload, dict) or payload.get("format") != 1:
        raise ValueError(f"{path}: not a MultiCellPose training checkpoint")
    return payload


def restore(payload: dict, net, optimizer, rng) -> RunState:
    """Put checkpointed tensors, optimizer and RNG state back; returns the run position."""
    import torch

    params = dict(net.named_parameters())
    trainable = payload["trainable"]
    missing = [n for n, p in params.items() if p.requires_grad and n not in trainable]
    unknown = [n for n in trainable if n not in params]
    if missing or unknown:
        raise ValueError(f"checkpoint does not fit this run: {len(missing)} missing, "
                         f"{len(unknown)} unknown tensors (e.g. {(missing or unknown)[0]})")
    with torch.no_grad():
        for name, value in trainable.items():
            params[name].copy_(value)
    optimizer.load_state_dict(payload["optimizer"])
    rng.bit_generator.state = payload["numpy_rng"]
    torch.set_rng_state(payload["torch_rng"])
    return RunState(**payload["state"])
