"""Import a Cellpose(-SAM) or MultiCellPose weights file into the model registry.

The file is copied (the registry never depends on the original staying where it is) and its
path and sha256 are recorded as the model's lineage (:mod:`.lineage`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from guv_app.services.engine import registry
from guv_app.services.engine.errors import ModelLoadError, ModelNameError
from guv_app.services.engine.lineage import LINEAGE_KEY, cached_sha256
from guv_app.services.engine.meta import ModelMeta


@dataclass(frozen=True)
class ImportedModel:
    name: str
    folder: Path
    backbone: str
    n_classes: int


def import_weights(path: str | Path, name: str, *, description: str = "") -> ImportedModel:
    """Copy a Cellpose(-SAM) or MultiCellPose weights file into the registry as ``name``.

    The architecture is read from the tensors (``infer_architecture``); the file is copied
    (the registry never depends on the original staying where it is) and its path and
    sha256 are recorded as the model's lineage. Raises ``ModelLoadError`` for an unreadable
    or unknown file and ``ModelNameError`` for a bad or taken name.
    """
    from guv_app.services.engine.loading import read_state_dict
    from guv_app.services.engine.network import infer_architecture

    path = Path(path).expanduser().resolve()
    registry.validate_name(name)
    if not registry.is_name_free(name):
        raise ModelNameError(f"the name {name!r} is taken; choose another")
    state = read_state_dict(path, mmap=False)
    try:
        backbone, n_classes = infer_architecture(state)
    except ValueError as exc:
        raise ModelLoadError(f"{path}: {exc}") from exc
    meta = ModelMeta(name=name, backbone=backbone, n_classes=n_classes, kind="trained",
                     description=description or f"imported from {path.name}",
                     weights={"kind": "state_dict", "file": registry.WEIGHTS_FILE},
                     extra={LINEAGE_KEY: {"imported_from": {"path": str(path),
                                                             "sha256": cached_sha256(path)}}})
    folder = registry.save_model(name, meta, files={registry.WEIGHTS_FILE: path})
    return ImportedModel(name, folder, backbone, n_classes)
