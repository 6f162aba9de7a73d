"""One call for a whole fine-tune: dataset -> base model -> training -> evaluation -> registry.

This is what the Ctrl+T dialog's worker and ``multicellpose train`` both call. Plain data in
and out; progress through ``progress(TrainEvent)`` and ``dataset_progress(done, total, msg)``;
cancel through a ``threading.Event``. Checkpoints live in ``app_home()/runs/<name>/`` (never
in the user's folders) and are removed after a successful save.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from guv_app.services.datasets.builder import (
    DatasetCancelled,
    DatasetOptions,
    Sample,
    TrainingSet,
    build_training_set,
)
from guv_app.services.progress import Progress
from guv_app.services.training.config import TrainConfig
from guv_app.services.training.metrics import InstanceMetrics, instance_metrics
from guv_app.services.training.trainer import ProgressFn, TrainResult, train_network

log = logging.getLogger(__name__)


@dataclass
class TrainingOutcome:
    model_name: str
    model_dir: Path | None  # None when cancelled (nothing saved)
    cancelled: bool
    result: TrainResult
    metrics: InstanceMetrics | None
    n_train: int
    n_val: int
    skipped: list = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def cancelled_before_training(run_dir: Path) -> TrainResult:
    """The result of a run cancelled while its data was prepared: no step, nothing kept."""
    from guv_app.services.training.adapt import TrainableCounts
    from guv_app.services.training.checkpoint import CHECKPOINT_FILE

    return TrainResult(cancelled=True, epochs_done=0, steps_done=0, rows=[],
                       counts=TrainableCounts(0, 0, 0, 0, 0), lora=None, blocks=[],
                       checkpoint=run_dir / CHECKPOINT_FILE, elapsed_s=0.0)


def run_dir_for(name: str) -> Path:
    from guv_app import paths

    return paths.app_home() / "runs" / name


class RunNameError(ValueError):
    """The model name is used by a saved model or by an interrupted run (message says which
    and how to go on: another name, resume, or overwrite)."""


def interrupted_run(name: str):
    """The :class:`~guv_app.services.training.checkpoint.RunInfo` of an interrupted run
    named ``name``, or None."""
    from guv_app.services.training.checkpoint import read_run_info

    return read_run_info(run_dir_for(name))


def check_run_name(name: str, *, resume: bool = False, overwrite: bool = False) -> None:
    """Refuse to start a run that would silently replace a model or a kept checkpoint.

    ``resume`` needs an interrupted run of that name; ``overwrite`` allows replacing the
    saved model and discards the checkpoint of an interrupted run (starting over). Raises
    :class:`RunNameError` (or ``ModelNameError`` for a malformed name).
    """
    from guv_app.services.engine import registry

    registry.validate_name(name)
    run = interrupted_run(name)
    if resume:
        if run is None:
            raise RunNameError(f"there is no interrupted run named {name!r} to resume "
                               f"(no checkpoint in {run_dir_for(name)})")
        return
    if name in registry.BUILTIN_NAMES:
        raise RunNameError(f"the name {name!r} is taken by a built-in model; choose another")
    if not registry.is_name_free(name) and not overwrite:
        raise RunNameError(f"the name {name!r} is taken by a saved model; choose another "
                           "name, or replace that model (--overwrite)")
    if run is not None and not overwrite:
        raise RunNameError(f"an interrupted run named {name!r} is kept ({run.describe()}, "
                           f"{run.checkpoint}); continue it (--resume), start it over "
                           "(--overwrite) or choose another name")


def check_crop_size(config: TrainConfig, options: DatasetOptions | None = None) -> None:
    """ValueError unless the crop size (bsize) is the one the network is built for and
    large images are not cut into tiles smaller than a crop (checked before any data is
    prepared)."""
    from guv_app.services.engine.meta import CROP_SIZE

    if config.bsize != CROP_SIZE:
        raise ValueError(f"bsize {config.bsize} px cannot be used: the network's position "
                         f"embedding is fixed to {CROP_SIZE} px crops (use --bsize {CROP_SIZE})")
    tile = options.tile_size if options is not None else 0
    if tile and tile < config.bsize:
        raise ValueError(f"tile size {tile} px is smaller than the {config.bsize} px training "
                         f"crops; use a tile size >= {config.bsize} px (or 0: never tile)")


def _is_registered(name: str) -> bool:
    from guv_app.services.engine import registry
    from guv_app.services.engine.errors import ModelNotFoundError

    try:
        registry.get_model_meta(name)
    except ModelNotFoundError:
        return False
    return True


def is_name_unused(name: str) -> bool:
    """No saved model and no interrupted run uses ``name``."""
    from guv_app.services.engine import registry

    return registry.is_name_free(name) and interrupted_run(name) is None


def prepare_network(base_model: str, n_classes: int, device: str = "cpu"):
    """A private copy of the base model's network with an ``n_classes`` class head.

    The head is replaced in place on the loaded copy (a fresh head, seeded like the
    ``tiny`` backbone so a run is repeatable): one network in memory, never two.
    """
    import torch

    from guv_app.services.engine.loading import load_model
    from guv_app.services.engine.network import TINY_SEED

    base = load_model(base_model, device="cpu", cache=False)
    if base.meta.n_classes == n_classes:
        return base.net, base.meta
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TINY_SEED)
        base.net.set_class_head(n_classes)
    return base.net, base.meta


def predict_masks(net, meta, samples: Sequence[Sample], device="cpu",
                  cancel: threading.Event | None = None) -> list:
    """``segment`` each sample's (already prepared) image with the in-memory ``net``."""
    from guv_app.services.engine.inference import SegmentParams, segment
    from guv_app.services.engine.loading import LoadedModel, resolve_device

    dev = resolve_device(device)
    loaded = LoadedModel(net=net.to(dev).eval(), meta=meta, device=dev, source="training")
    # samples are already channel-selected and normalised like inference does it
    params = SegmentParams(channels=[0, 1, 2], normalize=False, device=str(dev))
    out = []
    for s in samples:
        if cancel is not None and cancel.is_set():
            break
        out.append(segment(s.image, loaded, params))
    return out


def evaluate_samples(net, meta, samples: Sequence[Sample], class_names: Sequence[str],
                     device="cpu", cancel: threading.Event | None = None) -> InstanceMetrics:
    results = predict_masks(net, meta, samples, device, cancel)
    used = samples[: len(results)]
    return instance_metrics(
        [f"{s.image_path.name}{list(s.box)}" for s in used], [s.masks for s in used],
        [r.masks for r in results], [s.class_map for s in used],
        [r.classes for r in results], class_names)


def _absolute(path: str) -> str:
    return str(Path(path).resolve()) if path else path


def lineage_for(config: TrainConfig, dataset: TrainingSet, train_dir: str | Path | None,
                base: dict | None) -> dict:
    """``meta.json["lineage"]``: base weights identity (name, absolute path, sha256) and the
    absolute dataset folders with every file's content hash."""
    files = [{**vars(f), "image": _absolute(f.image), "labels": _absolute(f.labels)}
             for f in dataset.files]
    folders = [str(Path(train_dir).resolve())] if train_dir is not None else []
    return {"base": base or {"name": config.base_model}, "datasets": folders, "files": files}


def model_meta_for(config: TrainConfig, dataset: TrainingSet, base_meta, result: TrainResult,
                   metrics: InstanceMetrics | None, timings: dict[str, float],
                   lineage: dict | None = None):
    from guv_app.services.engine.meta import ModelMeta
    from guv_app.services.training.save import versions

    extra = {
        "training": {
            "mode": config.mode,
            "config": config.to_dict(),
            "lora": result.lora.to_dict() if result.lora else None,
            "trained_blocks": result.blocks,
            "trainable_parameters": vars(result.counts),
            "class_weights": result.class_weights,
            "epochs_done": result.epochs_done,
            "steps_done": result.steps_done,
            "final_train_loss": result.rows[-1]["train_loss"] if result.rows else None,
            "final_val_loss": result.rows[-1]["val_loss"] if result.rows else None,
        },
        "dataset": {
            "files": [vars(f) for f in dataset.files],
            "n_train_regions": len(dataset.train),
            "n_val_regions": len(dataset.val),
            "skipped": [{"path": str(s.path), "reason": s.reason} for s in dataset.skipped],
            "diam_labels": dataset.diam_labels,
        },
        "metrics": metrics.to_dict() if metrics else None,
        "timings": timings,
        "versions": versions(),
        "base_model": config.base_model,
        "lineage": lineage or lineage_for(config, dataset, None, None),
    }
    return ModelMeta(
        name=config.model_name, backbone=base_meta.backbone, n_classes=dataset.n_classes,
        class_names=list(dataset.class_names), class_colors=list(dataset.class_colors),
        channels=dataset.channels, diam_mean=base_meta.diam_mean,
        default_diameter=base_meta.default_diameter, parent=config.base_model, kind="trained",
        description=f"{config.mode} fine-tune of {config.base_model}", extra=extra,
    )


def run_training(
    train_dir: str | Path,
    config: TrainConfig,
    options: DatasetOptions | None = None,
    *,
    progress: ProgressFn | None = None,
    dataset_progress: Progress | None = None,
    cancel: threading.Event | None = None,
    resume: bool = False,
    overwrite: bool = False,
    dataset: TrainingSet | None = None,
) -> TrainingOutcome:
    """Fine-tune ``config.base_model`` on ``train_dir`` and save as ``config.model_name``.

    ``cancel`` is honoured while the data is prepared (between files) and during training
    (every step); a run cancelled before its first step returns ``cancelled=True`` with
    ``steps_done == 0`` and nothing written. ``resume`` continues the interrupted run of
    that name from its checkpoint; ``overwrite`` replaces a saved model of that name or
    starts an interrupted run over. Without them an existing name is a
    :class:`RunNameError` (see :func:`check_run_name`).
    """
    from guv_app.services.training.save import (
        adapter_payload,
        merge_in_place,
        save_trained_model,
    )

    check_run_name(config.model_name, resume=resume, overwrite=overwrite)
    if overwrite and not resume:
        shutil.rmtree(run_dir_for(config.model_name), ignore_errors=True)
    from guv_app.services.engine.lineage import weights_identity
    from guv_app.services.engine.loading import describe_model

    base_path = Path(config.base_model).expanduser()
    if not _is_registered(config.base_model) and base_path.exists():
        config.base_model = str(base_path.resolve())  # a weights file or model folder
    base_meta = describe_model(config.base_model)
    base_identity = weights_identity(config.base_model)
    options = options or DatasetOptions()
    check_crop_size(config, options)  # before minutes of data preparation
    if base_meta.n_classes > 0 and options.base_class_names is None:
        options.base_class_names = list(base_meta.class_names)
        options.base_class_colors = list(base_meta.class_colors)
    if options.channels is None and base_meta.channels is not None:
        options.channels = list(base_meta.channels)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if dataset is None:
        try:
            dataset = build_training_set(train_dir, options, dataset_progress, cancel=cancel)
        except DatasetCancelled:
            log.info("%s: cancelled while preparing the training data", config.model_name)
            return TrainingOutcome(config.model_name, None, True,
                                   cancelled_before_training(run_dir_for(config.model_name)),
                                   None, 0, 0)
    timings["dataset_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    net, base_meta = prepare_network(config.base_model, dataset.n_classes)
    timings["load_base_s"] = time.perf_counter() - t0
    run_dir = run_dir_for(config.model_name)
    result = train_network(net, dataset, config, run_dir, progress=progress, cancel=cancel,
                           resume=resume)
    timings["train_s"] = result.elapsed_s
    outcome = TrainingOutcome(config.model_name, None, result.cancelled, result, None,
                              len(dataset.train), len(dataset.val), list(dataset.skipped), timings)
    if result.cancelled:
        return outcome

    t0 = time.perf_counter()
    payload = adapter_payload(result.net)
    merged = merge_in_place(result.net)  # result.net is the merged, plain network from here
    lineage = lineage_for(config, dataset, train_dir, base_identity)
    meta = model_meta_for(config, dataset, base_meta, result, None, timings, lineage)
    if dataset.val:
        outcome.metrics = evaluate_samples(merged, meta, dataset.val, dataset.class_names,
                                           config.device, cancel)
    timings["evaluate_s"] = time.perf_counter() - t0
    meta = model_meta_for(config, dataset, base_meta, result, outcome.metrics, timings, lineage)
    outcome.model_dir = save_trained_model(
        config.model_name, result, payload, meta,
        merged_net=merged if config.save_merged else None, kind=config.mode,
        overwrite=overwrite)
    shutil.rmtree(run_dir, ignore_errors=True)
    return outcome
