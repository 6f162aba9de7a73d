"""``multicellpose export``: write a model as a Cellpose checkpoint or a BioImage.IO package.

``--format cellpose`` writes the state dict upstream ``cellpose.models.CellposeModel(
pretrained_model=FILE)`` loads (Cellpose GUI, CLI, napari plugin, BioEngine); upstream builds
only the vit_l Cellpose-SAM network and has no class head, so the class head is dropped
(reported) and other backbones are refused. ``--format bioimageio`` writes a BioImage.IO model
package (spec v0.5, TorchScript weights) checked with ``bioimageio.spec`` and tested with
``bioimageio.core`` before it is kept.
"""

from __future__ import annotations

import argparse

from guv_app.cli.startup import ENGINE_MODULES


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export", help="write a model as a Cellpose checkpoint or a BioImage.IO package",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("model", metavar="MODEL", help="registry name, model folder or weights file")
    p.add_argument("--format", choices=("cellpose", "bioimageio"), required=True)
    p.add_argument("--out", required=True, metavar="FILE",
                   help="checkpoint file (cellpose) or NAME.zip (bioimageio)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    bio = p.add_argument_group("bioimageio")
    bio.add_argument("--author", action="append", metavar="NAME",
                     help="author name (repeat for several; default: the system user name)")
    bio.add_argument("--license", default=None, metavar="SPDX",
                     help="SPDX licence id of the package (default CC-BY-4.0)")
    bio.add_argument("--version", dest="model_version", default="0.1.0", metavar="X.Y.Z",
                     help="model version (default 0.1.0)")
    bio.add_argument("--images", metavar="DIR",
                     help="labelled folder for the test tensors and the cover when the model's "
                     "own validation images are gone (default: the model's validation data)")
    bio.add_argument("--no-test", action="store_true",
                     help="skip bioimageio.core's model test (the spec is still validated)")
    p.set_defaults(func=run, preload=ENGINE_MODULES)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from guv_app.cli.main import CLIError
    from guv_app.services.engine.errors import EngineError

    try:
        if args.format == "cellpose":
            from guv_app.services.export.cellpose_file import export_cellpose

            res = export_cellpose(args.model, args.out, overwrite=args.overwrite)
            print(f"wrote {res.path} (Cellpose 4 checkpoint, {res.backbone}, sha256 "
                  f"{res.sha256[:12]})")
            if res.dropped_classes:
                print(f"class head not exported (upstream Cellpose has none): "
                      f"{', '.join(res.dropped_classes)}")
            return 0
        from guv_app.services.export.bioimageio import PackageInfo, export_bioimageio

        info = PackageInfo(authors=args.author or [], license=args.license,
                           version=args.model_version)
        res = export_bioimageio(args.model, args.out, info=info, overwrite=args.overwrite,
                                images=Path(args.images) if args.images else None,
                                run_test=not args.no_test)
    except (EngineError, FileNotFoundError, ValueError) as exc:
        raise CLIError(str(exc)) from exc
    print(f"wrote {res.path} (BioImage.IO model, spec {res.format_version}, weights: "
          f"{', '.join(res.weights_formats)})")
    print(f"validation: {res.validation}; model test: {res.test}")
    return 0
