"""The label-file options every command that reads labels shares (one definition): where
an image's labels are, following Cellpose's ``--img_filter`` / ``--mask_filter`` /
``--mask_dir``, resolved by :func:`cellpose_io.label_sources.choose_labels`."""

from __future__ import annotations

import argparse

from cellpose_io.label_sources import DEFAULT_MASK_FILTER


def add_label_arguments(parser: argparse._ActionsContainer) -> None:
    parser.add_argument("--img-filter", default="", metavar="S",
                        help="only images whose name (without extension) ends with S; S is "
                             "removed to find the mask (Cellpose --img_filter; default: none)")
    parser.add_argument("--mask-filter", default=DEFAULT_MASK_FILTER, metavar="S",
                        help="labels in a mask image <stem><S>.tif/.png beside the image or "
                             "in --mask-dir (Cellpose --mask_filter; a _seg.npy always "
                             f"counts too) (default: {DEFAULT_MASK_FILTER})")
    parser.add_argument("--mask-dir", metavar="DIR",
                        help="mask images are in this folder (default: beside the images)")
    parser.add_argument("--subfolders", action="store_true",
                        help="also look one folder level down")
