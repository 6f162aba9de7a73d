"""``multicellpose track``: link the objects of a measurement table into tracks over time."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Link the objects of a per-plane measurement table (from 'multicellpose measure' on a
time-lapse: one row per object per plane with image, series, t, z and centroid_y/centroid_x)
into tracks by optimal assignment (laptrack, Jaqaman et al. 2008). Each (image, series, z) is
one movie; frames are its t values.

Link cost (px², or µm² with --max-distance-um) = displacement² + (AREA_WEIGHT·ln area
ratio)² + (INTENSITY_WEIGHT·ln intensity ratio)² + (OVERLAP_WEIGHT·(1 − bounding-box IoU))²;
a link is allowed when its cost is at most MAX_DISTANCE² (so a weight is the px of movement
a change by a factor e is worth). Ending and starting a track cost MAX_DISTANCE² each, so an
object that can be linked is linked; globally cheapest links win (crossing paths keep their
identities).

Files written:
  --out tracks.csv   the input rows with track_id (1..; 0 = not tracked), track_status
                     (new / matched / gap-closed / divided / untracked), track_age (frames
                     since the track began), track_age_s (when the table has time_s),
                     parent_track_id (mother track after a division, else 0) and
                     lineage_id (the first track of its family tree)
  --wide wide.csv    one row per frame (t, time_s), one column track_<id> per track, of
                     the measurement --wide-column (default area); several columns give
                     wide_<column>.csv files
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "track", help="link objects between frames into tracks (track_id, status, age)",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--table", metavar="CSV", required=True, help="measurement table")
    parser.add_argument("--out", metavar="CSV", required=True, help="tracked table to write")
    parser.add_argument("--wide", metavar="CSV", help="wide time series: one column per track")
    parser.add_argument("--wide-column", metavar="NAMES", default="area",
                        help="comma-separated measurement column(s) for --wide (default area)")
    distance = parser.add_mutually_exclusive_group()
    distance.add_argument("--max-distance", metavar="PX", type=float,
                          help="largest displacement between frames in px (default 15)")
    distance.add_argument("--max-distance-um", metavar="UM", type=float,
                          help="the same in µm, from the centroid_*_um columns (a table "
                               "measured with a pixel size); --gap-max-distance is then µm too")
    parser.add_argument("--gap", metavar="N", type=int, default=0,
                        help="frames an object may be missing and keep its track (default 0)")
    parser.add_argument("--gap-max-distance", metavar="PX", type=float,
                        help="largest displacement across a gap in px (default --max-distance)")
    parser.add_argument("--area-weight", metavar="PX", type=float, default=0.0,
                        help="cost weight of area change (default 0: not used)")
    parser.add_argument("--intensity-weight", metavar="PX", type=float, default=0.0,
                        help="cost weight of intensity change (default 0: not used)")
    parser.add_argument("--intensity-column", metavar="NAME", default="ch0_mean",
                        help="intensity column for --intensity-weight (default ch0_mean)")
    parser.add_argument("--overlap-weight", metavar="PX", type=float, default=0.0,
                        help="cost weight of 1 - bounding-box IoU (default 0: not used; slower)")
    parser.add_argument("--same-class", action="store_true",
                        help="never link objects of different classes")
    parser.add_argument("--divisions", action="store_true",
                        help="let one object become two (daughter tracks with parent_track_id)")
    parser.add_argument("--frame-column", metavar="NAME", default="t",
                        help="column holding the frame number (default t)")
    parser.add_argument("--frames-from-images", action="store_true",
                        help="one image file per frame: frames are the images in natural name "
                             "order (frame_2 before frame_10); the file name goes to frame_image")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def wide_paths(wide: str, columns: list[str]):
    from pathlib import Path

    path = Path(wide)
    if len(columns) == 1:
        return {columns[0]: path}
    return {c: path.with_name(f"{path.stem}_{c}{path.suffix or '.csv'}") for c in columns}


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from guv_app.cli.main import CLIError
    from guv_app.cli.progress import cli_progress
    from guv_app.services.measurement.tables import read_csv, write_csv
    from guv_app.services.progress import no_progress
    from guv_app.services.tracking import (
        TrackingConfig,
        TrackingError,
        frames_from_image_order,
        track_table,
        wide_table,
    )

    source, out = Path(args.table), Path(args.out)
    if not source.is_file():
        raise CLIError(f"--table {source}: no such file")
    columns = [c.strip() for c in args.wide_column.split(",") if c.strip()]
    targets = [out] + (list(wide_paths(args.wide, columns).values()) if args.wide else [])
    for target in targets:
        if target.is_dir():
            raise CLIError(f"{target}: is a folder; give a CSV file name")
        if target.resolve() == source.resolve():
            raise CLIError(f"{target}: would overwrite the input table; choose another name")
    try:
        um = args.max_distance_um is not None
        config = TrackingConfig(
            max_distance=args.max_distance_um if um else (
                15.0 if args.max_distance is None else args.max_distance),
            units="um" if um else "px", max_gap=args.gap,
            gap_max_distance=args.gap_max_distance, area_weight=args.area_weight,
            intensity_weight=args.intensity_weight, intensity_column=args.intensity_column,
            overlap_weight=args.overlap_weight, same_class=args.same_class,
            divisions=args.divisions, frame_column=args.frame_column,
        )
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    try:
        table = read_csv(source)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CLIError(f"--table {source}: cannot read ({exc})") from None
    try:
        if args.frames_from_images:
            table = frames_from_image_order(table, args.frame_column)
        if args.quiet:
            result = track_table(table, config, no_progress)
        else:
            with cli_progress("tracking", unit="movie") as progress:
                result = track_table(table, config, progress)
        wides = {c: wide_table(result.table, c, args.frame_column) for c in columns} \
            if args.wide else {}
    except TrackingError as exc:
        raise CLIError(f"--table {source}: {exc}") from None
    write_csv(out, [result.table])
    written = [str(out)]
    if args.wide:
        for column, path in wide_paths(args.wide, columns).items():
            write_csv(path, [wides[column]])
            written.append(str(path))
    print(f"{result.summary()}; wrote {', '.join(written)}")
    return 0
