"""Training memory: no autograd through the frozen encoder prefix, optional checkpointing.

When only the last k encoder blocks train (LoRA or unfrozen), the blocks before them are a
fixed feature extractor. :func:`memory_saving` runs that prefix under ``torch.no_grad()``
(nothing of it can be kept for backward, and fused attention may use its inference
kernels), and with ``checkpointing`` wraps each trained block in activation checkpointing
(``torch.utils.checkpoint``, ``use_reentrant=False``): only each block's input is kept and
the block is run again during backward, so the saved activations of k blocks shrink to one
block's at a time, for about one extra forward of those k blocks per step.

The prefix is found from ``requires_grad``, never assumed: it ends at the first block that
has a trainable parameter, and is empty when anything before the blocks trains (patch or
position embedding), so gradients are exactly those of the plain forward (tests compare
them). Blocks keep their parameters and state-dict keys; only their class is switched to a
subclass of segment_anything's ``Block`` for the run and switched back afterwards.
Outside training mode, or with gradients off (validation, inference), the subclasses run
the plain forward.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from segment_anything.modeling.image_encoder import Block
from torch.utils.checkpoint import checkpoint

log = logging.getLogger(__name__)


class FrozenPrefixBlock(Block):
    """A block of the frozen prefix: no autograd graph while training."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and torch.is_grad_enabled()):
            return super().forward(x)
        with torch.no_grad():
            return super().forward(x)


class CheckpointedBlock(Block):
    """A trained block whose activations are recomputed in backward instead of kept."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and torch.is_grad_enabled()):
            return super().forward(x)
        # preserve_rng_state (the default) replays the same LoRA dropout in the recompute
        return checkpoint(super().forward, x, use_reentrant=False)


@dataclass
class MemoryPlan:
    """What :func:`memory_saving` did to the encoder blocks of one network."""

    prefix: int = 0  # leading blocks run without autograd
    checkpointed: list[int] = field(default_factory=list)  # trained blocks checkpointed

    def summary(self) -> str:
        ckpt = (f"; activation checkpointing of blocks {self.checkpointed[0]}.."
                f"{self.checkpointed[-1]}" if self.checkpointed else "")
        return f"blocks 0..{self.prefix - 1} run without autograd{ckpt}" if self.prefix \
            else f"no frozen prefix{ckpt}"


def _trains(module: torch.nn.Module) -> bool:
    return any(p.requires_grad for p in module.parameters())


def frozen_prefix(net) -> int:
    """How many leading encoder blocks hold no trainable parameter and get no gradient
    from anything trained before them (0 when the patch/position embedding trains)."""
    enc = net.encoder
    pos = getattr(enc, "pos_embed", None)
    if _trains(enc.patch_embed) or (isinstance(pos, torch.nn.Parameter) and pos.requires_grad):
        return 0
    for i, blk in enumerate(enc.blocks):
        if _trains(blk):
            return i
    return len(enc.blocks)


def plan(net, checkpointing: bool = False) -> MemoryPlan:
    """The blocks :func:`memory_saving` would switch, without switching them."""
    prefix = frozen_prefix(net)
    trained = [i for i, blk in enumerate(net.encoder.blocks) if i >= prefix and _trains(blk)]
    return MemoryPlan(prefix, trained if checkpointing else [])


@contextmanager
def memory_saving(net, checkpointing: bool = False) -> Iterator[MemoryPlan]:
    """Within this block, ``net`` trains with a no-grad frozen prefix and, optionally,
    checkpointed trained blocks (set ``requires_grad`` first). Blocks that are not exactly
    segment_anything's ``Block`` are left alone. The classes are restored on exit."""
    chosen = plan(net, checkpointing)
    switched: list[tuple[torch.nn.Module, type]] = []
    ckpt = set(chosen.checkpointed)
    try:
        for i, blk in enumerate(net.encoder.blocks):
            target = FrozenPrefixBlock if i < chosen.prefix else \
                CheckpointedBlock if i in ckpt else None
            if target is not None and type(blk) is Block:
                switched.append((blk, type(blk)))
                blk.__class__ = target
        log.info("training memory: %s", chosen.summary())
        yield chosen
    finally:
        for blk, cls in switched:
            blk.__class__ = cls
