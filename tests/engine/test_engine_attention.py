"""The fused attention must compute what segment_anything's Attention computes."""

from __future__ import annotations

import copy

import pytest
import torch

from guv_app.services.engine.attention import (
    FastAttention,
    attention_in_chunks,
    use_fast_attention,
)
from guv_app.services.engine.network import build_network


def _pair(use_rel_pos: bool, dim: int = 48, heads: int = 3):
    from segment_anything.modeling.image_encoder import Attention

    torch.manual_seed(1)
    ref = Attention(dim, heads, qkv_bias=True, use_rel_pos=use_rel_pos, input_size=(12, 12))
    if use_rel_pos:  # upstream zero-initialises them, which would hide a wrong bias
        with torch.no_grad():
            ref.rel_pos_h.normal_(0, 0.5)
            ref.rel_pos_w.normal_(0, 0.5)
    holder = torch.nn.Sequential(copy.deepcopy(ref))
    assert use_fast_attention(holder) == 1
    fast = holder[0]
    assert type(fast) is FastAttention and type(ref) is Attention
    assert use_fast_attention(holder) == 0  # already fast
    return ref, fast


@pytest.mark.parametrize("use_rel_pos", [True, False])
@pytest.mark.parametrize("hw", [(12, 12), (6, 9)])  # native size, and interpolated rel-pos
def test_fast_attention_equals_upstream(use_rel_pos, hw):
    ref, fast = _pair(use_rel_pos)
    x = torch.randn(2, *hw, 48)
    expected = ref(x)
    got = fast(x)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    assert not torch.equal(expected, ref(x.flip(1)))  # the input matters at all


def test_fast_attention_gradients_equal_upstream():
    ref, fast = _pair(True)
    x = torch.randn(2, 6, 9, 48)
    target = torch.randn(2, 6, 9, 48)
    for module in (ref, fast):
        ((module(x) - target) ** 2).sum().backward()
    for (name, p_ref), (_, p_fast) in zip(
        ref.named_parameters(), fast.named_parameters(), strict=True
    ):
        assert p_ref.grad is not None and p_ref.grad.abs().sum() > 0, name
        torch.testing.assert_close(p_fast.grad, p_ref.grad, rtol=1e-4, atol=1e-5)


def test_network_uses_fast_attention_and_matches_upstream_forward():
    torch.set_num_threads(min(torch.get_num_threads(), 2))
    net = build_network("tiny", 2)
    attn = [m for m in net.modules() if isinstance(m, FastAttention)]
    assert len(attn) == len(net.encoder.blocks) and all(a.use_rel_pos for a in attn)
    with torch.no_grad():  # non-zero rel-pos tables, like trained weights
        for a in attn:
            a.rel_pos_h.normal_(0, 0.5)
            a.rel_pos_w.normal_(0, 0.5)
    upstream = copy.deepcopy(net)
    assert use_fast_attention(upstream, False) == len(attn)
    assert set(net.state_dict()) == set(upstream.state_dict())
    x = torch.randn(2, 3, 256, 256)
    with torch.inference_mode():
        y, style = net(x)
        y_ref, style_ref = upstream(x)
    assert y.shape == (2, 3 + 3, 256, 256)
    torch.testing.assert_close(y, y_ref, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(style, style_ref, rtol=1e-4, atol=1e-4)


def test_lora_wrapped_attention_matches_and_trains():
    peft = pytest.importorskip("peft")
    torch.manual_seed(3)
    net = build_network("tiny", 0)
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["attn.qkv", "attn.proj"])
    wrapped = peft.inject_adapter_in_model(config, net)
    with torch.no_grad():  # peft starts LoRA B at zero: make the adapters matter
        for name, p in wrapped.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.1)
    upstream = copy.deepcopy(wrapped)
    use_fast_attention(upstream, False)
    assert any(isinstance(m, FastAttention) for m in wrapped.modules())
    assert not any(isinstance(m, FastAttention) for m in upstream.modules())
    x = torch.randn(1, 3, 256, 256)
    outs = []
    for model in (wrapped, upstream):
        y = model(x)[0]
        y.square().mean().backward()
        outs.append((y.detach(), {n: p.grad for n, p in model.named_parameters()
                                  if "lora_" in n and p.grad is not None}))
    (y_fast, g_fast), (y_ref, g_ref) = outs
    torch.testing.assert_close(y_fast, y_ref, rtol=1e-4, atol=1e-4)
    assert g_ref and set(g_fast) == set(g_ref)
    for name in g_ref:
        torch.testing.assert_close(g_fast[name], g_ref[name], rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("hw", [(12, 12), (6, 9)])
def test_cpu_inference_attention_is_bitwise_upstream(dtype, hw):
    """Without autograd on a CPU the blocked path runs upstream's operations in upstream's
    order: the same numbers, bit for bit, in float32 and in bfloat16 (Cellpose's default)."""
    ref, fast = _pair(True)
    ref, fast = ref.to(dtype), fast.to(dtype)
    x = torch.randn(3, *hw, 48).to(dtype)
    with torch.inference_mode():
        expected = ref(x)
        got = fast(x)
    assert torch.equal(got, expected)


@pytest.mark.parametrize("use_rel_pos", [True, False])
@pytest.mark.parametrize("chunk", ["one head", "two heads", "all heads"])
def test_attention_in_chunks_equals_upstream_for_every_chunk_size(use_rel_pos, chunk):
    from segment_anything.modeling.image_encoder import add_decomposed_rel_pos

    torch.manual_seed(5)
    b, heads, (h, w), c = 2, 3, (6, 9), 16
    n = h * w
    q, k, v = (torch.randn(b, heads, n, c) for _ in range(3))
    tables = (torch.randn(2 * h - 1, c), torch.randn(2 * w - 1, c))
    scale = c ** -0.5
    # upstream's Attention.forward on (B * heads, N, C), written out
    scores = (q.reshape(b * heads, n, c) * scale) @ k.reshape(b * heads, n, c).transpose(-2, -1)
    if use_rel_pos:
        scores = add_decomposed_rel_pos(scores, q.reshape(b * heads, n, c), *tables, (h, w),
                                        (h, w))
    expected = (scores.softmax(dim=-1) @ v.reshape(b * heads, n, c)).view(b, heads, n, c)
    per_step = {"one head": n * n, "two heads": 2 * n * n, "all heads": 10 ** 9}[chunk]
    got = attention_in_chunks(q, k, v, scale, tables if use_rel_pos else None, (h, w),
                              chunk_scores=per_step)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cpu_inference_is_bitwise_upstreams_network_in_passes_of_tiles(dtype):
    """What the docstrings claim, held to it: on a CPU without autograd the blocked
    attention, run in passes of CPU_TILES_PER_PASS tiles (an odd batch: a last pass of
    one), gives exactly upstream's outputs for the whole batch, bfloat16 weights included;
    non-zero relative-position tables, so their addition order counts."""
    from guv_app.services.engine.inference import WatchedNet

    torch.set_num_threads(min(torch.get_num_threads(), 2))
    net = build_network("tiny", 2, seed=3).eval()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, FastAttention):
                module.rel_pos_h.normal_(0, 0.5)
                module.rel_pos_w.normal_(0, 0.5)
    net.dtype = dtype  # upstream BaseModel's setter, as upstream's use_bfloat16 does
    upstream = copy.deepcopy(net)
    use_fast_attention(upstream, False)
    x = torch.randn(3, 3, 256, 256, generator=torch.Generator().manual_seed(4)).to(dtype)
    with torch.inference_mode():
        ours = WatchedNet(net, None)(x)
        theirs = upstream(x)
    assert len(ours) == len(theirs)
    assert ours[0].dtype == dtype and torch.equal(ours[0], theirs[0])  # flows, cellprob
