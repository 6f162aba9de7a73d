"""The training loop: our own, so it can report progress, cancel, checkpoint and resume.

Upstream ``cellpose.train.train_seg`` has no progress hook, trains its first epoch at LR 0 and
mis-handles class labels (shared notes); we reuse its pieces instead: flows from
``cellpose.dynamics`` (dataset), the same loss scaling, the same augmentations.

Cancel is a ``threading.Event`` checked before every step: the run stops within one step,
writes a checkpoint at that point and returns ``cancelled=True``; ``resume=True`` continues
from the checkpoint exactly where it stopped (same sample order and random state).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from guv_app.services.datasets.builder import TrainingSet
from guv_app.services.datasets.classmap import auto_class_weights, class_pixel_counts
from guv_app.services.training import adapt, checkpoint, schedule
from guv_app.services.training.augment import center_batch, make_batch
from guv_app.services.training.config import TrainConfig
from guv_app.services.training.events import PixelMetrics, TrainEvent
from guv_app.services.training.losses import compute_loss
from guv_app.services.training.metrics import pixel_metrics

log = logging.getLogger(__name__)

ProgressFn = Callable[[TrainEvent], None]


@dataclass
class TrainResult:
    cancelled: bool
    epochs_done: int
    steps_done: int
    rows: list[dict]
    counts: adapt.TrainableCounts
    lora: adapt.LoraSpec | None
    blocks: list[int]
    checkpoint: Path
    elapsed_s: float
    class_weights: list[float] | None = None
    net: Any = field(default=None, repr=False)  # trained network (LoRA not merged)


def _class_weights(dataset: TrainingSet, config: TrainConfig, n_cls: int):
    if n_cls == 0 or config.class_weights == "none":
        return None
    if config.class_weights == "auto":
        counts = class_pixel_counts([s.class_map for s in dataset.train], n_cls)
        return auto_class_weights(counts)
    weights = np.asarray(config.class_weights, dtype=np.float32)
    if weights.shape != (n_cls,):
        raise ValueError(f"class_weights needs {n_cls} values (background + classes), "
                         f"got {len(weights)}")
    return weights


def _order(rng: np.random.Generator, n_samples: int, per_epoch: int) -> list[int]:
    if per_epoch == n_samples:
        return rng.permutation(n_samples).tolist()
    return rng.choice(n_samples, size=per_epoch, replace=per_epoch > n_samples).tolist()


def _to_device(batch, device):
    import torch

    return (torch.from_numpy(batch.x).to(device), torch.from_numpy(batch.flows).to(device),
            torch.from_numpy(batch.cellprob).to(device), torch.from_numpy(batch.classes).to(device))


def validate(net, samples, config: TrainConfig, device, weights=None,
             cancel: threading.Event | None = None) -> tuple[float, PixelMetrics] | None:
    """Mean loss and foreground pixel metrics on centre crops of ``samples`` (eval mode)."""
    import torch

    if not samples:
        return None
    was_training = net.training
    net.eval()
    losses, fg_p, fg_t, cls_p, cls_t = [], [], [], [], []
    with torch.no_grad():
        for i in range(0, len(samples), config.batch_size):
            if cancel is not None and cancel.is_set():
                break
            batch = center_batch(samples[i : i + config.batch_size], config.bsize)
            x, flows, cellprob, classes = _to_device(batch, device)
            y = net(x)[0]
            parts = compute_loss(y, flows, cellprob, classes, flow_weight=config.flow_weight,
                                 cellprob_weight=config.cellprob_weight,
                                 class_weight=config.class_weight, class_weights=weights)
            losses.append(float(parts.total) * len(x))
            fg_p.append((y[:, -1] > 0).cpu().numpy())
            fg_t.append(batch.cellprob > 0.5)
            if y.shape[1] > 3:
                cls_p.append(y[:, :-3].argmax(1).cpu().numpy())
                cls_t.append(batch.classes)
    net.train(was_training)
    if not losses:
        return None
    metrics = pixel_metrics(np.concatenate(fg_p), np.concatenate(fg_t),
                            np.concatenate(cls_p) if cls_p else None,
                            np.concatenate(cls_t) if cls_t else None)
    return sum(losses) / sum(len(p) for p in fg_p), metrics


def _row(epoch, state, n_batches, lr, val, elapsed) -> dict:
    n = max(1, n_batches)
    row = {"epoch": epoch + 1, "step": state.step, "train_loss": state.epoch_loss_sum / n,
           "flow_loss": state.epoch_parts_sum[0] / n, "cellprob_loss": state.epoch_parts_sum[1] / n,
           "class_loss": state.epoch_parts_sum[2] / n, "lr": lr, "elapsed_s": round(elapsed, 3),
           "val_loss": None, "accuracy": None, "precision": None, "recall": None, "f1": None,
           "iou": None, "class_accuracy": None}
    if val is not None:
        row["val_loss"] = val[0]
        row.update({k: getattr(val[1], k) for k in
                    ("accuracy", "precision", "recall", "f1", "iou", "class_accuracy")})
    return row


@dataclass
class _Run:
    """Everything one training run carries from step to step (set up by :func:`_start`)."""

    net: Any
    dataset: TrainingSet
    config: TrainConfig
    device: Any
    optimizer: Any
    rng: np.random.Generator
    state: checkpoint.RunState
    counts: adapt.TrainableCounts
    spec: adapt.LoraSpec | None
    blocks: list[int]
    class_weights: np.ndarray | None
    class_weights_t: Any
    per_epoch: int
    n_batches: int
    total: int
    warm: int
    ckpt_path: Path
    progress: ProgressFn | None
    t_start: float  # perf_counter at step 0, counting time spent before a resume
    t_session: float  # perf_counter when this session started (for the ETA)
    start_step: int
    lr: float = 0.0

    def elapsed(self) -> float:
        return time.perf_counter() - self.t_start

    def emit(self, kind: str, epoch: int, **kw) -> None:
        if self.progress is None:
            return
        done = self.state.step - self.start_step
        per_step = (time.perf_counter() - self.t_session) / done if done else None
        eta = per_step * (self.total - self.state.step) if per_step is not None else None
        self.progress(TrainEvent(kind, epoch, self.config.epochs, self.state.step, self.total,
                                 elapsed_s=self.elapsed(), eta_s=eta, **kw))

    def save_checkpoint(self) -> None:
        self.state.elapsed_s = self.elapsed()
        checkpoint.save_checkpoint(self.ckpt_path, self.net, self.optimizer, self.rng,
                                   self.state, self.config.to_dict())

    def result(self, cancelled: bool) -> TrainResult:
        cw = self.class_weights
        return TrainResult(cancelled, self.state.epoch, self.state.step, list(self.state.rows),
                           self.counts, self.spec, self.blocks, self.ckpt_path, self.elapsed(),
                           None if cw is None else [float(v) for v in cw], self.net)


def _start(net, dataset: TrainingSet, config: TrainConfig, run_dir: Path,
           progress: ProgressFn | None, resume: bool) -> _Run:
    """Check the crop size, choose what trains, build the optimizer, class weights and
    schedule, and restore the checkpoint when resuming."""
    import torch

    from guv_app.services.engine.loading import resolve_device

    net_bsize = int(getattr(net, "bsize", config.bsize))
    if config.bsize != net_bsize:
        raise ValueError(f"bsize {config.bsize} does not fit this network: its position "
                         f"embedding is fixed to {net_bsize} px crops")
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    net, spec, blocks = adapt.prepare(net, config.mode, config.blocks, config.lora_rank,
                                      config.lora_alpha, config.lora_dropout)
    net = net.to(device).train()
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    cw = _class_weights(dataset, config, getattr(net, "n_cls", 0))
    per_epoch = config.images_per_epoch or max(8, len(dataset.train))
    n_batches = math.ceil(per_epoch / config.batch_size)
    total = config.epochs * n_batches
    ckpt_path = Path(run_dir) / checkpoint.CHECKPOINT_FILE
    state = checkpoint.RunState()
    if resume:
        payload = checkpoint.load_checkpoint(ckpt_path)
        _check_compatible(payload.get("config", {}), config)
        state = checkpoint.restore(payload, net, optimizer, rng)
    now = time.perf_counter()
    run = _Run(net, dataset, config, device, optimizer, rng, state, adapt.count(net), spec,
               blocks, cw, torch.from_numpy(cw).to(device) if cw is not None else None,
               per_epoch, n_batches, total, schedule.warmup_steps(total, config.warmup_steps),
               ckpt_path, progress, t_start=now - state.elapsed_s, t_session=now,
               start_step=state.step)
    run.lr = _lr(run)
    return run


def _lr(run: _Run) -> float:
    c = run.config
    return schedule.lr_at(run.state.step, run.total, c.lr, run.warm, c.min_lr_fraction)


def _train_step(run: _Run, epoch: int, indices: list[int]) -> None:
    """One optimizer step on an augmented batch of the training samples ``indices``."""
    c, state = run.config, run.state
    batch = make_batch([run.dataset.train[i] for i in indices], c.bsize, run.rng,
                       c.scale_range, c.rotate)
    x, flows, cellprob, classes = _to_device(batch, run.device)
    run.lr = _lr(run)
    for group in run.optimizer.param_groups:
        group["lr"] = run.lr
    y = run.net(x)[0]
    parts = compute_loss(y, flows, cellprob, classes, flow_weight=c.flow_weight,
                         cellprob_weight=c.cellprob_weight, class_weight=c.class_weight,
                         class_weights=run.class_weights_t)
    run.optimizer.zero_grad(set_to_none=True)
    parts.total.backward()
    run.optimizer.step()
    loss = float(parts.total.detach())
    state.step += 1
    state.epoch_loss_sum += loss
    for k, v in enumerate((parts.flow, parts.cellprob, parts.classes)):
        state.epoch_parts_sum[k] += v
    run.emit("step", epoch, train_loss=loss, lr=run.lr)


def _train_epoch(run: _Run, epoch: int, cancel: threading.Event | None) -> bool:
    """The (remaining) batches of one epoch; False when cancelled between two steps."""
    state, size = run.state, run.config.batch_size
    if state.batch == 0 or not state.order:
        state.order = _order(run.rng, len(run.dataset.train), run.per_epoch)
        state.epoch_loss_sum, state.epoch_parts_sum = 0.0, [0.0, 0.0, 0.0]
    run.net.train()
    for b in range(state.batch, run.n_batches):
        if cancel is not None and cancel.is_set():
            return False
        _train_step(run, epoch, state.order[b * size : (b + 1) * size])
        state.batch = b + 1
    return True


def _end_epoch(run: _Run, epoch: int, cancel: threading.Event | None) -> None:
    """Validate when due, record the epoch's row, report it and checkpoint when due."""
    c, state = run.config, run.state
    last = epoch == c.epochs - 1
    val = None
    if run.dataset.val and ((epoch + 1) % c.validate_every == 0 or last):
        val = validate(run.net, run.dataset.val, c, run.device, run.class_weights_t, cancel)
    row = _row(epoch, state, run.n_batches, run.lr, val, run.elapsed())
    state.rows.append(row)
    state.epoch, state.batch, state.order = epoch + 1, 0, []
    run.emit("epoch", epoch, train_loss=row["train_loss"], lr=run.lr,
             val_loss=val[0] if val else None, metrics=val[1] if val else None)
    if (epoch + 1) % c.checkpoint_every == 0 or last:
        run.save_checkpoint()


def train_network(
    net,
    dataset: TrainingSet,
    config: TrainConfig,
    run_dir: str | Path,
    *,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    resume: bool = False,
) -> TrainResult:
    """Train ``net`` (holding the base model's weights, n_classes matching ``dataset``).

    Steps: :func:`_start` (what trains, optimizer, schedule, resume), then per epoch
    :func:`_train_epoch` (batches, each a :func:`_train_step`) and :func:`_end_epoch`
    (validation, row, checkpoint). A cancel between two steps saves a checkpoint and
    returns ``cancelled=True``; ``resume`` continues from that checkpoint.
    """
    from guv_app.services.training.memory import memory_saving

    run = _start(net, dataset, config, Path(run_dir), progress, resume)
    with memory_saving(run.net, config.activation_checkpointing):  # no graph in frozen prefix
        run.emit("start", run.state.epoch, message=run.counts.summary())
        for epoch in range(run.state.epoch, config.epochs):
            if not _train_epoch(run, epoch, cancel):
                run.save_checkpoint()
                run.emit("cancelled", epoch, message=f"cancelled; checkpoint {run.ckpt_path}")
                return run.result(True)
            _end_epoch(run, epoch, cancel)
    run.net.eval()
    run.emit("done", config.epochs - 1, message="training finished")
    return run.result(False)


_MUST_MATCH = ("base_model", "mode", "blocks", "lora_rank", "lora_alpha", "batch_size",
               "bsize", "images_per_epoch", "epochs")


def _check_compatible(saved: dict, config: TrainConfig) -> None:
    current = config.to_dict()
    diff = [k for k in _MUST_MATCH if k in saved and saved[k] != current[k]]
    if diff:
        detail = ", ".join(f"{k}: {saved[k]!r} -> {current[k]!r}" for k in diff)
        raise ValueError(f"cannot resume: settings differ from the interrupted run ({detail})")
