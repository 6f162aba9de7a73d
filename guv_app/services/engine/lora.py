"""Load a fine-tune saved by the training service (``meta["weights"]["kind"] == "lora"``).

Written by the training service's engineer; the engine's ``load_model`` builds the network,
loads the PARENT model's weights (``meta.parent``, the model the fine-tune started from) and
then calls :func:`load_lora_weights`. ``meta["weights"]`` format::

    {
      "kind": "lora",
      "file": "adapter.pt",       # torch.save({"lora": {...}, "trained": {...}})
      "lora": {"rank": 8, "alpha": 16, "dropout": 0.05, "blocks": [20, 21, 22, 23],
               "targets": ["attn.qkv", "attn.proj", "mlp.lin1", "mlp.lin2"]} | null,
      "merged_file": "weights.pt" # optional: full merged state dict (written when asked)
    }

``adapter.pt`` holds the LoRA tensors (``lora_A``/``lora_B``, small) and, under "trained",
every other tensor training changed (readouts, unfrozen blocks). Loading = (parent weights,
done by the engine), inject + load + MERGE the adapters, then the trained tensors. Every key is checked: an
unmerged peft state dict would otherwise load into a plain network with random LoRA and no
error (shared notes).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ADAPTER_FILE = "adapter.pt"
MERGED_FILE = "weights.pt"


def _weights_info(meta: Any) -> dict:
    weights = meta.get("weights") if isinstance(meta, dict) else getattr(meta, "weights", None)
    if not isinstance(weights, dict) or weights.get("kind") != "lora":
        raise ValueError("model description has no LoRA weights entry")
    return weights


def _load_file(path: Path) -> dict:
    import pickle

    import torch

    from guv_app.services.engine.errors import ModelLoadError, load_error_line

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ModelLoadError(f"{path}: weights file missing") from exc
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise ModelLoadError(load_error_line(path, exc)) from None


def load_trained_tensors(net, state: dict, where: Path) -> None:
    """Load a partial state dict whose every key must exist in ``net`` with the same shape."""
    from guv_app.services.engine.errors import ModelLoadError

    own = net.state_dict()
    bad = [k for k, v in state.items() if k not in own or tuple(own[k].shape) != tuple(v.shape)]
    if bad:
        raise ModelLoadError(f"{where}: {len(bad)} tensor(s) do not fit the network "
                             f"(e.g. {bad[0]})")
    net.load_state_dict(state, strict=False)


def load_lora_weights(net, model_dir: str | Path, meta: Any):
    """Return ``net`` (plain, merged, eval mode) carrying the fine-tuned weights.

    ``net`` must already hold the parent model's weights (the engine loads them).
    """
    from guv_app.services.engine.errors import ModelLoadError
    from guv_app.services.training.adapt import LoraSpec, apply_lora_state, merge_lora

    folder = Path(model_dir)
    info = _weights_info(meta)
    merged = info.get("merged_file")
    if merged and (folder / merged).is_file():
        state = _load_file(folder / merged)
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ModelLoadError(f"{folder / merged}: does not fit the network ({exc})") from exc
        return net.eval()
    payload = _load_file(folder / info.get("file", ADAPTER_FILE))
    if info.get("lora"):
        try:
            net = apply_lora_state(net, LoraSpec.from_dict(info["lora"]), payload["lora"])
        except (KeyError, ValueError) as exc:
            raise ModelLoadError(f"{folder}: LoRA weights do not fit ({exc})") from exc
        net = merge_lora(net)
    load_trained_tensors(net, payload.get("trained", {}), folder)
    return net.eval()
