"""Export a model as a Cellpose 4 checkpoint: the file upstream ``CellposeModel`` loads.

Upstream Cellpose 4.2 (``cellpose.models.get_backbone``) builds ``CPSAM`` -- SAM's vit_l
encoder with 8 px patches -- for every checkpoint without a DINO ``cls_token``, and loads the
file with ``load_state_dict(strict=False)`` after checking for a ``W2`` key. So a file it can
run is the flows readout of a vit_l network: exactly our state dict minus the class head
(``class_out.*``, ``class_W2``), which upstream has no use for (its masks come from the last
three output channels only). The Cellpose GUI, CLI, napari plugin and BioEngine all open
checkpoints through ``CellposeModel(pretrained_model=FILE)``.

``tiny`` and ``vit_b`` encoders have other widths; upstream would fail with a shape mismatch,
so they are refused here with a pointer to the BioImage.IO export, which carries its own
architecture.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from guv_app.services.export.errors import ExportError

log = logging.getLogger(__name__)

UPSTREAM_BACKBONES = ("vit_l",)  # what CellposeModel(pretrained_model=FILE) builds
CLASS_HEAD_PREFIXES = ("class_out.", "class_W2")


@dataclass
class CellposeExport:
    """Where the checkpoint went and what was left out of it."""

    path: Path
    model_name: str
    backbone: str
    dropped_keys: list[str] = field(default_factory=list)  # the class head, if any
    dropped_classes: list[str] = field(default_factory=list)  # user class names not exported
    sha256: str = ""


def cellpose_state_dict(net) -> tuple[dict, list[str]]:
    """Float32 CPU state dict of ``net`` without the class head; returns (state, dropped keys).

    Raises :class:`ExportError` when the network still carries unmerged LoRA layers (their
    keys would load into upstream as nothing, leaving random weights without an error).
    """
    import torch

    state = net.state_dict()
    leftover = [k for k in state if "lora_" in k or ".base_layer." in k]
    if leftover:
        raise ExportError(f"network holds unmerged LoRA layers ({leftover[0]}): merge first")
    dropped = [k for k in state if k.startswith(CLASS_HEAD_PREFIXES)]
    out = {k: v.detach().to("cpu", torch.float32).contiguous()
           for k, v in state.items() if k not in dropped}
    return out, dropped


def export_cellpose(model: str | Path, out: str | Path, *, overwrite: bool = False) -> CellposeExport:
    """Write ``model`` (registry name, folder or weights file) as a Cellpose 4 checkpoint.

    ``out`` is written atomically; an existing file is only replaced with ``overwrite``.
    Raises :class:`ExportError` for backbones upstream cannot build or an existing ``out``,
    and the engine's ``ModelNotFoundError`` / ``ModelLoadError`` for unknown/broken models.
    """
    import torch

    from cellpose_io.atomic import atomic_write
    from guv_app.services.datasets.labels import file_sha256
    from guv_app.services.engine.loading import load_model

    out = Path(out)
    if out.exists() and not overwrite:
        raise ExportError(f"{out}: already exists (choose another name or allow overwriting)")
    loaded = load_model(model, device="cpu")
    meta = loaded.meta
    if meta.backbone not in UPSTREAM_BACKBONES:
        raise ExportError(
            f"model {meta.name!r} uses the {meta.backbone} backbone; upstream Cellpose 4 builds "
            f"only Cellpose-SAM ({', '.join(UPSTREAM_BACKBONES)}) from a checkpoint. Export it "
            "with --format bioimageio, which carries its architecture."
        )
    state, dropped = cellpose_state_dict(loaded.net)
    atomic_write(out, lambda fh: torch.save(state, fh))
    digest = file_sha256(out)
    if dropped:
        log.info("%s: class head (%d classes) not exported: upstream Cellpose has no use for it",
                 out, meta.n_classes)
    return CellposeExport(path=out, model_name=meta.name, backbone=meta.backbone,
                          dropped_keys=dropped, dropped_classes=list(meta.class_names[1:])
                          if dropped else [], sha256=digest)
