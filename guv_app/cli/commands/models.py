"""``multicellpose models``: list the model registry (built-in models, then trained ones).

Reads only ``meta.json`` files, so it is fast and imports no torch. ``--json`` prints one
JSON object per model (one per line) for scripts.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models", help="list built-in and trained models",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per model")
    parser.set_defaults(func=run)


def format_table(models: list) -> str:
    """A fixed-width table: name, kind, backbone, classes, parent."""
    rows = [("NAME", "KIND", "BACKBONE", "CLASSES", "PARENT")]
    for m in models:
        classes = ", ".join(m.class_names[1:]) if m.n_classes else "-"
        rows.append((m.name, m.kind, m.backbone, classes, m.parent or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)] + [row[-1]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import json

    from guv_app import paths
    from guv_app.services.engine.registry import list_models

    models = list_models()
    if args.json:
        for m in models:
            print(json.dumps(m.to_dict(), default=str))
        return 0
    print(format_table(models))
    print(f"\nregistry: {paths.models_dir()}")
    return 0
