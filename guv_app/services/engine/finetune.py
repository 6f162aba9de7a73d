"""What a fine-tune's folder holds and how it goes onto its parent's network.

``meta["weights"]`` of a fine-tune saved by the training service::

    {
      "kind": "lora" | "unfreeze" | "head",   # what training changed (the training mode)
      "file": "adapter.pt",       # torch.save({"lora": {...}, "trained": {...}})
      "lora": {"rank": 8, "alpha": 16, "dropout": 0.05, "blocks": [20, 21, 22, 23],
               "targets": ["attn.qkv", "attn.proj", "mlp.lin1", "mlp.lin2"]} | null,
      "merged_file": "weights.pt" # optional: full merged state dict (written when asked)
    }

Files written before the kinds were told apart say ``"lora"`` for every mode (with
``"lora": null`` for unfreeze/head runs); they load the same way, because the layout of
``adapter.pt`` does not depend on the mode. ``adapter.pt`` holds the LoRA tensors
(``lora_A``/``lora_B``, small, only for ``lora``) and, under "trained", every other tensor
training changed (readouts, unfrozen blocks).

Loading (:func:`guv_app.services.engine.loading.load_model`): build the network, load the
PARENT model's weights (``meta.parent``), then :func:`apply_finetune` re-creates and merges the
adapters and loads the trained tensors. A fine-tune with ``merged_file`` loads that file
instead of parent + adapter.
"""

from __future__ import annotations

import logging
from pathlib import Path

from guv_app.services.engine.errors import ModelLoadError
from guv_app.services.engine.lora import LoraSpec, apply_lora_state, merge_lora

log = logging.getLogger(__name__)

ADAPTER_FILE = "adapter.pt"
MERGED_FILE = "weights.pt"
FINETUNE_KINDS = ("lora", "unfreeze", "head")


def is_finetune(weights: dict | None) -> bool:
    """Whether a ``meta["weights"]`` entry describes a fine-tune of a parent model."""
    return isinstance(weights, dict) and weights.get("kind") in FINETUNE_KINDS


def merged_path(folder: Path, weights: dict) -> Path | None:
    """The full merged weights file of a fine-tune, when it was saved and exists."""
    merged = weights.get("merged_file")
    return folder / merged if merged and (folder / merged).is_file() else None


def _load_file(path: Path) -> dict:
    import pickle

    import torch

    from guv_app.services.engine.errors import load_error_line

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ModelLoadError(f"{path}: weights file missing") from exc
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise ModelLoadError(load_error_line(path, exc)) from None


def load_trained_tensors(net, state: dict, where: Path) -> None:
    """Load a partial state dict whose every key must exist in ``net`` with the same shape.

    Raises ModelLoadError naming ``where`` and the first key that does not fit.
    """
    own = net.state_dict()
    bad = [k for k, v in state.items() if k not in own or tuple(own[k].shape) != tuple(v.shape)]
    if bad:
        raise ModelLoadError(f"{where}: {len(bad)} tensor(s) do not fit the network "
                             f"(e.g. {bad[0]})")
    net.load_state_dict(state, strict=False)


def apply_finetune(net, folder: str | Path, weights: dict):
    """Return ``net`` (plain, merged, eval mode) carrying the fine-tuned tensors.

    ``net`` must already hold the parent model's weights. Raises ModelLoadError when the
    adapter file is missing, unreadable or does not fit the network.
    """
    folder = Path(folder)
    payload = _load_file(folder / weights.get("file", ADAPTER_FILE))
    if weights.get("lora"):
        try:
            net = apply_lora_state(net, LoraSpec.from_dict(weights["lora"]), payload["lora"])
        except (KeyError, ValueError, TypeError) as exc:
            raise ModelLoadError(f"{folder}: LoRA weights do not fit ({exc})") from exc
        net = merge_lora(net)
    load_trained_tensors(net, payload.get("trained", {}), folder)
    return net.eval()
