"""Choose what trains: LoRA (peft) on the last N encoder blocks, unfrozen blocks, or head only.

The LoRA layers themselves (spec, injection, state, merge) live in
:mod:`guv_app.services.engine.lora`, shared with model loading. The readout head is unfrozen
by hand (peft's ``modules_to_save=["out"]`` raises, see shared notes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from guv_app.services.engine.lora import LoraSpec, inject_lora

log = logging.getLogger(__name__)

HEAD_PREFIXES = ("out.", "class_out.")  # readouts, trained in every mode; W2s stay fixed


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
