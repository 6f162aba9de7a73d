"""``multicellpose promote``: make predictions training labels (the Analyzer's Promote).

``predict`` writes ``<stem>_pred_seg.npy`` and never touches a label file; ``promote`` copies
each image's prediction to its ``<stem>_seg.npy``. Where an image already has training
labels (a ``_seg.npy`` or a Cellpose-style mask image) ``--labels`` decides: ``keep`` (the
default: the image is skipped), ``replace``, ``add`` (keep them frozen, add only predicted
objects that overlap none) or ``fill`` (keep them, add predicted objects cut to the
unlabelled pixels). Label files of before are renamed to ``.bak`` backups, never deleted.
Summary to stdout; exit code 0, or 1 when some image failed (each named on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

LABEL_CHOICES = ("keep", "replace", "add", "fill")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "promote", help="copy predictions (_pred_seg.npy) to training labels (_seg.npy)",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("--input", required=True, metavar="FILE|DIR", help="image file or folder")
    p.add_argument("--labels", choices=LABEL_CHOICES, default="keep",
                   help="images that already have training labels: keep them (skip the "
                        "image), replace them, add only non-overlapping predicted objects, "
                        "or fill only unlabelled pixels")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from guv_app.cli.commands.predict import list_inputs
    from guv_app.services.analysis.promote import promote, promote_conflicts, promote_summary

    images = list_inputs(Path(args.input))
    overwrite = [] if args.labels == "keep" else \
        [c.image for c in promote_conflicts(images)]
    mode = "replace" if args.labels == "keep" else args.labels
    result = promote(images, overwrite, mode)
    for image, message in result.failed.items():
        print(f"{Path(image).name}: {message}", file=sys.stderr)
    for image, summary in result.merged.items():
        print(f"{Path(image).name}: {summary}")
    print("promote: " + promote_summary(result, kept_hint="--labels to change"))
    return 1 if result.failed else 0
