"""``multicellpose measure``: per-object measurements of a folder of labelled images."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = """\
Measure every object of every plane (series, t, z) of every image in DIR with measurement
plugins and write CSV tables.

Labels (--labels): 'auto' uses a plane's prediction when present, else its training labels
(<stem>_seg.npy, or a Cellpose-style <stem>_masks.tif/.png); 'pred' and 'seg' use only that kind. Predictions are found beside the images
(<stem>_pred_seg.npy, <stem>_t{T}_z{Z}_pred_seg.npy for a plane of a movie/stack) and through
the predictions_index.csv that 'predict' writes (in DIR, or in --predictions DIR when
'predict --out' put them elsewhere; DIR may also be that --out folder itself). Images without
a label file are listed as skipped; --series/--t/--z narrow the planes like in 'predict'.

Files written for --out results.csv (one run, several plugins):
  results.csv          every object of every image: image, object_id, class_id, class_name,
                       then the columns of all plugins side by side (area in pixels, ...)
  results_<plugin>.csv the same rows with only that plugin's columns, one file per plugin
  results_summary.csv  one row per image: status, error, n_objects, count_<class> per class
                       and mean_<column> of every numeric measurement
  results_per_link.csv only for label files with one set of objects per channel linked
                       across channels (Trainer: Links menu; MultiCellPose 0.9 files): one
                       row per linked object (link_id), each channel's object's columns
                       side by side as <column>_set<channel>, e.g. ch0_mean_set0 (membrane
                       intensity of the channel-0 object) vs ch1_mean_set1
Rows of such files are per channel set: label_channel (the channel whose set the object
belongs to; -1 the shared set) and link_id (0 = not linked) follow class_name.
Every row carries image, series, t, z, and time_s / z_um when the file records a frame
interval / Z step. Lengths, areas and positions are in pixels, and also in µm / µm² (columns
<name>_um, <name>_um2) when the file has a pixel size, or --pixel-size gives one. A failing
plane or plugin is reported and the rest go on; the exit code is then 1 (0 when everything
was measured, 2 for usage errors).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "measure", help="measure objects of labelled images into CSV tables",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dir", metavar="DIR", help="folder of images with label files")
    parser.add_argument("--labels", choices=("auto", "pred", "seg"), default="auto",
                        help="which label file to measure (default: auto)")
    parser.add_argument("--plugins", metavar="NAMES",
                        help="comma-separated plugin names (default: every working plugin; "
                             "see --list-plugins)")
    parser.add_argument("--param", metavar="PLUGIN.NAME=VALUE", action="append", default=[],
                        help="plugin parameter, e.g. intensity.ring_width=3 (repeatable)")
    parser.add_argument("--out", metavar="CSV", help="merged results CSV; the per-plugin and "
                        "summary files are written beside it (see above)")
    parser.add_argument("--list-plugins", action="store_true",
                        help="list plugins with their parameters (broken ones too) and exit")
    parser.add_argument("--predictions", metavar="DIR",
                        help="folder of a 'predict --out' run (found through its index)")
    parser.add_argument("--series", metavar="SEL", default="", help="series, e.g. 0, 1-3")
    parser.add_argument("--t", metavar="SEL", default="", help="time points, e.g. 0-99, ::10")
    parser.add_argument("--z", metavar="SEL", default="", help="Z slices, e.g. 5, 0-9")
    parser.add_argument("--pixel-size", metavar="UM[,UM]",
                        help="pixel size in µm (y,x or one value) for files that do not say")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--plugin-timeout", metavar="SECONDS", type=float, default=None,
                        help="abandon a plugin that takes longer than this on one image "
                             "(default 600, or MULTICELLPOSE_PLUGIN_TIMEOUT; 0 = no limit)")
    from guv_app.cli.cluster_options import add_cluster_options

    add_cluster_options(parser)
    parser.set_defaults(func=run)


def parse_params(items: list[str]) -> dict[str, dict[str, str]]:
    """``["intensity.ring_width=3"]`` -> ``{"intensity": {"ring_width": "3"}}``."""
    from guv_app.cli.main import CLIError

    params: dict[str, dict[str, str]] = {}
    for item in items:
        name, eq, value = item.partition("=")
        plugin, dot, key = name.partition(".")
        if not (eq and dot and plugin and key):
            raise CLIError(f"--param {item!r}: expected PLUGIN.NAME=VALUE")
        params.setdefault(plugin.strip(), {})[key.strip()] = value.strip()
    return params


def parse_pixel_size(text: str | None) -> tuple[float, float] | None:
    """``"0.5"`` -> (0.5, 0.5); ``"0.4,0.5"`` -> (y, x); a one-line CLIError otherwise."""
    from guv_app.cli.main import CLIError

    if not text:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or min(values) <= 0 or any(v != v for v in values):
        raise CLIError(f"--pixel-size takes one or two positive numbers (µm), got {text!r}")
    return (values[0], values[-1])


def list_plugins() -> int:
    from guv_app.plugins.discovery import discover_plugins

    for info in discover_plugins():
        if not info.ok:
            print(f"{info.name}  BROKEN ({info.value}): {info.error}")
            continue
        plugin = info.plugin
        print(f"{info.name}  {getattr(plugin, 'description', '')}")
        for spec in plugin.params_schema:
            extra = f" choices={list(spec.choices)}" if spec.choices else ""
            if spec.minimum is not None or spec.maximum is not None:
                extra += f" range=[{spec.minimum}, {spec.maximum}]"
            print(f"    {info.name}.{spec.name} ({spec.type}, default {spec.default!r}{extra})"
                  f"  {spec.help}")
    return 0


def run(args: argparse.Namespace) -> int:
    from guv_app.cli.main import CLIError

    if args.list_plugins:
        return list_plugins()
    if not args.dir or not args.out:
        raise CLIError("--dir and --out are required (or use --list-plugins)")
    from pathlib import Path

    from guv_app.plugins.base import PluginError
    from guv_app.plugins.discovery import available_plugins
    from guv_app.services.measurement.folder import measure_items
    from guv_app.services.measurement.labels import find_items

    folder = Path(args.dir).absolute()  # absolute: Dask workers may run elsewhere
    if not folder.is_dir():
        raise CLIError(f"{folder}: not a folder")
    out = Path(args.out)
    if out.is_dir():
        raise CLIError(f"--out {out}: is a folder; give a CSV file name such as results.csv")
    if args.plugins:
        plugins = [p.strip() for p in args.plugins.split(",") if p.strip()]
    else:
        plugins = available_plugins()
    if not plugins:
        raise CLIError("no measurement plugin to run")

    from guv_app.cli.progress import cli_progress
    from guv_app.services.batch import PlaneSelection, SelectionError

    try:
        selection = PlaneSelection.parse(args.series, args.t, args.z)
    except SelectionError as exc:
        raise CLIError(str(exc)) from None
    pixel_size = parse_pixel_size(args.pixel_size)
    predictions = Path(args.predictions).absolute() if args.predictions else None
    if predictions is not None and not predictions.is_dir():
        raise CLIError(f"--predictions {predictions}: not a folder")
    items = find_items(folder, args.labels, selection, predictions)
    if not items:
        raise CLIError(f"{folder}: no image files")
    from guv_app.cli.cluster_options import cluster_config, cluster_executor, interrupt_flag

    cluster_config(args)  # bad cluster options fail before any work
    try:
        timeout = "default" if args.plugin_timeout is None else (args.plugin_timeout or None)
        with cluster_executor(args) as executor, interrupt_flag() as cancel:
            if args.quiet:
                result = measure_items(items, out, plugins, parse_params(args.param),
                                       cancel=cancel, plugin_timeout=timeout,
                                       pixel_size=pixel_size, executor=executor)
            else:
                with cli_progress("measure", unit="plane") as progress:
                    result = measure_items(items, out, plugins, parse_params(args.param),
                                           progress=progress, cancel=cancel,
                                           plugin_timeout=timeout, pixel_size=pixel_size,
                                           executor=executor)
    except PluginError as exc:
        raise CLIError(str(exc)) from None
    measured = [s for s in result.images if s.status == "done"]
    n_objects = sum(s.n_objects for s in result.images)
    n_files = len({s.image for s in result.images})
    print(f"measured {n_objects} objects in {len(measured)}/{len(result.images)} plane(s) of "
          f"{n_files} file(s); wrote {result.outputs['merged']}")
    if "per_link" in result.outputs:
        print(f"linked objects across channels: wrote {result.outputs['per_link']}")
    for line in result.failures:
        print(f"  problem: {line}", file=sys.stderr)
    for line in result.warnings:
        print(f"  warning: {line}", file=sys.stderr)
    if result.cancelled:
        print("multicellpose measure: cancelled; the tables hold the planes measured so far",
              file=sys.stderr)
        return 130
    return 0 if result.ok else 1
