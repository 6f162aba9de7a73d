"""Choose what trains: LoRA (peft) on the last N encoder blocks, unfrozen blocks, or head only.

The network keeps its own class (peft's ``inject_adapter_in_model`` edits it in place), so the
training loop, saving and inference see the same forward. The readout head is unfrozen by
hand (peft's ``modules_to_save=["out"]`` raises, see shared notes).

Also the two halves of saving a LoRA fine-tune safely: :func:`lora_state_dict` (adapter
tensors only) and :func:`merge_lora` (fold adapters into plain Linear weights). An UNMERGED
peft state dict loads into a plain network with random LoRA and no error; both helpers and
:func:`apply_lora_state` check keys explicitly.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

LORA_TARGETS = ("attn.qkv", "attn.proj", "mlp.lin1", "mlp.lin2")
HEAD_PREFIXES = ("out.", "class_out.")  # readouts, trained in every mode; W2s stay fixed


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
        return cls(int(d["rank"]), float(d["alpha"]), float(d.get("dropout", 0.0)),
                   [int(b) for b in d["blocks"]], tuple(d.get("targets", LORA_TARGETS)))


@dataclass(frozen=True)
class TrainableCounts:
    trainable: int
    total: int
    lora: int
    head: int
    blocks: int

    def summary(self) -> str:
        return (f"{self.trainable:,} trainable of {self.total:,} parameters "
                f"(LoRA {self.lora:,}, blocks {self.blocks:,}, head {self.head:,})")


def n_blocks(net) -> int:
    return len(net.encoder.blocks)


def last_blocks(net, n: int) -> list[int]:
    """Indices of the last ``n`` encoder blocks (n <= 0 or > depth means all)."""
    depth = n_blocks(net)
    n = depth if n <= 0 or n > depth else n
    return list(range(depth - n, depth))


def is_head_param(name: str) -> bool:
    """Readout parameters trained in every mode (not the fixed W2 / class_W2 / diameters)."""
    return name.startswith(HEAD_PREFIXES)


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


def count(net) -> TrainableCounts:
    params = list(net.named_parameters())
    trainable = [(n, p) for n, p in params if p.requires_grad]
    return TrainableCounts(
        trainable=sum(p.numel() for _, p in trainable),
        total=sum(p.numel() for n, p in params if "lora_" not in n),
        lora=sum(p.numel() for n, p in trainable if "lora_" in n),
        head=sum(p.numel() for n, p in trainable if is_head_param(n)),
        blocks=sum(p.numel() for n, p in trainable
                   if n.startswith("encoder.blocks.") and "lora_" not in n),
    )


def prepare(net, mode: str, blocks: int, rank: int = 8, alpha: float = 16.0,
            dropout: float = 0.05) -> tuple[object, LoraSpec | None, list[int]]:
    """Set ``requires_grad`` for ``mode`` ("lora", "unfreeze", "head"); returns the net,
    the LoRA spec (None unless LoRA) and the trained block indices."""
    for p in net.parameters():
        p.requires_grad_(False)
    spec = None
    chosen: list[int] = []
    if mode == "lora":
        chosen = last_blocks(net, blocks)
        spec = LoraSpec(rank, alpha, dropout, chosen)
        net = inject_lora(net, spec)
    elif mode == "unfreeze":
        chosen = last_blocks(net, blocks)
        for b in chosen:
            for p in net.encoder.blocks[b].parameters():
                p.requires_grad_(True)
    elif mode != "head":
        raise ValueError(f"unknown training mode {mode!r} (lora, unfreeze or head)")
    for name, p in net.named_parameters():
        if is_head_param(name):
            p.requires_grad_(True)
    log.info("mode %s: %s", mode, count(net).summary())
    return net, spec, chosen


def lora_state_dict(net) -> dict:
    """Adapter tensors only (``lora_A``/``lora_B``), detached copies on CPU."""
    return {k: v.detach().cpu().clone() for k, v in net.state_dict().items() if "lora_" in k}


def apply_lora_state(net, spec: LoraSpec, state: dict):
    """Inject adapters per ``spec`` and load ``state``; every adapter key must match."""
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
