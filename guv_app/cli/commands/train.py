"""``multicellpose train``: fine-tune a model on a labelled folder and add it to the registry.

Same service and defaults as the GUI's training dialog. Progress goes to stderr: a live bar
on a terminal, one line per epoch otherwise (Slurm logs). Ctrl+C or SIGTERM (Slurm's
time limit) stops within one step and keeps a checkpoint; run again with ``--resume``.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack

from tqdm import tqdm

from guv_app.cli.label_args import add_label_arguments
from guv_app.cli.progress import cli_progress
from guv_app.cli.startup import ENGINE_MODULES
from guv_app.services.params import add_arguments
from guv_app.services.training.config import TrainConfig
from guv_app.services.training.params import TRAIN_PARAMS

_D = TrainConfig()


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train", help="fine-tune a model (LoRA / unfrozen blocks) on labelled images",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("--train-dir", required=True, metavar="DIR", help="images with labels")
    val = p.add_mutually_exclusive_group()
    val.add_argument("--test-dir", metavar="DIR", help="separate validation folder")
    val.add_argument("--test-ratio", type=float, metavar="R",
                     help="fraction of training images held out for validation (default 0.2)")
    p.add_argument("--model-name", metavar="NAME",
                   help="name in the registry (required unless --dry-run)")
    p.add_argument("--base-model", default=_D.base_model, metavar="M|FILE",
                   help="built-in or registered model, model folder or weights file to start "
                        f"from (default {_D.base_model})")
    settings = p.add_argument_group(
        "training settings (the Ctrl+T dialog's Basic and Advanced tabs, same table)")
    add_arguments(settings, TRAIN_PARAMS)
    p.add_argument("--resume", action="store_true",
                   help="continue the interrupted run of --model-name from its checkpoint")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a saved model of that name, or start its interrupted run "
                        "over (without --resume/--overwrite an existing name is an error)")
    p.add_argument("--dry-run", action="store_true",
                   help="print what the folder offers (labelled images, objects per class, "
                   "skipped files and why) and exit without training")
    data = p.add_argument_group("data")
    add_label_arguments(data)
    data.add_argument("--channels", metavar="C[,C...]",
                      help="image channels feeding the network, in order (e.g. 1,0)")
    from guv_app.services.datasets.label_set_params import LABEL_SET_PARAMS

    add_arguments(data, LABEL_SET_PARAMS)  # --label-channel N --input-channels same|all
    data.add_argument("--min-objects", type=int, default=1,
                      help="skip images with fewer labelled objects")
    data.add_argument("--tile-size", type=int, default=512,
                      help="cut large images into tiles of about this size in px (0 = never)")
    data.add_argument("--regions", choices=("auto", "none"), default="auto",
                      help="auto: train only inside <stem>_regions.roi/.zip/.geojson areas and "
                      "objects of a class named 'region' when present; none: whole images")
    from guv_app.cli.cluster_options import add_cluster_options

    add_cluster_options(p, training=True)
    p.set_defaults(func=run, preload=ENGINE_MODULES)


def parse_int_list(text: str | None, what: str) -> list[int] | None:
    from guv_app.cli.main import CLIError

    if text is None or text == "":
        return None
    try:
        return [int(v) for v in text.split(",")]
    except ValueError as exc:
        raise CLIError(f"{what} must be comma-separated integers, got {text!r}") from exc


def _class_weights(text: str):
    from guv_app.cli.main import CLIError

    if text in ("auto", "none"):
        return text
    try:
        return [float(v) for v in text.split(",")]
    except ValueError as exc:
        raise CLIError(f"--class-weights must be auto, none or numbers, got {text!r}") from exc


class TrainProgress:
    """Training on stderr through :func:`guv_app.cli.progress.cli_progress` (tqdm): a bar
    while the data is prepared, then a bar over the training steps; every other event
    (start, epoch summary, checkpoint, done) as its own line above the bar."""

    def __init__(self) -> None:
        self._data = ExitStack()
        self._steps = ExitStack()
        self._data_bar = None
        self._step_bar = None

    def dataset(self, done: int, total: int, message: str) -> None:
        if self._data_bar is None:
            self._data_bar = self._data.enter_context(cli_progress("preparing data", "image"))
        self._data_bar(done, total, message)

    def __call__(self, event) -> None:
        if self._step_bar is None:
            self._data.close()
            self._step_bar = self._steps.enter_context(cli_progress("training", "step"))
        if event.kind == "step":
            loss = "" if event.train_loss is None else f"loss {event.train_loss:.4f}"
            self._step_bar(event.step, event.n_steps, loss)
        else:
            tqdm.write(f"{event.kind}: {event.line()}", file=sys.stderr)

    def close(self) -> None:
        self._data.close()
        self._steps.close()


def _config(args) -> TrainConfig:
    from guv_app.cli.main import CLIError

    try:
        values = {p.name: getattr(args, p.name) for p in TRAIN_PARAMS}
        values["class_weights"] = _class_weights(args.class_weights)
        return TrainConfig(base_model=args.base_model, model_name=args.model_name, **values)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc


def _options(args):
    from pathlib import Path

    from guv_app.cli.main import CLIError
    from guv_app.services.datasets.builder import DatasetOptions

    extra = {} if args.test_ratio is None else {"test_ratio": args.test_ratio}
    try:
        return DatasetOptions(
            img_filter=args.img_filter, mask_filter=args.mask_filter,
            mask_dir=Path(args.mask_dir) if args.mask_dir else None,
            subfolders=args.subfolders, channels=parse_int_list(args.channels, "--channels"),
            min_objects=args.min_objects, tile_size=args.tile_size,
            test_dir=Path(args.test_dir) if args.test_dir else None, seed=args.seed,
            region_source=args.regions, label_channel=args.label_channel,
            input_channels=args.input_channels, **extra,
        )
    except ValueError as exc:
        raise CLIError(str(exc)) from exc


def dry_run(args, options) -> int:
    """Print the dataset summary of the training (and validation) folder; train nothing."""
    from guv_app.cli.main import CLIError
    from guv_app.services.datasets.summary import summarize_folder, summary_lines

    folders = [args.train_dir] + ([options.test_dir] if options.test_dir is not None else [])
    for folder in folders:
        summary = summarize_folder(folder, options)
        if summary.error:
            raise CLIError(summary.error)
        print("\n".join(summary_lines(summary)))
    if options.test_dir is None:
        print(f"validation: random {options.test_ratio:g} of the labelled images "
              f"(seed {options.seed})")
    return 0


def _train_remote(args, config, options, reporter, cancel):
    """The same training on one Dask worker (``--workers``/``--scheduler``/``--cluster``);
    folders are passed as absolute paths, which the worker must be able to read."""
    from pathlib import Path

    from guv_app.cli.cluster_options import cluster_client
    from guv_app.services.distributed.training import train_on_cluster

    for name in ("test_dir", "mask_dir"):
        if getattr(options, name) is not None:
            setattr(options, name, Path(getattr(options, name)).resolve())
    with cluster_client(args) as client:
        return train_on_cluster(client, Path(args.train_dir).resolve(), config, options,
                                progress=reporter, dataset_progress=reporter.dataset,
                                cancel=cancel, resume=args.resume, gpus=args.gpus)


def run(args: argparse.Namespace) -> int:
    import signal
    import threading

    from guv_app.cli.main import CLIError
    from guv_app.services.engine.errors import EngineError
    from guv_app.services.training.runner import run_training

    options = _options(args)
    if args.dry_run:
        return dry_run(args, options)
    if not args.model_name:
        raise CLIError("--model-name is required (except with --dry-run)")
    config = _config(args)
    from guv_app.cli.cluster_options import cluster_config

    remote = cluster_config(args).distributed
    cancel = threading.Event()
    reporter = TrainProgress()

    def stop(signum, frame) -> None:
        sys.stderr.write("\nstopping after this step (checkpoint kept)...\n")
        cancel.set()

    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        if remote:
            outcome = _train_remote(args, config, options, reporter, cancel)
        else:
            outcome = run_training(args.train_dir, config, options, progress=reporter,
                                   dataset_progress=reporter.dataset, cancel=cancel,
                                   resume=args.resume, overwrite=args.overwrite)
    except (ValueError, FileNotFoundError, EngineError) as exc:
        raise CLIError(str(exc)) from exc
    finally:
        reporter.close()
        for sig, handler in old.items():
            signal.signal(sig, handler)
    for s in outcome.skipped:
        print(f"skipped {s.path}: {s.reason}", file=sys.stderr)
    if outcome.cancelled and outcome.result.steps_done == 0:
        print("training stopped before the first step; nothing was saved", file=sys.stderr)
        return 130
    if outcome.cancelled:
        print(f"training stopped at step {outcome.result.steps_done}; checkpoint "
              f"{outcome.result.checkpoint}; continue with --resume", file=sys.stderr)
        return 130
    print(f"model {outcome.model_name} saved to {outcome.model_dir}")
    print(f"trained on {outcome.n_train} region(s), validated on {outcome.n_val}; "
          f"{outcome.result.counts.summary()}")
    if outcome.metrics is not None:
        aps = ", ".join(f"AP@{t:g} {v:.3f}" for t, v in
                        zip(outcome.metrics.thresholds, outcome.metrics.mean_ap, strict=True))
        print(f"validation: {aps}")
    return 0
