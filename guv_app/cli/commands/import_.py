"""``multicellpose import``: add a Cellpose checkpoint or a BioImage.IO package to the registry.

A Cellpose 4 checkpoint (trained by upstream Cellpose or exported from here) becomes a model
whose backbone and classes are read from its weights; a BioImage.IO package of a
Cellpose-SAM-family model (``NAME.zip`` or its ``rdf.yaml``) brings its class names, colours,
channels and lineage. Where the file came from (path, sha256) is kept in meta.json.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "import", help="add a Cellpose checkpoint or BioImage.IO package to the registry",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("file", metavar="FILE", help="Cellpose checkpoint, NAME.zip or rdf.yaml")
    p.add_argument("--name", metavar="NAME", help="registry name (default: from the file name)")
    p.add_argument("--overwrite", action="store_true", help="replace a model of that name")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from guv_app.cli.main import CLIError
    from guv_app.services.engine.errors import EngineError
    from guv_app.services.export.importing import import_model

    try:
        res = import_model(args.file, args.name, overwrite=args.overwrite)
    except (EngineError, FileNotFoundError, ValueError) as exc:
        raise CLIError(str(exc)) from exc
    m = res.meta
    classes = ", ".join(m.class_names[1:]) if m.n_classes else "none"
    print(f"imported {args.file} as {res.name} ({res.format}; {m.backbone}, classes: {classes}; "
          f"parent: {m.parent or '-'})")
    print(f"folder: {res.folder}")
    return 0
