"""Import a BioImage.IO package of a Cellpose-SAM-family model into the registry.

The package is read and validated with ``bioimageio.spec``. Weights: the TorchScript
module's parameters (our exports wrap the network as ``net.*``) or a ``pytorch_state_dict``;
either must be a Cellpose-SAM state dict whose keys and shapes fit one of our backbones
(checked on a weightless network). Description: MultiCellPose's own ``meta.json`` attachment
when the package came from here (class names, colours, channels, parent, training data,
metrics travel unchanged); otherwise the package's name, description and output channels.
"""

from __future__ import annotations

import io
import json
import logging
import warnings
from pathlib import Path

from guv_app.services.engine.meta import ModelMeta
from guv_app.services.export.errors import ImportModelError
from guv_app.services.export.import_common import (
    ImportResult,
    _check_name,
    checked_state,
    provenance,
)

log = logging.getLogger(__name__)

_PREFIXES = ("", "net.", "model.", "module.", "net.net.")


def _read(file_descr) -> bytes:
    return file_descr.get_reader().read()


def _state_from(descr, source: str) -> dict:
    """A state dict from the package's TorchScript or pytorch_state_dict weights."""
    import torch

    weights = descr.weights
    candidates = []
    if weights.torchscript is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit is "deprecated"
            module = torch.jit.load(io.BytesIO(_read(weights.torchscript)), map_location="cpu")
        candidates.append(dict(module.state_dict()))
    if weights.pytorch_state_dict is not None:
        state = torch.load(io.BytesIO(_read(weights.pytorch_state_dict)), map_location="cpu",
                           weights_only=True)
        if isinstance(state, dict):
            candidates.append(state)
    if not candidates:
        raise ImportModelError(f"{source}: no TorchScript or PyTorch state-dict weights (the "
                               "formats a Cellpose-SAM model can be rebuilt from)")
    for state in candidates:
        for prefix in _PREFIXES:
            trimmed = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            if "W2" in trimmed and "encoder.patch_embed.proj.weight" in trimmed:
                return {k: v.detach().clone() for k, v in trimmed.items()}
    raise ImportModelError(f"{source}: the weights are not a Cellpose-SAM (Cellpose 4) network "
                           "(no encoder patch embedding / W2 readout)")


def _our_meta(descr) -> dict | None:
    from guv_app.services.export.bioimageio import META_ATTACHMENT

    for att in descr.attachments:
        if str(att.source).endswith(META_ATTACHMENT):
            return json.loads(_read(att).decode("utf-8"))
    return None


def _class_names_from_outputs(descr) -> list[str] | None:
    for out in descr.outputs:
        if str(out.id) == "class_logits" and out.description and ":" in out.description:
            return [n.strip() for n in out.description.split(":", 1)[1].split(",")]
    return None


def import_bioimageio(path: str | Path, name: str | None = None, *,
                      overwrite: bool = False) -> ImportResult:
    """Register the Cellpose-SAM-family model in the BioImage.IO package ``path``."""
    from bioimageio.spec import InvalidDescr, load_description

    from guv_app.services.engine import registry
    from guv_app.services.export.bioimageio_compat import ensure_bioimageio_compat

    ensure_bioimageio_compat()
    path = Path(path)
    descr = load_description(path)
    if isinstance(descr, InvalidDescr):
        from guv_app.services.export.bioimageio import _first_error

        raise ImportModelError(f"{path}: not a valid BioImage.IO description "
                               f"({_first_error(descr.validation_summary)})")
    if descr.type != "model":
        raise ImportModelError(f"{path}: a BioImage.IO {descr.type}, not a model")
    state = _state_from(descr, str(path))
    backbone, n_classes = checked_state(state, str(path))
    ours = _our_meta(descr)
    name = _check_name(name, Path(_safe(str(descr.name))) if name is None else path, overwrite)
    bio_info = {"name": str(descr.name), "version": str(descr.version or ""),
                "license": str(descr.license or ""),
                "authors": [a.name for a in descr.authors],
                "id": str(descr.id) if getattr(descr, "id", None) else None}
    if ours is not None:
        exported_as = ours.get("name")
        ours = {k: v for k, v in ours.items() if k not in ("weights", "kind", "created")}
        ours["name"] = name
        meta = ModelMeta.from_dict(ours)
        meta.extra["exported_as"] = exported_as
    else:
        names = _class_names_from_outputs(descr)
        meta = ModelMeta(name=name, backbone=backbone, n_classes=n_classes,
                         class_names=names if names and len(names) == n_classes + 1 else [],
                         description=str(descr.description)[:500])
    if meta.backbone != backbone or meta.n_classes != n_classes:
        raise ImportModelError(f"{path}: its description says {meta.backbone} with "
                               f"{meta.n_classes} classes but the weights are {backbone} with "
                               f"{n_classes}")
    meta.extra["imported"] = provenance(path, "bioimageio")
    meta.extra["bioimageio"] = bio_info
    folder = registry.save_model(name, meta, state, overwrite=overwrite)
    log.info("imported %s as %s", path, name)
    return ImportResult(name=name, folder=folder, meta=registry.read_meta(folder),
                        format="bioimageio")


def _safe(text: str) -> str:
    return text.replace("/", "-").replace(" ", "-")
