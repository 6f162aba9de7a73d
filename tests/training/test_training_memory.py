"""Training memory: the no-grad frozen prefix and activation checkpointing change nothing but
memory -- same loss, same gradients -- and the option reaches the trainer from the CLI."""

from __future__ import annotations

import json

import pytest
import torch
from tr_helpers import fresh_net

from guv_app.services.engine.attention import FastAttention
from guv_app.services.training import adapt
from guv_app.services.training.losses import compute_loss
from guv_app.services.training.memory import (
    CheckpointedBlock,
    FrozenPrefixBlock,
    LowMemoryAttention,
    frozen_prefix,
    memory_saving,
)


def _batch(seed: int = 1, size: int = 256):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, size, size, generator=g)
    flows = torch.randn(2, 2, size, size, generator=g).clamp(-1, 1)
    cellprob = (torch.rand(2, size, size, generator=g) > 0.5).float()
    classes = torch.randint(0, 3, (2, size, size), generator=g)
    return x, flows, cellprob, classes


def _step(net, batch, seed: int = 7):
    """Loss and gradients of one training-mode step (rdrop and LoRA dropout active)."""
    torch.manual_seed(seed)
    net.zero_grad(set_to_none=True)
    x, flows, cellprob, classes = batch
    loss = compute_loss(net(x)[0], flows, cellprob, classes).total
    loss.backward()
    grads = {n: p.grad.clone() for n, p in net.named_parameters() if p.requires_grad}
    return float(loss.detach()), grads


def _prepared(mode: str, dropout: float = 0.1):
    torch.manual_seed(3)  # LoRA's A matrices start random
    net, _, _ = adapt.prepare(fresh_net(), mode, 1, rank=4, alpha=8, dropout=dropout)
    return net.train()


@pytest.mark.parametrize("mode", ["lora", "unfreeze", "head"])
@pytest.mark.parametrize("checkpointing", [False, True])
def test_same_loss_and_gradients_as_the_plain_forward(mode, checkpointing):
    batch = _batch()
    loss_ref, grads_ref = _step(_prepared(mode), batch)
    net = _prepared(mode)
    with memory_saving(net, checkpointing) as plan:
        loss, grads = _step(net, batch)
        kinds = [type(b) for b in net.encoder.blocks]
        attention = [type(b.attn) for b in net.encoder.blocks]
    assert attention == [FastAttention, FastAttention if mode == "head" else LowMemoryAttention]
    assert plan.prefix == (2 if mode == "head" else 1)  # tiny: 2 blocks, the last one trains
    assert kinds[0] is FrozenPrefixBlock
    assert (kinds[1] is CheckpointedBlock) == (checkpointing and mode != "head")
    assert loss == pytest.approx(loss_ref, rel=1e-6)
    assert grads.keys() == grads_ref.keys() and grads
    for name, g in grads.items():
        torch.testing.assert_close(g, grads_ref[name], rtol=1e-5, atol=1e-7, msg=name)
    if mode != "head":  # the trained block did get gradients
        assert any(n.startswith("encoder.blocks.1.") and g.abs().sum() > 0
                   for n, g in grads.items())


def test_low_memory_attention_is_the_same_attention():
    """Bias folded into q and k: same outputs and gradients as the masked attention, for a
    non-square token grid too; no N x N tensor is kept for backward."""
    torch.manual_seed(0)
    fast = FastAttention(dim=64, num_heads=4, qkv_bias=True, use_rel_pos=True,
                         input_size=(12, 20))
    torch.nn.init.normal_(fast.rel_pos_h, std=0.5)
    torch.nn.init.normal_(fast.rel_pos_w, std=0.5)
    x = torch.randn(2, 12, 20, 64)
    grads = []
    for cls in (FastAttention, LowMemoryAttention):
        fast.__class__ = cls
        fast.zero_grad()
        xi = x.clone().requires_grad_(True)
        biggest = [0]

        def pack(t, biggest=biggest):
            biggest[0] = max(biggest[0], t.numel())
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = fast(xi)
        (out * torch.linspace(-1, 1, 64)).sum().backward()
        grads.append((out.detach(), xi.grad, fast.rel_pos_h.grad, fast.qkv.weight.grad,
                      biggest[0]))
    (o1, gx1, gh1, gw1, big1), (o2, gx2, gh2, gw2, big2) = grads
    torch.testing.assert_close(o2, o1, rtol=1e-5, atol=1e-6)
    for a, b in ((gx2, gx1), (gh2, gh1), (gw2, gw1)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5 * float(b.abs().max()))
    n = 12 * 20
    assert big1 >= 2 * 4 * n * n > big2  # the masked path keeps (B, heads, N, N) tensors


def _saved_bytes(net, batch) -> int:
    """Bytes autograd keeps for backward during one forward (hooks see every saved tensor)."""
    total = [0]

    def pack(t):
        total[0] += t.numel() * t.element_size()
        return t

    x, flows, cellprob, classes = batch
    torch.manual_seed(0)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        compute_loss(net(x)[0], flows, cellprob, classes).total.backward()
    return total[0]


def test_checkpointing_keeps_far_fewer_activations():
    batch = _batch()
    plain = _saved_bytes(_prepared("lora", 0.0), batch)
    net = _prepared("lora", 0.0)
    with memory_saving(net, checkpointing=True):
        checkpointed = _saved_bytes(net, batch)
    # what stays: the trained block's input and the neck/readout/loss activations
    assert checkpointed < 0.6 * plain, (checkpointed, plain)


def test_prefix_ends_where_something_trains_and_classes_come_back():
    net = _prepared("lora")
    keys = list(net.state_dict())
    assert frozen_prefix(net) == 1
    net.encoder.pos_embed.requires_grad_(True)  # trained before the blocks: no prefix
    assert frozen_prefix(net) == 0
    net.encoder.pos_embed.requires_grad_(False)
    with memory_saving(net, True):
        assert list(net.state_dict()) == keys
    from segment_anything.modeling.image_encoder import Block

    assert all(type(b) is Block for b in net.encoder.blocks)
    with memory_saving(net, True):  # eval / no-grad: the plain forward, same outputs
        net.eval()
        with torch.no_grad():
            y = net(_batch()[0])[0]
    with torch.no_grad():
        assert torch.equal(y, net(_batch()[0])[0])


def test_cli_flag_reaches_the_trainer(seg_folder, caplog):
    import logging

    from guv_app.cli.main import main
    from guv_app.services.engine import registry

    caplog.set_level(logging.INFO, logger="guv_app.services.training.memory")
    code = main(["train", "--train-dir", str(seg_folder), "--model-name", "ckpt",
                 "--base-model", "tiny", "--blocks", "1", "--epochs", "1", "--batch-size", "1",
                 "--images-per-epoch", "1", "--device", "cpu", "--test-ratio", "0",
                 "--checkpointing"])
    assert code == 0
    assert "activation checkpointing of blocks 1..1" in caplog.text
    meta = json.loads((registry.model_dir("ckpt") / registry.META_FILE).read_text())
    assert meta["training"]["config"]["activation_checkpointing"] is True


def test_base_network_gets_its_class_head_in_place():
    """Training a 2-class model from a flows-only base: the loaded base is re-headed, not
    copied into a second network; the head is fresh and repeatable, the encoder the base's."""
    from guv_app.services.engine.loading import load_model
    from guv_app.services.training.runner import prepare_network

    net, meta = prepare_network("tiny", 2)
    again, _ = prepare_network("tiny", 2)
    base = load_model("tiny", cache=False).net
    assert meta.n_classes == 0 and net.n_classes == 2 and net.n_cls == 3
    for k, v in base.state_dict().items():
        assert torch.equal(v, net.state_dict()[k]), k
    assert torch.equal(net.class_out.weight, again.class_out.weight)
    assert net.class_out.weight.abs().sum() > 0
    with torch.no_grad():
        assert net(torch.zeros(1, 3, 256, 256))[0].shape == (1, 6, 256, 256)
    net.set_class_head(0)
    assert not hasattr(net, "class_out") and list(net.state_dict()) == list(base.state_dict())


def test_a_frozen_block_between_trained_ones_still_passes_gradients():
    """Block 0 trained, block 1 frozen: gradients reach block 0 through block 1, which is
    therefore not part of the prefix (its attention and checkpointing apply too)."""
    def prepared():
        net, _, _ = adapt.prepare(fresh_net(), "head", 0)
        net.encoder.blocks[0].requires_grad_(True)
        return net.train()

    batch = _batch()
    loss_ref, grads_ref = _step(prepared(), batch)
    net = prepared()
    with memory_saving(net, checkpointing=True) as plan:
        assert plan.prefix == 0 and plan.checkpointed == [0, 1]
        assert type(net.encoder.blocks[1].attn) is LowMemoryAttention
        loss, grads = _step(net, batch)
    assert loss == pytest.approx(loss_ref, rel=1e-6)
    assert any(n.startswith("encoder.blocks.0.") and g.abs().sum() > 0 for n, g in grads.items())
    for name, g in grads.items():
        torch.testing.assert_close(g, grads_ref[name], rtol=1e-4,
                                   atol=1e-5 * float(grads_ref[name].abs().max()), msg=name)
