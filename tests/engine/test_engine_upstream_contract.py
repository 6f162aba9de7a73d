"""What we rely on in the installed cellpose and segment_anything, checked loudly.

The engine subclasses ``cellpose.vit.CPSAM`` and SAM's ``Attention``; when an upgrade
changes any of the behaviours below, this file fails with a message naming it, instead of
the network silently computing something else.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from guv_app.services.engine.network import (
    MultiClassCPSAM,
    build_network,
    cpsam_encoder,
    sam_encoder,
)


def _shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def test_cpsam_constructor_and_attributes_are_what_we_subclass():
    from cellpose.vit import CPSAM

    params = list(inspect.signature(CPSAM.__init__).parameters)
    assert params[:6] == ["self", "ps", "nout", "bsize", "rdrop", "dtype"], \
        f"cellpose.vit.CPSAM.__init__ changed: {params}"
    with torch.device("meta"):
        up = CPSAM(ps=8, nout=3, bsize=256)
    for name in ("encoder", "out", "W2", "ps", "nout", "rdrop", "diam_mean", "diam_labels"):
        assert hasattr(up, name), f"CPSAM no longer has {name!r}"
    assert up.out.kernel_size == (1, 1) and up.out.out_channels == 3 * 8**2
    assert tuple(up.W2.shape) == (3 * 64, 3, 8, 8) and not up.W2.requires_grad


def test_our_encoder_geometry_is_upstreams_for_vit_l():
    """cpsam_encoder applied to SAM's vit_l equals what CPSAM.__init__ builds, shape for
    shape, with the same patch stride and global attention in every block."""
    from cellpose.vit import CPSAM

    with torch.device("meta"):
        up = CPSAM(ps=8, nout=3, bsize=256)
        ours = cpsam_encoder(sam_encoder("vit_l"), ps=8, bsize=256)
        net = MultiClassCPSAM("vit_l", n_classes=0)
    assert _shapes(ours) == _shapes(up.encoder), "CPSAM's encoder geometry changed"
    assert ours.patch_embed.proj.stride == up.encoder.patch_embed.proj.stride == (8, 8)
    assert [b.window_size for b in ours.blocks] == [b.window_size for b in up.encoder.blocks]
    assert _shapes(net) == _shapes(up), "our vit_l network no longer matches upstream's keys"


def test_upstream_forward_runs_the_neck_once_and_returns_flows_and_style():
    """The class head reads the neck's output during CPSAM.forward: one call per forward."""
    net = build_network("tiny", 0)
    calls = []
    handle = net.encoder.neck.register_forward_hook(lambda m, i, o: calls.append(o.shape))
    try:
        with torch.inference_mode():
            y, style = net(torch.zeros(1, 3, 256, 256))
    finally:
        handle.remove()
    assert len(calls) == 1, f"CPSAM.forward ran the neck {len(calls)} times"
    assert tuple(y.shape) == (1, 3, 256, 256) and tuple(style.shape) == (1, 256)
    classes = build_network("tiny", 2)
    with torch.inference_mode():
        y2, _ = classes(torch.zeros(1, 3, 256, 256))
    assert tuple(y2.shape) == (1, 3 + 3, 256, 256)


def test_sam_attention_has_what_fast_attention_reuses():
    from segment_anything.modeling.image_encoder import Attention, get_rel_pos

    params = list(inspect.signature(Attention.__init__).parameters)
    for name in ("dim", "num_heads", "qkv_bias", "use_rel_pos", "input_size"):
        assert name in params, f"segment_anything Attention lost argument {name!r}"
    attn = Attention(16, 2, qkv_bias=True, use_rel_pos=True, input_size=(4, 4))
    for name in ("qkv", "proj", "num_heads", "scale", "use_rel_pos", "rel_pos_h", "rel_pos_w"):
        assert hasattr(attn, name), f"segment_anything Attention lost {name!r}"
    assert tuple(get_rel_pos(4, 4, attn.rel_pos_h).shape) == (4, 4, 8)


def test_public_mask_ious_matches_objects_one_to_one():
    from cellpose.metrics import mask_ious

    true = np.zeros((8, 8), np.uint16)
    true[:4, :4], true[4:, 4:] = 1, 2
    pred = np.zeros_like(true)
    pred[4:, 4:], pred[:4, :3] = 1, 2  # swapped ids; object 1 found with IoU 0.75
    iou, ids = mask_ious(true, pred)
    assert ids.tolist() == [2, 1]
    np.testing.assert_allclose(iou, [0.75, 1.0])


@pytest.mark.parametrize("backbone", ["tiny"])
def test_saved_state_dict_loads_into_upstream_cpsam_as_a_flows_model(backbone):
    """Our class-free state dict has exactly upstream CPSAM's keys (for the same encoder)."""
    net = build_network(backbone, 0)
    keys = set(net.state_dict())
    assert {"W2", "out.weight", "out.bias", "diam_mean", "diam_labels"} <= keys
    assert not any(k.startswith("class_") for k in keys)


UPSTREAM_FUNCTIONS = [  # (module, function, parameters we pass by name or position)
    ("cellpose.core", "run_net", ["net", "imgi", "batch_size", "bsize", "tile_overlap", "rsz"]),
    ("cellpose.transforms", "get_pad_yx", ["Ly", "Lx", "min_size"]),
    ("cellpose.transforms", "normalize_img", ["img", "normalize", "norm3D"]),
    ("cellpose.transforms", "resize_image", ["img0", "Ly", "Lx"]),
    ("cellpose.dynamics", "get_masks_torch", ["pt", "inds", "shape0", "max_size_fraction"]),
    ("cellpose.dynamics", "labels_to_flows", ["labels", "device"]),
    ("cellpose.utils", "fill_holes_and_remove_small_masks", ["masks", "min_size"]),
    ("cellpose.metrics", "average_precision", ["masks_true", "masks_pred", "threshold"]),
    ("cellpose.metrics", "mask_ious", ["masks_true", "masks_pred"]),
]


@pytest.mark.parametrize(("module", "name", "params"), UPSTREAM_FUNCTIONS,
                         ids=[f"{m}.{n}" for m, n, _ in UPSTREAM_FUNCTIONS])
def test_upstream_functions_we_call_keep_their_parameters(module, name, params):
    import importlib

    fn = getattr(importlib.import_module(module), name, None)
    assert fn is not None, f"{module}.{name} is gone"
    have = list(inspect.signature(fn).parameters)
    missing = [p for p in params if p not in have]
    assert not missing, f"{module}.{name} lost parameter(s) {missing}: now {have}"
