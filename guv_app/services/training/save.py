"""Save a fine-tune into the model registry: adapter + trained tensors, meta.json, losses.csv.

Weights go in ``adapter.pt`` (LoRA ``lora_A``/``lora_B`` tensors plus every other tensor that
training changed: readouts, unfrozen blocks), read back by
``guv_app.services.engine.finetune.apply_finetune``; merged full weights (``weights.pt``) only
when asked. ``meta["weights"]["kind"]`` is the training mode (``lora``, ``unfreeze`` or
``head``; see :mod:`guv_app.services.engine.finetune` for the format). The folder is written by the engine's ``registry.save_model`` (assembled under a
temporary name, then renamed).
"""

from __future__ import annotations

import csv
import io
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from guv_app.services.engine.finetune import ADAPTER_FILE, FINETUNE_KINDS, MERGED_FILE
from guv_app.services.engine.lora import lora_state_dict, merge_lora
from guv_app.services.training.trainer import TrainResult

LOSSES_FILE = "losses.csv"
LOSS_COLUMNS = ("epoch", "step", "train_loss", "flow_loss", "cellprob_loss", "class_loss",
                "val_loss", "accuracy", "precision", "recall", "f1", "iou", "class_accuracy",
                "lr", "elapsed_s")


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("multicellpose", "cellpose", "torch", "peft", "numpy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def losses_csv(rows: Sequence[dict]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(LOSS_COLUMNS), extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in LOSS_COLUMNS})
    return buf.getvalue().encode()


def adapter_payload(net) -> dict:
    """{"lora": adapter tensors, "trained": other trained tensors} with plain key names."""
    lora = lora_state_dict(net)
    trained = {n: p.detach().cpu().clone() for n, p in net.named_parameters()
               if p.requires_grad and "lora_" not in n}
    renamed = {n.replace(".base_layer.", "."): v for n, v in trained.items()}
    return {"lora": lora, "trained": renamed}


def merge_in_place(net):
    """Fold LoRA into plain weights (in place; the network is not deep-copyable)."""
    if any("lora_" in k for k in net.state_dict()):
        merge_lora(net)
    return net.eval()


def _torch_bytes(obj: Any) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def save_trained_model(name: str, result: TrainResult, payload: dict, meta, *,
                       merged_net=None, overwrite: bool = False,
                       kind: str | None = None) -> Path:
    """Write the registry folder ``name`` and return it.

    ``payload`` is :func:`adapter_payload` of the trained network taken BEFORE merging;
    ``meta`` is a ``ModelMeta``; ``merged_net`` (optional) adds full merged weights.
    ``kind`` is the training mode (``lora``/``unfreeze``/``head``); by default it is read
    from ``result`` (LoRA spec -> lora, trained blocks -> unfreeze, else head).
    """
    from guv_app.services.engine import registry

    files: dict[str, bytes] = {ADAPTER_FILE: _torch_bytes(payload),
                               LOSSES_FILE: losses_csv(result.rows)}
    if kind is None:
        kind = "lora" if result.lora else "unfreeze" if result.blocks else "head"
    if kind not in FINETUNE_KINDS:
        raise ValueError(f"unknown fine-tune kind {kind!r} (expected {', '.join(FINETUNE_KINDS)})")
    meta.weights = {"kind": kind, "file": ADAPTER_FILE,
                    "lora": result.lora.to_dict() if result.lora else None}
    if merged_net is not None:
        files[MERGED_FILE] = _torch_bytes(
            {k: v.detach().cpu() for k, v in merged_net.state_dict().items()})
        meta.weights["merged_file"] = MERGED_FILE
    return registry.save_model(name, meta, files=files, overwrite=overwrite)
