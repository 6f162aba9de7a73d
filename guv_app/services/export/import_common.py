"""What every model import shares: the result record, the registry name it gets, the check
that a state dict fits its network, and the provenance it records.

Kept apart from :mod:`.importing` (which dispatches on the file kind and imports
:mod:`.bioimageio_import` lazily) so that both import modules use it without importing
each other.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from guv_app.services.engine.meta import ModelMeta
from guv_app.services.export.errors import ImportModelError


@dataclass
class ImportResult:
    """The registry entry an import created."""

    name: str
    folder: Path
    meta: ModelMeta
    format: str  # "cellpose" | "bioimageio"


def default_name(path: Path) -> str:
    """A free registry name derived from the file name (``-2``, ``-3``... when taken)."""
    from guv_app.services.engine import registry

    stem = Path(path).name
    for suffix in (".zip", ".pt", ".pth", ".yaml"):
        stem = stem.removesuffix(suffix)
    base = re.sub(r"[^A-Za-z0-9._+-]+", "-", stem).strip("-._+")[:90] or "imported"
    if not base[0].isalnum():
        base = f"m{base}"
    name, k = base, 1
    while not registry.is_name_free(name):
        k += 1
        name = f"{base}-{k}"
    return name


def _check_name(name: str | None, path: Path, overwrite: bool) -> str:
    from guv_app.services.engine import registry
    from guv_app.services.engine.errors import ModelNameError

    if name is None:
        return default_name(path)
    registry.validate_name(name)
    if name in registry.BUILTIN_NAMES:
        raise ModelNameError(f"{name!r} is a built-in model name; choose another")
    if not overwrite and not registry.is_name_free(name):
        raise ModelNameError(f"a model named {name!r} already exists; choose another name")
    return name


def checked_state(state: dict, source: str) -> tuple[str, int]:
    """(backbone, n_classes) of a Cellpose-SAM state dict whose keys and shapes all fit.

    The check builds a weightless network (``torch.device("meta")``), so even vit_l costs
    no memory. Raises :class:`ImportModelError` naming ``source``.
    """
    import torch

    from guv_app.services.engine.errors import ModelLoadError
    from guv_app.services.engine.loading import load_state_into
    from guv_app.services.engine.network import build_network, infer_architecture

    try:
        backbone, n_classes = infer_architecture(state)
    except ValueError as exc:
        raise ImportModelError(f"{source}: {exc}") from exc
    with torch.device("meta"):
        skeleton = build_network(backbone, n_classes, seed=0)
    try:
        with warnings.catch_warnings():  # copying into a meta tensor is a no-op: that is the point
            warnings.filterwarnings("ignore", message=".*meta parameter.*")
            load_state_into(skeleton, state, source=source)
    except ModelLoadError as exc:
        raise ImportModelError(str(exc)) from exc
    return backbone, n_classes


def provenance(path: Path, fmt: str) -> dict:
    from guv_app.services.datasets.labels import file_sha256

    return {"format": fmt, "source": str(Path(path).resolve()), "sha256": file_sha256(path),
            "imported": datetime.now(timezone.utc).isoformat(timespec="seconds")}
