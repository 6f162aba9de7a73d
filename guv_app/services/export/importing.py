"""The one way a model file enters the registry: Cellpose checkpoints and BioImage.IO packages.

* A Cellpose 4 checkpoint (upstream-trained, or exported by us) is a bare state dict; its
  backbone and class count are read from the tensor shapes, the weights are checked against
  that network's keys and shapes (no random leftovers), and a model folder with a plain
  ``weights.pt`` is written.
* A BioImage.IO package (``.zip``, or its ``rdf.yaml`` / ``bioimageio.yaml``) is read with
  ``bioimageio.spec``; it must be a Cellpose-SAM-family model: one exported by MultiCellPose
  (its ``meta.json`` travels as an attachment) or any package whose weights carry a
  Cellpose-SAM state dict.

Every imported model records where it came from (``meta.json["imported"]``: source path,
format, sha256 of the file, time) next to the lineage it brought along (``parent``,
``training``, ``dataset``).
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

from guv_app.services.engine.meta import ModelMeta
from guv_app.services.export.errors import ImportModelError
from guv_app.services.export.import_common import (  # noqa: F401 (names callers import here)
    ImportResult,
    _check_name,
    checked_state,
    default_name,
    provenance,
)

log = logging.getLogger(__name__)

BIOIMAGEIO_NAMES = ("rdf.yaml", "bioimageio.yaml")


def is_bioimageio(path: Path) -> bool:
    """True for a BioImage.IO package zip or its description file."""
    path = Path(path)
    if path.name.endswith(BIOIMAGEIO_NAMES) or path.suffix in (".yaml", ".yml"):
        return True
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
        # a torch checkpoint is a zip too: tell them apart by the description file
        return any(n.endswith(BIOIMAGEIO_NAMES) for n in names)
    return False


def import_model(path: str | Path, name: str | None = None, *, overwrite: bool = False
                 ) -> ImportResult:
    """Add the model in ``path`` (Cellpose checkpoint or BioImage.IO package) to the registry.

    ``name`` defaults to the file name (made unique). Raises :class:`ImportModelError` for
    files that are neither, ``ModelNameError`` for a taken or invalid name.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise ImportModelError(f"{path}: file not found")
    if is_bioimageio(path):
        from guv_app.services.export.bioimageio_import import import_bioimageio

        return import_bioimageio(path, name, overwrite=overwrite)
    return import_cellpose_file(path, name, overwrite=overwrite)


def import_cellpose_file(path: str | Path, name: str | None = None, *,
                         overwrite: bool = False) -> ImportResult:
    """Register a Cellpose 4 checkpoint (upstream-trained or ours) as a state-dict model."""
    from guv_app.services.engine import registry
    from guv_app.services.engine.errors import ModelLoadError
    from guv_app.services.engine.loading import read_state_dict

    path = Path(path)
    try:
        state = read_state_dict(path, mmap=False)
    except ModelLoadError as exc:
        reason = str(exc).removeprefix(f"{path}: ").splitlines()[0][:160]
        raise ImportModelError(f"{path}: not a Cellpose 4 checkpoint or BioImage.IO package "
                               f"({reason})") from exc
    backbone, n_classes = checked_state(state, str(path))
    name = _check_name(name, path, overwrite)
    extra: dict = {"imported": provenance(path, "cellpose")}
    if "diam_labels" in state:
        extra["diam_labels"] = float(state["diam_labels"].reshape(-1)[0])
    meta = ModelMeta(name=name, backbone=backbone, n_classes=n_classes,
                     description=f"imported Cellpose checkpoint {path.name}", extra=extra)
    folder = registry.save_model(name, meta, state, overwrite=overwrite)
    log.info("imported %s as %s", path, name)
    return ImportResult(name=name, folder=folder, meta=registry.read_meta(folder),
                        format="cellpose")
