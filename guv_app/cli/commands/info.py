"""``multicellpose info FILE [FILE ...] [--series N]``: what the image reader sees in a file.

Prints format, series, axes, shape, dtype, channel names and pixel size, so a user can check
how a file will be read before labelling or predicting on it. ``--json`` prints the same as
one JSON object per file (one per line) for scripts. With several files, each unreadable one
gives one error line on stderr, the others are still described, and the exit code is 2.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info", help="show how an image file is read (axes, shape, channels, pixel size)",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="image file(s) (tif, ome.tif, nd2, lif, czi, nrrd, dax, png, ...)")
    parser.add_argument("--series", type=int, default=0, metavar="N",
                        help="series / scene / position / tile to describe (default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def _format_pixel_size(pixel_size: list[float] | None) -> str:
    if not pixel_size:
        return "unknown"
    y, x = pixel_size
    return f"{y:.6g} x {x:.6g} um (y x)"


def format_info(info: dict) -> str:
    """The human-readable report for ``Image.describe()``."""
    n_series = info["n_series"]
    lines = [
        f"file:        {info['path']}",
        f"format:      {info['format']}",
        f"series:      {info['series']} of {n_series} ({info['series_names'][info['series']]})",
        f"axes:        {info['axes']}",
        f"shape:       {' x '.join(str(n) for n in info['shape'])}",
        f"dtype:       {info['dtype']}",
        f"channels:    {', '.join(info['channel_names']) or '(no names)'}",
        f"pixel size:  {_format_pixel_size(info['pixel_size'])}",
    ]
    if n_series > 1:
        lines.append("all series:")
        lines += [f"  {i}: {name}" for i, name in enumerate(info["series_names"])]
    lines += [f"warning:     {w}" for w in info["warnings"]]
    return "\n".join(lines)


def describe(path: str, series: int) -> dict:
    """``Image.describe()`` of one file; ImageReadError for an unreadable one."""
    from cellpose_io import read_image

    with read_image(path, series=series) as image:
        return image.describe()


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from cellpose_io import ImageReadError
    from guv_app.cli.main import CLIError

    if len(args.files) == 1:
        try:
            info = describe(args.files[0], args.series)
        except ImageReadError as exc:
            raise CLIError(str(exc)) from exc
        print(json.dumps(info) if args.json else format_info(info))
        return 0
    failed = 0
    for i, path in enumerate(args.files):
        try:
            info = describe(path, args.series)
        except ImageReadError as exc:
            print(f"multicellpose info: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        if args.json:
            print(json.dumps(info))
        else:
            print(("\n" if i else "") + format_info(info))
    return 2 if failed else 0
