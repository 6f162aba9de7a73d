"""LoRA adapter layers on the encoder (peft): describe, inject, fill, merge.

The one place that knows how LoRA sits in our network; training (which adds fresh adapters
and saves them) and loading (which re-creates saved ones and merges them) both use it, so
the engine never imports the training service.

The network keeps its own class (peft's ``inject_adapter_in_model`` edits it in place), so
the training loop, saving and inference see the same forward. An UNMERGED peft state dict
loads into a plain network with random LoRA and no error (shared notes): :func:`apply_lora_state`
and :func:`merge_lora` check keys explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LORA_TARGETS = ("attn.qkv", "attn.proj", "mlp.lin1", "mlp.lin2")


@dataclass(frozen=True)
class LoraSpec:
    """Everything needed to rebuild the adapter layers (stored in meta.json)."""

    rank: int
    alpha: float
    dropout: float
    blocks: list[int]
    targets: tuple[str, ...] = LORA_TARGETS

    def to_dict(self) -> dict:
        return {"rank": self.rank, "alpha": self.alpha, "dropout": self.dropout,
                "blocks": list(self.blocks), "targets": list(self.targets)}

    @classmethod
    def from_dict(cls, d: dict) -> LoraSpec:
        """Raises KeyError/ValueError when ``d`` lacks rank or blocks or holds non-numbers."""
        return cls(int(d["rank"]), float(d["alpha"]), float(d.get("dropout", 0.0)),
                   [int(b) for b in d["blocks"]], tuple(d.get("targets", LORA_TARGETS)))


def _target_regex(blocks: Sequence[int], targets: Sequence[str]) -> str:
    ids = "|".join(str(b) for b in blocks)
    names = "|".join(t.replace(".", r"\.") for t in targets)
    return rf"encoder\.blocks\.({ids})\.({names})"


def inject_lora(net, spec: LoraSpec):
    """Add LoRA layers to ``spec.blocks`` in place (everything else frozen); returns ``net``."""
    from peft import LoraConfig, inject_adapter_in_model

    config = LoraConfig(r=spec.rank, lora_alpha=spec.alpha, lora_dropout=spec.dropout,
                        target_modules=_target_regex(spec.blocks, spec.targets), bias="none")
    return inject_adapter_in_model(config, net)


def lora_state_dict(net) -> dict:
    """Adapter tensors only (``lora_A``/``lora_B``), detached copies on CPU."""
    return {k: v.detach().cpu().clone() for k, v in net.state_dict().items() if "lora_" in k}


def apply_lora_state(net, spec: LoraSpec, state: dict):
    """Inject adapters per ``spec`` and load ``state``; every adapter key must match.

    Raises ValueError naming a missing or unexpected key.
    """
    net = inject_lora(net, spec)
    expected = {k for k in net.state_dict() if "lora_" in k}
    missing = expected - set(state)
    extra = set(state) - expected
    if missing or extra:
        raise ValueError(f"LoRA weights do not fit the network: {len(missing)} missing, "
                         f"{len(extra)} unexpected (e.g. {sorted(missing or extra)[0]})")
    net.load_state_dict(state, strict=False)
    return net


def merge_lora(net):
    """Fold every LoRA layer into its base Linear and remove the wrappers (in place)."""
    from peft.tuners.lora import LoraLayer

    targets = [(n, m) for n, m in net.named_modules() if isinstance(m, LoraLayer)]
    for name, module in targets:
        module.merge()
        parent_name, _, child = name.rpartition(".")
        parent = net.get_submodule(parent_name) if parent_name else net
        setattr(parent, child, module.get_base_layer())
    leftover = [k for k in net.state_dict() if "lora_" in k or "base_layer" in k]
    if leftover:
        raise RuntimeError(f"LoRA merge left adapter keys behind: {leftover[:3]}")
    if hasattr(net, "peft_config"):
        del net.peft_config
    return net
