"""The network: every backbone is upstream CPSAM; class head beside the standard readout."""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")

from guv_app.services.engine.network import (  # noqa: E402
    TINY_CONFIG,
    build_network,
    infer_architecture,
)


def _upstream_like(net):
    """Upstream ``cellpose.vit.CPSAM`` (built weightless) carrying ``net``'s encoder shape."""
    from cellpose.vit import CPSAM

    with torch.device("meta"):
        up = CPSAM(nout=3)
    up.encoder = copy.deepcopy(net.encoder)
    up.out = copy.deepcopy(net.out)
    up.W2 = copy.deepcopy(net.W2)
    up.diam_labels = copy.deepcopy(net.diam_labels)
    up.diam_mean = copy.deepcopy(net.diam_mean)
    assert not any(p.is_meta for p in up.parameters())
    return up.eval()


@pytest.fixture(scope="module")
def image_batch():
    gen = torch.Generator().manual_seed(3)
    return torch.rand((2, 3, 256, 256), generator=gen)


def test_tiny_is_the_same_network_every_time():
    a, b = build_network("tiny", 2), build_network("tiny", 2)
    other = build_network("tiny", 2, seed=11)
    assert a.state_dict().keys() == b.state_dict().keys()
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())
    assert not torch.equal(a.out.weight, other.out.weight)
    assert a.encoder.patch_embed.proj.weight.shape[0] == TINY_CONFIG["embed_dim"]
    assert len(a.encoder.blocks) == TINY_CONFIG["depth"]
    assert not a.training  # eval mode: rdrop would skip blocks at random


@pytest.mark.parametrize("n_classes,channels", [(0, 3), (1, 5), (3, 7)])
def test_readout_shapes(n_classes, channels, image_batch):
    net = build_network("tiny", n_classes)
    with torch.no_grad():
        y, style = net(image_batch[:, :, :256, :256])
    assert y.shape == (2, channels, 256, 256)
    assert style.shape == (2, 256)
    assert net.n_cls == (n_classes + 1 if n_classes else 0)
    assert hasattr(net, "class_out") == (n_classes > 0)


def test_zero_classes_is_upstream_cellpose_sam(image_batch):
    net = build_network("tiny", 0)
    up = _upstream_like(net)
    up.load_state_dict(net.state_dict(), strict=True)
    with torch.no_grad():
        ours, _ = net(image_batch)
        theirs, _ = up(image_batch)
    assert torch.equal(ours, theirs)


def test_class_model_file_loads_in_upstream_as_flows_model(tmp_path, image_batch):
    net = build_network("tiny", 2, seed=4)
    path = tmp_path / "model.pt"
    net.save_model(path)  # upstream's own save method
    up = _upstream_like(build_network("tiny", 0))  # different weights before loading
    up.load_model(path, device=torch.device("cpu"))  # upstream's own load path
    result = up.load_state_dict(torch.load(path, weights_only=True), strict=False)
    assert sorted(result.unexpected_keys) == ["class_W2", "class_out.bias", "class_out.weight"]
    assert result.missing_keys == []
    with torch.no_grad():
        ours, _ = net(image_batch)
        theirs, _ = up(image_batch)
    assert ours.shape[1] == 6
    assert torch.equal(ours[:, -3:], theirs)


def test_flows_readout_independent_of_class_head(image_batch):
    plain, multi = build_network("tiny", 0, seed=9), build_network("tiny", 4, seed=9)
    with torch.no_grad():
        assert torch.equal(plain(image_batch)[0], multi(image_batch)[0][:, -3:])


def test_vit_l_is_cellpose_sam_shaped():
    """Our vit_l has exactly upstream CPSAM's keys and shapes plus the class head."""
    from cellpose.vit import CPSAM

    with torch.device("meta"):
        ours = build_network("vit_l", 2)
        theirs = CPSAM()
        vit_b = build_network("vit_b", 0)
    mine = {k: v.shape for k, v in ours.state_dict().items() if not k.startswith("class_")}
    assert mine == {k: v.shape for k, v in theirs.state_dict().items()}
    assert ours.class_out.out_channels == 3 * 64 and ours.class_W2.shape == (192, 3, 8, 8)
    assert infer_architecture(ours.state_dict()) == ("vit_l", 2)
    n_vit_l = sum(p.numel() for p in theirs.parameters())
    assert 300e6 < n_vit_l < 310e6
    assert vit_b.encoder.patch_embed.proj.weight.shape[0] == 768
    assert len(vit_b.encoder.blocks) == 12
    assert vit_b.encoder.pos_embed.shape == (1, 32, 32, 768)
    assert all(blk.window_size == 0 for blk in vit_b.encoder.blocks)
    assert infer_architecture(vit_b.state_dict()) == ("vit_b", 0)


def test_unknown_backbone_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown backbone"):
        build_network("resnet", 0)
    with pytest.raises(ValueError, match="not a Cellpose-SAM"):
        infer_architecture({"foo": torch.zeros(1)})


def test_network_survives_deepcopy_and_pickle(image_batch):
    """Training keeps best-epoch copies and cluster workers receive pickled objects."""
    import io

    net = build_network("tiny", 2, seed=6)
    clone = copy.deepcopy(net)
    buf = io.BytesIO()
    torch.save(net, buf)
    buf.seek(0)
    unpickled = torch.load(buf, weights_only=False)
    with torch.no_grad():
        want = net(image_batch)[0]
        assert torch.equal(clone(image_batch)[0], want)
        assert torch.equal(unpickled(image_batch)[0], want)
    assert not net.encoder.neck._forward_hooks  # no hook left behind after a forward
