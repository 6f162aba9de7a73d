"""``multicellpose evaluate --model M --dir DIR [--out CSV]``: AP of a model on labelled images.

Images are matched to labels as for training (``_seg.npy`` or ``<stem><mask-filter>``);
prints per-image and mean AP at IoU 0.5/0.75/0.9 and writes them as CSV with ``--out``.
With ``--predictions DIR`` (a ``predict --out`` folder) the predictions already written
there are scored, found through its ``predictions_index.csv``, instead of segmenting again.
"""

from __future__ import annotations

import argparse
import sys

from guv_app.cli.label_args import add_label_arguments
from guv_app.cli.startup import ENGINE_MODULES
from guv_app.services.engine.params import INFERENCE_PARAMS
from guv_app.services.params import add_arguments

EVAL_PARAMS = ("diameter", "flow_threshold", "cellprob_threshold", "niter", "min_size", "dtype")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("evaluate", help="average precision of a model on labelled images",
                              description=__doc__.splitlines()[0])
    p.add_argument("--model", metavar="M", help="model name or folder")
    p.add_argument("--predictions", metavar="DIR",
                   help="score the predictions of a 'predict --out DIR' run instead")
    p.add_argument("--dir", required=True, metavar="DIR", help="labelled images")
    p.add_argument("--out", metavar="CSV", help="write per-image and mean AP here")
    add_label_arguments(p.add_argument_group("labels"))
    p.add_argument("--channels", metavar="C[,C...]", help="default: the model's channels")
    add_arguments(p.add_argument_group("inference settings (as for predict)"),
                  [q for q in INFERENCE_PARAMS if q.name in EVAL_PARAMS])
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    from guv_app.cli.cluster_options import add_cluster_options

    add_cluster_options(p)
    p.set_defaults(func=run, preload=ENGINE_MODULES)


def run(args: argparse.Namespace) -> int:
    from cellpose_io.atomic import atomic_write_text
    from guv_app.cli.commands.train import parse_int_list
    from guv_app.cli.main import CLIError
    from guv_app.services.engine.errors import EngineError
    from guv_app.services.engine.inference import SegmentParams
    from guv_app.services.training.evaluate import evaluate_folder

    params = SegmentParams(channels=parse_int_list(args.channels, "--channels"),
                           device=args.device, **{k: getattr(args, k) for k in EVAL_PARAMS})

    from guv_app.cli.progress import cli_progress

    if not args.model and not args.predictions:
        raise CLIError("give --model to segment with, or --predictions DIR of a predict run")
    from guv_app.cli.cluster_options import cluster_config, cluster_executor, interrupt_flag

    if cluster_config(args).distributed:  # workers may run in another folder: full paths
        from pathlib import Path

        for name in ("dir", "mask_dir", "predictions"):
            if getattr(args, name):
                setattr(args, name, str(Path(getattr(args, name)).absolute()))
    try:
        with cluster_executor(args, uses_gpu=True) as executor, interrupt_flag() as cancel, \
                cli_progress("evaluate", unit="image") as progress:
            report = evaluate_folder(args.model, args.dir, img_filter=args.img_filter,
                                     mask_filter=args.mask_filter, mask_dir=args.mask_dir,
                                     subfolders=args.subfolders, params=params,
                                     progress=progress, predictions_dir=args.predictions,
                                     executor=executor, cancel=cancel)
    except (FileNotFoundError, ValueError, EngineError) as exc:
        raise CLIError(str(exc)) from exc
    for s in report.skipped:
        print(f"skipped {s.path}: {s.reason}", file=sys.stderr)
    if not report.metrics.per_image:
        raise CLIError(f"{args.dir}: no labelled images could be evaluated")
    text = report.csv_text()
    print(text, end="")
    if args.out:
        atomic_write_text(args.out, text)
        print(f"written {args.out}", file=sys.stderr)
    return 0
