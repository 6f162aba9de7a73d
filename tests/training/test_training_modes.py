"""Each training mode lowers the loss on real images; LoRA/unfreeze touch only the last N blocks."""

from __future__ import annotations

import pytest
import torch
from tr_helpers import fast_config

from guv_app.services.training.trainer import train_network, validate


def _fixed_loss(net, samples, config):
    return validate(net, samples, config, torch.device("cpu"))[0]


@pytest.mark.parametrize("mode", ["lora", "unfreeze", "head"])
def test_a_few_steps_lower_the_loss(mode, tiny_set, tiny_net, tmp_path):
    config = fast_config(mode=mode, epochs=6, rotate=False, scale_range=0.0)
    before = _fixed_loss(tiny_net, tiny_set.train, config)
    result = train_network(tiny_net, tiny_set, config, tmp_path)
    after = _fixed_loss(result.net, tiny_set.train, config)
    assert after < 0.9 * before, (mode, before, after)
    assert result.steps_done == 6 and len(result.rows) == 6
    counts = result.counts
    assert counts.head > 0 and counts.trainable == counts.head + counts.lora + counts.blocks
    assert (counts.lora > 0) == (mode == "lora") and (counts.blocks > 0) == (mode == "unfreeze")


def _block_state(net, i):
    prefix = f"encoder.blocks.{i}."
    return {k.replace(".base_layer", ""): v.clone() for k, v in net.state_dict().items()
            if k.startswith(prefix) and "lora_" not in k}


def _non_block_encoder(net):
    return {k: v.clone() for k, v in net.state_dict().items()
            if k.startswith("encoder.") and not k.startswith("encoder.blocks.")}


@pytest.mark.parametrize("mode", ["lora", "unfreeze"])
def test_only_the_last_block_changes(mode, tiny_set, tiny_net, tmp_path):
    from guv_app.services.engine.lora import merge_lora

    first, last = _block_state(tiny_net, 0), _block_state(tiny_net, 1)
    rest = _non_block_encoder(tiny_net)
    result = train_network(tiny_net, tiny_set, fast_config(mode=mode, blocks=1), tmp_path)
    net = result.net
    if mode == "lora":
        lora_b = [v for k, v in net.state_dict().items() if "lora_B" in k]
        assert lora_b and all(k.startswith("encoder.blocks.1.")
                              for k in net.state_dict() if "lora_" in k)
        assert any(v.abs().sum() > 0 for v in lora_b)
        assert all(torch.equal(v, _block_state(net, 1)[k]) for k, v in last.items())
        net = merge_lora(net)
    for k, v in first.items():
        assert torch.equal(v, _block_state(net, 0)[k]), k
    for k, v in _non_block_encoder(net).items():
        assert torch.equal(v, rest[k]), k
    changed = [k for k, v in _block_state(net, 1).items() if not torch.equal(v, last[k])]
    assert any("attn.qkv" in k for k in changed) and any("mlp.lin2" in k for k in changed)
