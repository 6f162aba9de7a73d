"""``multicellpose make-crops``: random crops of large / multi-frame images for annotation.

``--input DIR|FILE --size S --per-image K --out DIR [--seed N]`` writes K crops of S x S
pixels from random frames/planes of each image, as TIFF files named after source and
position; existing files are never overwritten.
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("make-crops", help="random crops of images for annotation",
                              description=__doc__.splitlines()[0])
    p.add_argument("--input", required=True, metavar="DIR|FILE")
    p.add_argument("--size", type=int, default=256, metavar="S", help="crop side in px (default 256)")
    p.add_argument("--per-image", type=int, default=4, metavar="K",
                   help="crops per image (default 4)")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--seed", type=int, default=0, metavar="N",
                   help="random seed: the same seed gives the same crops")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from guv_app.cli.main import CLIError
    from guv_app.cli.progress import cli_progress
    from guv_app.services.datasets.crops import make_crops

    try:
        with cli_progress("crops", "image") as progress:
            report = make_crops(args.input, args.size, args.per_image, args.out,
                                seed=args.seed, progress=progress)
    except (FileNotFoundError, ValueError) as exc:
        raise CLIError(str(exc)) from exc
    for path, reason in report.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(f"{len(report.written)} crop(s) written to {args.out}")
    return 0 if report.written else 1
