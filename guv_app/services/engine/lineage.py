"""Where a model comes from, checked: base weights identity, children, import of a file.

A fine-tuned model (LoRA in particular) is only meaningful on top of the very weights it was
trained from. ``meta.json`` therefore records, under ``lineage``, the base model's name, the
absolute path of its weights file (or model folder) and the file's sha256; loading a LoRA
model compares that with the parent found now (:func:`check_parent`). Deleting a model that
others were trained from is refused unless forced (:func:`delete_model`), and the model list
marks children whose parent is missing (:func:`parent_status`). Importing a weights file
into the registry is :func:`guv_app.services.export.importing.import_model` (one importer
for Cellpose checkpoints and BioImage.IO packages; it records ``meta.json["imported"]``).

No torch at import time; hashing a file reads it once per (path, size, mtime) per process.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from cellpose_io.label_sources import file_sha256
from guv_app.services.engine import registry
from guv_app.services.engine.errors import (
    ModelLoadError,
    ModelNameError,
    ModelNotFoundError,
)
from guv_app.services.engine.meta import ModelMeta

log = logging.getLogger(__name__)

LINEAGE_KEY = "lineage"
_HASHES: dict[tuple[str, int, int], str] = {}
_HASH_LOCK = threading.Lock()


class ModelInUseError(ModelNameError):
    """A model other models were trained from (message names them)."""


def cached_sha256(path: str | Path) -> str:
    """sha256 of a file, remembered while its size and modification time stay the same."""
    path = Path(path).resolve()
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _HASH_LOCK:
        if key in _HASHES:
            return _HASHES[key]
    digest = file_sha256(path)
    with _HASH_LOCK:
        _HASHES[key] = digest
    return digest


def _weights_file(meta: ModelMeta, folder: Path | None) -> Path | None:
    """The file that holds a model's own weights (None: built from code, e.g. ``tiny``)."""
    kind = (meta.weights or {}).get("kind", "state_dict")
    if kind == "cpsam":
        from guv_app.services.engine.weights import find_cpsam_weights

        return find_cpsam_weights()
    if kind == "file":
        return Path(meta.weights["path"])
    if folder is None:
        return None
    if kind == "state_dict":
        return folder / meta.weights.get("file", registry.WEIGHTS_FILE)
    from guv_app.services.engine.finetune import ADAPTER_FILE, is_finetune, merged_path

    if is_finetune(meta.weights):
        return merged_path(folder, meta.weights) or folder / meta.weights.get("file",
                                                                              ADAPTER_FILE)
    return None


def weights_identity(name_or_path: str | Path) -> dict[str, Any]:
    """``{"name", "path", "sha256"}`` of a built-in, a registry model or a weights file.

    ``path`` is absolute (the weights file, or None for a model built from code such as
    ``tiny``); ``sha256`` is of that file (None without one). Raises
    ``ModelNotFoundError`` when there is no such model or file.
    """
    name = str(name_or_path)
    folder: Path | None = None
    try:
        meta = registry.get_model_meta(name)
        if name not in registry.BUILTIN_NAMES:
            folder = registry.model_dir(name)
    except ModelNotFoundError:
        path = Path(name).expanduser()
        if not path.exists():
            raise
        path = path.resolve()
        if path.is_dir():
            meta, folder = registry.read_meta(path), path
        else:
            return {"name": name, "path": str(path), "sha256": cached_sha256(path)}
    file = _weights_file(meta, folder)
    if file is None or not Path(file).is_file():
        return {"name": meta.name, "path": None if file is None else str(file), "sha256": None}
    return {"name": meta.name, "path": str(Path(file).resolve()),
            "sha256": cached_sha256(file)}


def lineage_of(meta: ModelMeta) -> dict[str, Any]:
    return dict(meta.extra.get(LINEAGE_KEY) or {})


def check_parent(meta: ModelMeta) -> None:
    """Raise ``ModelLoadError`` when the parent a LoRA model needs is missing or is no longer
    the weights it was trained on (sha256 recorded in ``meta.json`` differs)."""
    if not meta.parent:
        return
    recorded = lineage_of(meta).get("base") or {}
    try:
        now = weights_identity(meta.parent)
    except ModelNotFoundError as exc:
        raise ModelLoadError(f"model {meta.name!r} needs its parent {meta.parent!r}, which is "
                             "missing (deleted or moved)") from exc
    want, have = recorded.get("sha256"), now.get("sha256")
    if want and have and want != have:
        raise ModelLoadError(
            f"model {meta.name!r} was trained on {meta.parent!r} with weights sha256 "
            f"{want[:12]}… ({recorded.get('path')}), but {meta.parent!r} is now "
            f"{have[:12]}… ({now.get('path')}): its adapter would be applied to other weights")


def children_of(name: str) -> list[str]:
    """Registry models whose parent is ``name`` (by name or by its folder path)."""
    targets = {name}
    if name not in registry.BUILTIN_NAMES:
        try:
            targets.add(str(registry.model_dir(name).resolve()))
        except ModelNameError:
            pass
    return [m.name for m in registry.list_models()
            if m.kind == "trained" and m.parent in targets and m.name != name]


def parent_status(meta: ModelMeta) -> str:
    """"" when usable as far as names go, else why not (e.g. "parent missing: cpsam-x")."""
    weights = meta.weights or {}
    if not meta.parent or weights.get("merged_file") or weights.get("kind") == "state_dict":
        return ""  # full (or merged) weights do not need the parent: it is lineage only
    if meta.parent in registry.BUILTIN_NAMES:
        return ""
    try:
        registry.get_model_meta(meta.parent)
        return ""
    except ModelNotFoundError:
        pass
    return "" if Path(meta.parent).expanduser().exists() else f"parent missing: {meta.parent}"


def delete_model(name: str, *, force: bool = False) -> list[str]:
    """Delete a trained model; refused (``ModelInUseError``) while other models were trained
    from it, unless ``force``. Returns the children left without their parent."""
    children = children_of(name)
    if children and not force:
        raise ModelInUseError(
            f"model {name!r} is the parent of {', '.join(children)}: deleting it makes them "
            "unusable (delete anyway with force / --force)")
    registry.delete_model(name)
    return children
