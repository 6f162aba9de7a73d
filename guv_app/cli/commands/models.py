"""``multicellpose models``: list the model registry (built-in models, then trained ones).

Reads only ``meta.json`` files, so listing is fast and imports no torch. ``--json`` prints
one JSON object per model (one per line) for scripts. A trained model whose parent (the
weights it was fine-tuned from) is missing is marked, not listed as usable.
``--import FILE --name NAME`` copies a Cellpose(-SAM) weights file into the registry;
``--delete NAME`` removes a model, refusing while other models were trained from it
(``--force`` deletes anyway).
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models", help="list, import or delete models",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per model")
    parser.add_argument("--import", dest="import_file", metavar="FILE",
                        help="a Cellpose/Cellpose-SAM weights file to add to the registry")
    parser.add_argument("--name", metavar="NAME", help="registry name for --import")
    parser.add_argument("--delete", metavar="NAME", help="delete a trained model")
    parser.add_argument("--force", action="store_true",
                        help="with --delete: delete even when other models were trained from it")
    parser.set_defaults(func=run)


def format_table(models: list, status: dict[str, str] | None = None) -> str:
    """A fixed-width table: name, kind, backbone, classes, parent (and why it is unusable)."""
    status = status or {}
    rows = [("NAME", "KIND", "BACKBONE", "CLASSES", "PARENT")]
    for m in models:
        classes = ", ".join(m.class_names[1:]) if m.n_classes else "-"
        parent = m.parent or "-"
        if status.get(m.name):
            parent += f"  [UNUSABLE: {status[m.name]}]"
        rows.append((m.name, m.kind, m.backbone, classes, parent))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)] + [row[-1]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import json

    from guv_app import paths
    from guv_app.cli.main import CLIError
    from guv_app.services.engine.errors import EngineError
    from guv_app.services.engine.lineage import delete_model, parent_status
    from guv_app.services.engine.registry import list_models

    if args.import_file:
        if not args.name:
            raise CLIError("--import needs --name NAME (the name in the model list)")
        # the one importer (also `multicellpose import`): keys and shapes checked, lineage kept
        from guv_app.services.export.importing import ImportModelError, import_model

        try:
            imported = import_model(args.import_file, args.name)
        except (ImportModelError, EngineError, OSError) as exc:
            raise CLIError(str(exc)) from exc
        meta = imported.meta
        print(f"imported {args.import_file} as {imported.name} ({meta.backbone}, "
              f"{meta.n_classes} class(es)) in {imported.folder}")
        return 0
    if args.delete:
        try:
            orphans = delete_model(args.delete, force=args.force)
        except EngineError as exc:
            raise CLIError(str(exc)) from exc
        print(f"deleted {args.delete}" + (f"; now without parent: {', '.join(orphans)}"
                                          if orphans else ""))
        return 0
    models = list_models()
    status = {m.name: parent_status(m) for m in models}
    if args.json:
        for m in models:
            print(json.dumps({**m.to_dict(), "usable": not status[m.name],
                              "problem": status[m.name]}, default=str))
        return 0
    print(format_table(models, status))
    print(f"\nregistry: {paths.models_dir()}")
    return 0
