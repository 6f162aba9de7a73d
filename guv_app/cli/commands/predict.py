"""``multicellpose predict``: segment images with a model and write ``<stem>_pred_seg.npy``.

The output has the ``_seg.npy`` layout (opens in the Cellpose GUI and in MultiCellPose) with
per-object classes and the model's class names/colours. Files go next to each image or into
``--out``. Every plane (series, t, z) of every file is segmented, or those chosen with
``--series``, ``--t`` and ``--z`` (``0``, ``0-99``, ``::10``, ``1,3,5``); a plane of a
multi-plane series is saved as ``<stem>[_s{S}]_t{T}_z{Z}_pred_seg.npy`` and every plane is
listed in ``predictions_index.csv`` beside the predictions (``measure`` reads it).
``--do-3d`` segments each Z stack in 3-D instead (one ``(Z, Y, X)`` file per stack, listed
with z = -1; the Cellpose GUI opens it; ``measure`` measures planes, not these). Progress
goes to stderr, a summary to stdout. Exit code 0 when every plane was segmented, 1 when
some failed (each named on stderr), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from guv_app.cli.startup import ENGINE_MODULES
from guv_app.services.engine.params import INFERENCE_PARAMS
from guv_app.services.params import add_arguments


def existing_file(text: str) -> str:
    """argparse type: a path that must be an existing file (a typo is an error at once)."""
    if not Path(text).expanduser().is_file():
        raise argparse.ArgumentTypeError(f"{text}: file not found")
    return text


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "predict", help="segment images with a model (writes <stem>_pred_seg.npy)",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("--model", required=True, metavar="NAME|PATH",
                   help="built-in (cpsam, tiny) or trained model name, model folder or weights")
    p.add_argument("--input", required=True, metavar="FILE|DIR", help="image file or folder")
    p.add_argument("--out", metavar="DIR", help="write results here (default: beside images)")
    p.add_argument("--channels", metavar="C[,C...]",
                   help="image channels fed to the network, in order (default: the model's)")
    inference = p.add_argument_group("inference settings (the Analyzer's form, same table)")
    add_arguments(inference, INFERENCE_PARAMS)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--weights", metavar="FILE", type=existing_file,
                   help="cpsam weights file to use (must exist; nothing is searched or "
                        "downloaded instead)")
    p.add_argument("--series", metavar="SEL", default="",
                   help="series to segment, e.g. 0, 0-3, 1,4 (default: all)")
    p.add_argument("--t", metavar="SEL", default="",
                   help="time points, e.g. 0, 0-99, ::10 (every 10th) (default: all)")
    p.add_argument("--z", metavar="SEL", default="", help="Z slices, e.g. 5, 0-9 (default: all)")
    p.add_argument("--do-3d", action="store_true",
                   help="segment each Z stack in 3-D (Cellpose's 3-D path, anisotropy from the "
                        "file's Z step and pixel size; one (Z, Y, X) file per stack) instead "
                        "of plane by plane")
    p.add_argument("--force", action="store_true",
                   help="predict again even where a prediction with the same model and "
                        "parameters (or one corrected by hand) exists")
    from guv_app.cli.cluster_options import add_cluster_options

    add_cluster_options(p)
    p.set_defaults(func=run, preload=ENGINE_MODULES)


def list_inputs(path: Path) -> list[Path]:
    """The image files to segment: the file itself, or the folder's image files (sorted)."""
    from cellpose_io import list_image_files
    from guv_app.cli.main import CLIError

    if not path.exists():
        raise CLIError(f"{path}: no such file or folder")
    if path.is_file():
        return [path]
    files = list_image_files(path)
    if not files:
        raise CLIError(f"{path}: no image files in this folder")
    return files


def parse_channels(text: str | None) -> list[int] | None:
    """``"1,0"`` -> ``[1, 0]``; a one-line CLIError for anything else."""
    from guv_app.cli.main import CLIError

    if not text:
        return None
    try:
        channels = [int(v) for v in text.split(",")]
    except ValueError as exc:
        raise CLIError(f"--channels must be comma-separated integers, got {text!r}") from exc
    if not 1 <= len(channels) <= 3 or min(channels) < 0:
        raise CLIError(f"--channels takes 1 to 3 channel numbers >= 0, got {text!r}")
    return channels


def run(args: argparse.Namespace) -> int:
    from guv_app.cli.main import CLIError

    channels = parse_channels(args.channels)
    files = list_inputs(Path(args.input))
    out_dir = Path(args.out) if args.out else None
    if out_dir is not None:
        if out_dir.exists() and not out_dir.is_dir():
            raise CLIError(f"{out_dir}: --out must be a folder")
        out_dir.mkdir(parents=True, exist_ok=True)

    from guv_app.services.analysis.batch import predict_images
    from guv_app.services.batch import PlaneSelection
    from guv_app.services.engine.inference import SegmentParams

    params = SegmentParams(channels=channels, device=args.device,
                           **{p.name: getattr(args, p.name) for p in INFERENCE_PARAMS})
    if not Path(args.model).exists():  # a name: fail on a typo before touching any image
        from guv_app.services.engine.errors import EngineError
        from guv_app.services.engine.registry import get_model_meta

        try:
            get_model_meta(args.model)
        except EngineError as exc:
            raise CLIError(str(exc)) from exc
    from guv_app.cli.progress import cli_progress
    from guv_app.services.batch import SelectionError

    try:
        selection = PlaneSelection.parse(args.series, args.t, args.z)
    except SelectionError as exc:
        raise CLIError(str(exc)) from None
    from guv_app.cli.cluster_options import cluster_config, cluster_executor, interrupt_flag

    where_run = cluster_config(args)
    if where_run.distributed:  # workers may run in another folder: give them full paths
        files = [f.absolute() for f in files]
        out_dir = out_dir.absolute() if out_dir is not None else None
    print(f"model {args.model}: {len(files)} file(s)", file=sys.stderr)

    tic = time.perf_counter()
    with cluster_executor(args, uses_gpu=True) as executor, interrupt_flag() as cancel, \
            cli_progress("predict", unit="plane") as progress:
        result = predict_images(files, args.model, params, selection=selection,
                                force=args.force, progress=progress, out_dir=out_dir,
                                weights_path=args.weights, do_3d=args.do_3d,
                                executor=executor, cancel=cancel,
                                write_on_worker=where_run.workers_write)
    elapsed = time.perf_counter() - tic
    failed = [s for s in result.planes if s.status == "failed"]
    if failed and len(failed) == len(result.planes) and all(
            s.reason.startswith("cannot load model") for s in failed):
        raise CLIError(failed[0].reason)
    for status in failed:
        print(f"multicellpose predict: error: {status.where}: {status.reason}", file=sys.stderr)
    n_objects = sum(s.n_objects for s in result.planes if s.status == "done")
    where = out_dir if out_dir is not None else "beside the images"
    print(f"segmented {result.count('done')} of {len(result.planes)} plane(s) of "
          f"{result.n_files} file(s), {n_objects} objects, {result.count('skipped')} skipped "
          f"(same model and parameters, or edited), {len(failed)} failed, {elapsed:.1f} s; "
          f"results {where}; index {', '.join(result.indexes) or '-'}")
    if result.cancelled:
        print("multicellpose predict: cancelled; finished planes are kept, run the same "
              "command again to resume", file=sys.stderr)
        return 130
    return 0 if not failed else 1
