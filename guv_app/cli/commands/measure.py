"""``multicellpose measure``: per-object measurements of a folder of labelled images."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = """\
Measure every object of every image in DIR with measurement plugins and write CSV tables.

Labels (--labels): 'auto' uses an image's prediction <stem>_pred_seg.npy when present, else
its training labels (<stem>_seg.npy, or a Cellpose-style <stem>_masks.tif/.png); 'pred' and
'seg' use only that kind. Images without a label file are listed as skipped.

Files written for --out results.csv (one run, several plugins):
  results.csv          every object of every image: image, object_id, class_id, class_name,
                       then the columns of all plugins side by side (area in pixels, ...)
  results_<plugin>.csv the same rows with only that plugin's columns, one file per plugin
  results_summary.csv  one row per image: status, error, n_objects, count_<class> per class
                       and mean_<column> of every numeric measurement
Values are in pixels (no calibration). A failing image or plugin is reported and the rest go
on; the exit code is then 1 (0 when everything was measured, 2 for usage errors).
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
    parser.add_argument("--quiet", action="store_true", help="no per-image progress lines")
    parser.add_argument("--plugin-timeout", metavar="SECONDS", type=float, default=None,
                        help="abandon a plugin that takes longer than this on one image "
                             "(default 600, or MULTICELLPOSE_PLUGIN_TIMEOUT; 0 = no limit)")
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

    folder = Path(args.dir)
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

    def progress(done: int, total: int, message: str) -> None:
        if not args.quiet:
            print(f"[{done}/{total}] {message}", file=sys.stderr, flush=True)

    items = find_items(folder, args.labels)
    if not items:
        raise CLIError(f"{folder}: no image files")
    try:
        timeout = "default" if args.plugin_timeout is None else (args.plugin_timeout or None)
        result = measure_items(items, out, plugins, parse_params(args.param), progress=progress,
                               plugin_timeout=timeout)
    except PluginError as exc:
        raise CLIError(str(exc)) from None
    measured = sum(s.status == "done" for s in result.images)
    n_objects = sum(s.n_objects for s in result.images)
    print(f"measured {n_objects} objects in {measured}/{len(result.images)} images; "
          f"wrote {result.outputs['merged']}")
    for line in result.failures:
        print(f"  problem: {line}", file=sys.stderr)
    for line in result.warnings:
        print(f"  warning: {line}", file=sys.stderr)
    return 0 if result.ok else 1
