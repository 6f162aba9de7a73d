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

The trained blocks' attention also changes how it is computed, not what: SAM's decomposed
relative-position bias is an additive (B, heads, N, N) mask that depends on the query, so
with gradients PyTorch falls back to the unfused attention that materialises and keeps
several N x N matrices per block (~0.4 GB per vit_l block at batch 2). The same scores are
``q'' . k''`` with ``q'' = [q * scale, rel_h(q), rel_w(q)]`` and ``k'' = [k, onehot(k_row),
onehot(k_col)]``, so :class:`LowMemoryAttention` hands those to the fused (flash) kernel
with no mask: nothing N x N is kept, and on a CPU it is faster as well.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from segment_anything.modeling.image_encoder import Block, get_rel_pos
from torch.utils.checkpoint import checkpoint

from guv_app.services.engine.attention import FastAttention

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


class LowMemoryAttention(FastAttention):
    """SAM attention for a trained block: the relative-position bias folded into the query
    and key (see the module docstring), so the fused kernel runs without an N x N mask."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.use_rel_pos and torch.is_grad_enabled()):
            return super().forward(x)
        b, h, w, _ = x.shape
        qkv = self.qkv(x).reshape(b, h * w, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # (B, heads, N, C) each, as upstream splits them
        c = q.shape[-1]
        rq = q.reshape(b, self.num_heads, h, w, c)
        # upstream's add_decomposed_rel_pos terms: rel_h[.., qh, qw, kh], rel_w[.., qh, qw, kw]
        rel_h = torch.einsum("bnhwc,hkc->bnhwk", rq, get_rel_pos(h, h, self.rel_pos_h))
        rel_w = torch.einsum("bnhwc,wkc->bnhwk", rq, get_rel_pos(w, w, self.rel_pos_w))
        rows = torch.arange(h * w, device=x.device) // w
        cols = torch.arange(h * w, device=x.device) % w
        keys = torch.cat((F.one_hot(rows, h), F.one_hot(cols, w)), dim=1).to(q.dtype)
        q2 = torch.cat((q * self.scale, rel_h.reshape(b, self.num_heads, h * w, h),
                        rel_w.reshape(b, self.num_heads, h * w, w)), dim=-1)
        k2 = torch.cat((k, keys.expand(b, self.num_heads, -1, -1)), dim=-1)
        # the fused kernel wants one last dimension for q, k and v: pad v with zeros
        v2 = F.pad(v, (0, q2.shape[-1] - c))
        out = F.scaled_dot_product_attention(q2, k2, v2, scale=1.0)[..., :c]
        return self.proj(out.permute(0, 2, 1, 3).reshape(b, h, w, -1))


@dataclass
class MemoryPlan:
    """What :func:`memory_saving` did to the encoder blocks of one network."""

    prefix: int = 0  # leading blocks run without autograd
    checkpointed: list[int] = field(default_factory=list)  # blocks after it, checkpointed

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
    # every block after the prefix carries gradients (to a trained block before it), even
    # one without trained parameters of its own
    after = list(range(prefix, len(net.encoder.blocks)))
    return MemoryPlan(prefix, after if checkpointing else [])


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
            if i >= chosen.prefix and type(blk.attn) is FastAttention:
                switched.append((blk.attn, FastAttention))
                blk.attn.__class__ = LowMemoryAttention
        log.info("training memory: %s", chosen.summary())
        yield chosen
    finally:
        for blk, cls in switched:
            blk.__class__ = cls
