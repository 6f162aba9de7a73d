"""Cellpose-SAM with a multi-class readout: a subclass of upstream ``cellpose.vit.CPSAM``.

``vit_l`` is built by upstream's own ``CPSAM.__init__`` (exactly Cellpose-SAM); ``vit_b`` (SAM's
base encoder) and ``tiny`` (a 2-block, 64-wide encoder of the same class that runs on a laptop
CPU in seconds) are built by :func:`cpsam_encoder`, which applies to their SAM encoder the
geometry CPSAM gives vit_l (8 px patches, 256 px tiles, global attention) -- checked against
upstream's vit_l by ``tests/engine/test_engine_upstream_contract.py``, which fails when the
installed cellpose changes what we rely on. The forward pass, rdrop and the flows readout are
upstream's ``CPSAM.forward``. Attention modules are replaced by ``engine.attention.FastAttention``
(a subclass of SAM's ``Attention`` sharing its parameters: same maths, blocked on a CPU,
fused elsewhere; see that module).

The class head is a separate readout (``class_out`` conv + fixed ``class_W2`` unpatching
kernel) applied to the same neck features, caught with a forward hook on the neck held for
one call (PyTorch's public hook API; upstream's forward has no features entry point). The
standard ``out``/``W2`` readout keeps nout=3, so a saved state dict still loads into upstream
Cellpose as a plain flows model (the ``class_*`` keys are simply unexpected there), and with
``n_classes == 0`` the forward pass *is* upstream's.

Output of ``forward(x)``: ``(y, style)`` with ``y`` of shape (B, n_cls + 3, H, W):
``y[:, :-3]`` class logits (background first; absent when N == 0), ``y[:, -3]`` dY,
``y[:, -2]`` dX, ``y[:, -1]`` cellprob logit.
"""

from __future__ import annotations

import logging
import threading

import torch
import torch.nn.functional as F
from torch import nn

from guv_app.services.engine.attention import use_fast_attention
from guv_app.services.engine.meta import BACKBONES

TINY_SEED = 0  # the tiny backbone's weights are the same on every machine and every run

# SAM encoder hyper-parameters; vit_l/vit_b are segment_anything's own builders.
TINY_CONFIG = {"embed_dim": 64, "depth": 2, "num_heads": 2, "out_chans": 64}


def _import_cpsam():
    # cellpose.vit warns at import that the optional DINOv3 backbone is missing; we never
    # use it, so keep that line out of users' consoles.
    vit_log = logging.getLogger("cellpose.vit")
    level = vit_log.level
    vit_log.setLevel(logging.ERROR)
    try:
        from cellpose.vit import CPSAM, BaseModel
    finally:
        vit_log.setLevel(level)
    return BaseModel, CPSAM


BaseModel, CPSAM = _import_cpsam()


def _tiny_encoder() -> nn.Module:
    """The tiny backbone's SAM encoder, at SAM's native geometry (1024 px, 16 px patches) like
    every SAM encoder before :func:`cpsam_encoder`; every block uses global attention."""
    from segment_anything.modeling import ImageEncoderViT

    depth = TINY_CONFIG["depth"]
    return ImageEncoderViT(
        img_size=1024,
        patch_size=16,
        embed_dim=TINY_CONFIG["embed_dim"],
        depth=depth,
        num_heads=TINY_CONFIG["num_heads"],
        mlp_ratio=4.0,
        out_chans=TINY_CONFIG["out_chans"],
        qkv_bias=True,
        use_rel_pos=True,
        window_size=0,
        global_attn_indexes=tuple(range(depth)),
    )


def sam_encoder(backbone: str) -> nn.Module:
    """A fresh SAM image encoder of ``backbone`` at SAM's native geometry (random weights)."""
    if backbone == "tiny":
        return _tiny_encoder()
    from segment_anything import sam_model_registry

    return sam_model_registry[backbone](None).image_encoder


def cpsam_encoder(encoder: nn.Module, ps: int = 8, bsize: int = 256) -> nn.Module:
    """Give a native SAM encoder (16 px patches, 1024 px input) Cellpose-SAM's geometry, as
    ``CPSAM.__init__`` does for vit_l: ``ps`` px patches (the 16x16 patch kernel subsampled),
    position embeddings subsampled to ``bsize`` px tiles, global attention in every block.
    Modifies and returns ``encoder``."""
    w = encoder.patch_embed.proj.weight.detach()
    encoder.patch_embed.proj = nn.Conv2d(3, w.shape[0], stride=ps, kernel_size=ps)
    encoder.patch_embed.proj.weight.data = w[:, :, :: 16 // ps, :: 16 // ps]
    ds = (1024 // 16) // (bsize // ps)
    encoder.pos_embed = nn.Parameter(encoder.pos_embed[:, ::ds, ::ds], requires_grad=True)
    for blk in encoder.blocks:
        blk.window_size = 0
    return encoder


class MultiClassCPSAM(CPSAM):
    """Upstream CPSAM plus an optional class readout beside the flows readout."""

    def __init__(
        self,
        backbone: str = "vit_l",
        n_classes: int = 0,
        ps: int = 8,
        bsize: int = 256,
        rdrop: float = 0.4,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if backbone == "vit_l":
            super().__init__(ps=ps, nout=3, bsize=bsize, rdrop=rdrop, dtype=dtype)
        else:  # CPSAM's attributes, with another SAM encoder (see cpsam_encoder)
            BaseModel.__init__(self, dtype=dtype)
            self.rdrop = rdrop
            self.encoder = cpsam_encoder(sam_encoder(backbone).to(dtype), ps, bsize)
            feat_dim = self.encoder.neck[-2].weight.shape[0]
            self.out = nn.Conv2d(feat_dim, 3 * ps**2, kernel_size=1)
            self.W2 = nn.Parameter(torch.eye(3 * ps**2).reshape(3 * ps**2, 3, ps, ps),
                                   requires_grad=False)
            self.nout = 3
            self.ps = ps
        self.backbone = f"sam_{backbone.replace('_', '')}"
        self.arch = backbone
        self.bsize = bsize
        self.set_class_head(n_classes)
        use_fast_attention(self.encoder)  # same maths, faster (see engine.attention)
        self.to(dtype)

    def set_class_head(self, n_classes: int) -> None:
        """(Re)create the class readout for ``n_classes`` user classes (0 = none) with fresh
        weights, in place: the encoder and the flows readout are kept, not copied (giving a
        loaded vit_l a class head this way needs no second 1.2 GB network)."""
        if n_classes < 0:
            raise ValueError("n_classes must be >= 0")
        for name in ("class_out", "class_W2"):
            if hasattr(self, name):
                delattr(self, name)
        self.n_classes = int(n_classes)
        self.n_cls = self.n_classes + 1 if self.n_classes > 0 else 0
        if self.n_cls:
            ps, like = self.ps, self.out.weight
            feat_dim = self.out.in_channels
            self.class_out = nn.Conv2d(feat_dim, self.n_cls * ps**2, kernel_size=1)
            self.class_W2 = nn.Parameter(
                torch.eye(self.n_cls * ps**2).reshape(self.n_cls * ps**2, self.n_cls, ps, ps),
                requires_grad=False,
            )
            self.class_out.to(like.device, like.dtype)
            self.class_W2.data = self.class_W2.data.to(like.device, like.dtype)

    def forward(self, x: torch.Tensor):  # noqa: D401 - same contract as upstream
        if not self.n_cls:
            return super().forward(x)
        # Catch the neck's output during upstream's forward. The hook lives only for this
        # call (the module stays deep-copyable/picklable) and keeps only this thread's tensor.
        thread, captured = threading.get_ident(), []

        def keep(module, inputs, output):
            if threading.get_ident() == thread:
                captured.append(output)

        handle = self.encoder.neck.register_forward_hook(keep)
        try:
            y, style = super().forward(x)
        finally:
            handle.remove()
        feats = captured[-1]
        logits = F.conv_transpose2d(self.class_out(feats), self.class_W2, stride=self.ps, padding=0)
        return torch.cat((logits, y), dim=1), style

    def readout_keys(self) -> list[str]:
        """State-dict keys of the class head (absent from upstream checkpoints)."""
        return [k for k in self.state_dict() if k.startswith(("class_out.", "class_W2"))]


def build_network(
    backbone: str,
    n_classes: int,
    *,
    seed: int | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
    rdrop: float = 0.4,
    bsize: int = 256,
    ps: int = 8,
) -> nn.Module:
    """Build an untrained network (random weights) for ``backbone`` with N user classes.

    ``seed`` makes the initial weights reproducible; the ``tiny`` backbone defaults to
    ``TINY_SEED`` so it is the same network everywhere. The module is returned in eval mode
    (upstream builds in training mode, where rdrop randomly skips blocks); call ``.train()``
    to train. Builds on the current default device, so ``with torch.device("meta")`` gives a
    weightless skeleton for shape checks.
    """
    if backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {backbone!r} (expected one of {', '.join(BACKBONES)})")
    if n_classes < 0:
        raise ValueError("n_classes must be >= 0")
    if seed is None and backbone == "tiny":
        seed = TINY_SEED
    cls = MultiClassCPSAM
    if seed is None:
        net = cls(backbone, n_classes, ps=ps, bsize=bsize, rdrop=rdrop, dtype=dtype)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = cls(backbone, n_classes, ps=ps, bsize=bsize, rdrop=rdrop, dtype=dtype)
    if device is not None:
        net = net.to(device)
    return net.eval()


def infer_architecture(state_dict: dict) -> tuple[str, int]:
    """Backbone name and number of user classes of a saved state dict (ours or upstream's)."""
    key = "encoder.patch_embed.proj.weight"
    if key not in state_dict or "W2" not in state_dict:
        raise ValueError("not a Cellpose-SAM (CP4) state dict: no encoder patch embedding / W2")
    width = state_dict[key].shape[0]
    by_width = {1024: "vit_l", 768: "vit_b", TINY_CONFIG["embed_dim"]: "tiny"}
    if width not in by_width:
        raise ValueError(f"unknown encoder width {width} (expected 1024, 768 or 64)")
    n_classes = 0
    if "class_W2" in state_dict:
        n_classes = int(state_dict["class_W2"].shape[1]) - 1
    return by_width[width], n_classes
