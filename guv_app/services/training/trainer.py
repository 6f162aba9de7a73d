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
    """Train ``net`` (holding the base model's weights, n_classes matching ``dataset``)."""
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
    counts = adapt.count(net)
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    n_cls = getattr(net, "n_cls", 0)
    cw = _class_weights(dataset, config, n_cls)
    cw_t = torch.from_numpy(cw).to(device) if cw is not None else None

    per_epoch = config.images_per_epoch or max(8, len(dataset.train))
    n_batches = math.ceil(per_epoch / config.batch_size)
    total = config.epochs * n_batches
    warm = schedule.warmup_steps(total, config.warmup_steps)
    run_dir = Path(run_dir)
    ckpt_path = run_dir / checkpoint.CHECKPOINT_FILE
    state = checkpoint.RunState()
    if resume:
        payload = checkpoint.load_checkpoint(ckpt_path)
        _check_compatible(payload.get("config", {}), config)
        state = checkpoint.restore(payload, net, optimizer, rng)
    start_step, t_start = state.step, time.perf_counter() - state.elapsed_s

    def elapsed() -> float:
        return time.perf_counter() - t_start

    def emit(kind: str, epoch: int, **kw) -> None:
        if progress is None:
            return
        done = state.step - start_step
        per_step = (time.perf_counter() - t_start_session) / done if done else None
        eta = per_step * (total - state.step) if per_step is not None else None
        progress(TrainEvent(kind, epoch, config.epochs, state.step, total, elapsed_s=elapsed(),
                            eta_s=eta, **kw))

    def save_ckpt() -> None:
        state.elapsed_s = elapsed()
        checkpoint.save_checkpoint(ckpt_path, net, optimizer, rng, state, config.to_dict())

    t_start_session = time.perf_counter()
    emit("start", state.epoch, message=counts.summary())
    lr = schedule.lr_at(state.step, total, config.lr, warm, config.min_lr_fraction)
    for epoch in range(state.epoch, config.epochs):
        if state.batch == 0 or not state.order:
            state.order = _order(rng, len(dataset.train), per_epoch)
            state.epoch_loss_sum, state.epoch_parts_sum = 0.0, [0.0, 0.0, 0.0]
        net.train()
        for b in range(state.batch, n_batches):
            if cancel is not None and cancel.is_set():
                save_ckpt()
                emit("cancelled", epoch, message=f"cancelled; checkpoint {ckpt_path}")
                return _result(True, state, counts, spec, blocks, ckpt_path, elapsed(), cw, net)
            idx = state.order[b * config.batch_size : (b + 1) * config.batch_size]
            batch = make_batch([dataset.train[i] for i in idx], config.bsize, rng,
                               config.scale_range, config.rotate)
            x, flows, cellprob, classes = _to_device(batch, device)
            lr = schedule.lr_at(state.step, total, config.lr, warm, config.min_lr_fraction)
            for group in optimizer.param_groups:
                group["lr"] = lr
            y = net(x)[0]
            parts = compute_loss(y, flows, cellprob, classes, flow_weight=config.flow_weight,
                                 cellprob_weight=config.cellprob_weight,
                                 class_weight=config.class_weight, class_weights=cw_t)
            optimizer.zero_grad(set_to_none=True)
            parts.total.backward()
            optimizer.step()
            loss = float(parts.total.detach())
            state.step += 1
            state.batch = b + 1
            state.epoch_loss_sum += loss
            for k, v in enumerate((parts.flow, parts.cellprob, parts.classes)):
                state.epoch_parts_sum[k] += v
            emit("step", epoch, train_loss=loss, lr=lr)
        last = epoch == config.epochs - 1
        val = None
        if dataset.val and ((epoch + 1) % config.validate_every == 0 or last):
            val = validate(net, dataset.val, config, device, cw_t, cancel)
        row = _row(epoch, state, n_batches, lr, val, elapsed())
        state.rows.append(row)
        state.epoch, state.batch, state.order = epoch + 1, 0, []
        emit("epoch", epoch, train_loss=row["train_loss"], lr=lr,
             val_loss=val[0] if val else None, metrics=val[1] if val else None)
        if (epoch + 1) % config.checkpoint_every == 0 or last:
            save_ckpt()
    net.eval()
    emit("done", config.epochs - 1, message="training finished")
    return _result(False, state, counts, spec, blocks, ckpt_path, elapsed(), cw, net)


def _result(cancelled, state, counts, spec, blocks, ckpt, elapsed, cw, net) -> TrainResult:
    return TrainResult(cancelled, state.epoch, state.step, list(state.rows), counts, spec,
                       blocks, ckpt, elapsed, None if cw is None else [float(v) for v in cw],
                       net)


_MUST_MATCH = ("base_model", "mode", "blocks", "lora_rank", "lora_alpha", "batch_size",
               "bsize", "images_per_epoch", "epochs")


def _check_compatible(saved: dict, config: TrainConfig) -> None:
    current = config.to_dict()
    diff = [k for k in _MUST_MATCH if k in saved and saved[k] != current[k]]
    if diff:
        detail = ", ".join(f"{k}: {saved[k]!r} -> {current[k]!r}" for k in diff)
        raise ValueError(f"cannot resume: settings differ from the interrupted run ({detail})")
