"""Faster SAM attention: the same maths as ``segment_anything``'s ``Attention``.

Upstream's attention materialises the (tokens x tokens) score matrix of every head of every
tile at once (B x heads x 1024 x 1024 per batch of 256 px tiles), adds the decomposed
relative-position terms in separate passes and then runs softmax and the value product, each
a full pass through main memory. :class:`FastAttention` keeps the maths and changes where it
runs:

* CPU inference (no autograd): :func:`attention_in_chunks` does upstream's operations in
  upstream's order and precision on a few heads at a time, so each score block stays in the
  CPU cache: bitwise the same outputs as upstream in bfloat16 and float32, ~1.3x faster
  than the fused kernel below on a 2-core CPU (attention is ~27% of vit_l's network time
  there, the ``nn.Linear`` layers ~62%).
* Training and GPUs: the relative-position bias is built once (upstream's ``get_rel_pos``
  tables and einsums) and handed to ``torch.nn.functional.scaled_dot_product_attention`` as
  an additive ``attn_mask``, which fuses scaling, bias, softmax and the value product and
  has a memory-lean backward; equal to upstream's within float rounding (~1e-6).

:func:`use_fast_attention` replaces each attention module by a :class:`FastAttention` (a
subclass of upstream's ``Attention``, built with the same constructor arguments) that takes
over the original's ``qkv``/``proj`` layers and relative-position tables, so parameters,
state-dict keys, LoRA targets and saved weights are untouched; ``use_fast_attention(net,
False)`` puts upstream's ``Attention`` back (the benchmark does that for its upstream side).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from segment_anything.modeling.image_encoder import Attention, get_rel_pos
from torch import nn


def relative_position_bias(
    q: torch.Tensor, rel_pos_h: torch.Tensor, rel_pos_w: torch.Tensor, size: tuple[int, int]
) -> torch.Tensor:
    """Additive score bias of SAM's decomposed relative positions, (B, heads, N, N).

    ``q`` is the unscaled query (B, heads, H*W, C), as upstream's
    ``add_decomposed_rel_pos`` uses it; bias[..., (qh, qw), (kh, kw)] = rel_h[qh, qw, kh] +
    rel_w[qh, qw, kw].
    """
    h, w = size
    rh = get_rel_pos(h, h, rel_pos_h)
    rw = get_rel_pos(w, w, rel_pos_w)
    b, heads, n, c = q.shape
    rq = q.reshape(b, heads, h, w, c)
    # contiguous first: einsum hands back permuted strides, and the broadcast sum would
    # inherit them, making the final reshape copy the whole (N x N) bias (~2x slower)
    rel_h = torch.einsum("bnhwc,hkc->bnhwk", rq, rh).contiguous()
    rel_w = torch.einsum("bnhwc,wkc->bnhwk", rq, rw).contiguous()
    return (rel_h[..., :, None] + rel_w[..., None, :]).reshape(b, heads, n, n)


#: score elements (heads x N x N) per step of :func:`attention_in_chunks`: 2 heads of a
#: 256 px tile (N = 1024 tokens), 4 MB of bfloat16 scores, which stay in the CPU's cache
CHUNK_SCORES = 2 * 1024 * 1024


def attention_in_chunks(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float,
    rel_pos: tuple[torch.Tensor, torch.Tensor] | None, size: tuple[int, int],
    chunk_scores: int = CHUNK_SCORES,
) -> torch.Tensor:
    """Upstream's attention, operation for operation, a few heads at a time (no autograd).

    ``q``/``k``/``v`` are (B, heads, N, C) with N = H*W tokens; ``rel_pos`` is SAM's
    (rel_pos_h, rel_pos_w) tables or None. Each step computes ``(q * scale) @ k^T``, adds the
    decomposed relative-position terms in place, takes the softmax and the value product --
    the same operations in the same order and precision as ``segment_anything``'s
    ``Attention`` (so results, bfloat16 included, are bitwise upstream's), but on score
    blocks of about ``chunk_scores`` elements (whole heads, at least one) instead of one
    (B x heads x N x N) matrix. On a 2-core CPU that took vit_l's attention for 8 tiles from
    ~7.4 s (fused kernel, materialised bias mask) to ~5.5 s: the blocks stay in cache.
    Returns (B, heads, N, C) in ``q``'s dtype (the value product's dtype under autocast).
    """
    b, heads, n, c = q.shape
    h, w = size
    tables = None
    if rel_pos is not None:
        tables = (get_rel_pos(h, h, rel_pos[0]), get_rel_pos(w, w, rel_pos[1]))
    step = max(1, chunk_scores // (n * n))
    parts = []
    for i in range(b):
        for j in range(0, heads, step):
            q_ = q[i, j:j + step]  # (heads in this step, N, C)
            scores = (q_ * scale) @ k[i, j:j + step].transpose(-2, -1)
            if tables is not None:  # upstream's add_decomposed_rel_pos, in place
                rq = q_.reshape(-1, h, w, c)
                rel_h = torch.einsum("nhwc,hkc->nhwk", rq, tables[0])
                rel_w = torch.einsum("nhwc,wkc->nhwk", rq, tables[1])
                grid = scores.view(-1, h, w, h, w)
                grid.add_(rel_h[..., None]).add_(rel_w[:, :, :, None, :])
            parts.append(scores.softmax(dim=-1) @ v[i, j:j + step])
    return torch.cat(parts).view(b, heads, n, -1)


class FastAttention(Attention):
    """``segment_anything`` ``Attention`` with a faster forward: blocked on a CPU without
    autograd (:func:`attention_in_chunks`), fused scaled-dot-product attention otherwise
    (GPU, or training, where the fused kernel's backward saves memory)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = x.shape
        # (3, B, heads, H*W, C), the same split of the qkv projection as upstream
        qkv = self.qkv(x).reshape(b, h * w, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        if x.device.type == "cpu" and not torch.is_grad_enabled():
            rel = (self.rel_pos_h, self.rel_pos_w) if self.use_rel_pos else None
            out = attention_in_chunks(q, k, v, self.scale, rel, (h, w))
        else:
            bias = None
            if self.use_rel_pos:
                bias = relative_position_bias(q, self.rel_pos_h, self.rel_pos_w, (h, w))
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=self.scale)
        return self.proj(out.permute(0, 2, 1, 3).reshape(b, h, w, -1))


def _rebuilt(module: Attention, target: type[Attention]) -> Attention:
    """A ``target`` instance made by upstream's constructor, holding ``module``'s layers."""
    rel = module.use_rel_pos
    size = ((module.rel_pos_h.shape[0] + 1) // 2, (module.rel_pos_w.shape[0] + 1) // 2) \
        if rel else None
    with torch.device("meta"):  # placeholders only: the real layers are moved in below
        new = target(dim=module.qkv.in_features, num_heads=module.num_heads,
                     qkv_bias=module.qkv.bias is not None, use_rel_pos=rel, input_size=size)
    new.scale = module.scale
    new.qkv, new.proj = module.qkv, module.proj
    if rel:
        new.rel_pos_h, new.rel_pos_w = module.rel_pos_h, module.rel_pos_w
    new.train(module.training)
    return new


def use_fast_attention(net: nn.Module, enabled: bool = True) -> int:
    """Switch every SAM attention module in ``net`` to the faster (or upstream's) forward.

    Returns how many modules were replaced. Only exact ``Attention``/``FastAttention``
    instances are touched, so other subclasses keep their own forward.
    """
    target = FastAttention if enabled else Attention
    names = [name for name, m in net.named_modules()
             if type(m) in (Attention, FastAttention) and type(m) is not target]
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = net.get_submodule(parent_name) if parent_name else net
        setattr(parent, child, _rebuilt(getattr(parent, child), target))
    return len(names)
