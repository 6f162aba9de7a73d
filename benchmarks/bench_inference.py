"""Inference speed: our ``segment`` vs upstream ``CellposeModel.eval``, same weights, one run.

Both sides get the same weights (random, ``tiny`` seeded and ``vit_b``; the upstream side a
copy running ``segment_anything``'s own attention, ours ``engine.attention.FastAttention``) and
the same 512x512 image (tests/data/labelled/stardist/img2d.tif, 3-channel as our
``prepare_image`` builds it), with Cellpose's defaults (flow check 0.4, tiles of 256 with 10%
overlap). Random weights give thousands of tiny candidate objects (or none), unlike a
trained model; ``tiny-fit`` is the tiny network with its flows readout fitted by least squares
to the image's own labels (mask2d.tif), which gives cell-like outputs (~140 candidate
objects) so the post-processing cost is that of a realistic image. Runs alternate between the two to share whatever load the machine has; the median
is reported, plus the ratio ours/upstream (goal <= 0.7) and whether the masks are identical.

    python benchmarks/bench_inference.py [--backbones tiny,vit_b] [--repeats 3]
        [--device cpu] [--threads N] [--image PATH] [--upstream-attention]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_IMAGE = ROOT / "tests" / "data" / "labelled" / "stardist" / "img2d.tif"


def _upstream_model(net, device):
    """An upstream CellposeModel around a copy of our network (no weights download).

    The copy has the same weights but ``segment_anything``'s own attention forward, so the
    upstream side runs upstream's network code.
    """
    import copy

    from cellpose.models import CellposeModel

    from guv_app.services.engine.attention import use_fast_attention

    net = copy.deepcopy(net)
    use_fast_attention(net, False)
    model = CellposeModel.__new__(CellposeModel)
    model.device, model.gpu, model.backbone, model.net = device, device.type != "cpu", "sam_vitl", net
    return model


def fit_readout(net, image: np.ndarray, labels: np.ndarray) -> None:
    """Least-squares fit of the flows/cellprob readout (``out``) to ``labels``' flows.

    Benchmark-only: a cheap way to make a random encoder produce cell-like outputs.
    """
    import fastremap
    import torch
    from cellpose import dynamics, transforms

    from guv_app.services.engine.inference import prepare_image

    labels = fastremap.renumber(np.ascontiguousarray(labels))[0]
    x = transforms.normalize_img(prepare_image(image, None)[None], normalize=True)[0]
    mu = dynamics.masks_to_flows_gpu(labels.astype(np.int64))[0]
    target = np.concatenate([5 * mu, np.where(labels > 0, 4.0, -4.0)[None]]).astype(np.float32)
    starts = [(y, x0) for y in range(0, 257, 128) for x0 in range(0, 257, 128)]
    tiles = np.stack([x[y:y + 256, x0:x0 + 256].transpose(2, 0, 1) for y, x0 in starts])
    targets = np.stack([target[:, y:y + 256, x0:x0 + 256] for y, x0 in starts])
    feats = []
    hook = net.encoder.neck.register_forward_hook(lambda m, i, o: feats.append(o.detach()))
    with torch.no_grad():
        net(torch.from_numpy(tiles).to(net.out.weight.device))
    hook.remove()
    f = feats[0].cpu().numpy()
    n = len(tiles)
    design = f.transpose(0, 2, 3, 1).reshape(-1, f.shape[1])
    design = np.concatenate([design, np.ones((len(design), 1), np.float32)], axis=1)
    t = targets.reshape(n, 3, 32, 8, 32, 8).transpose(0, 2, 4, 1, 3, 5).reshape(n * 1024, 192)
    w = np.linalg.solve(design.T @ design + 1e-2 * np.eye(design.shape[1]), design.T @ t)
    with torch.no_grad():
        net.out.weight.copy_(torch.from_numpy(w[:-1].T.copy()).reshape(net.out.weight.shape))
        net.out.bias.copy_(torch.from_numpy(w[-1].copy()))


def bench(backbone: str, image: np.ndarray, repeats: int, device, labels=None,
          fast_attention: bool = True) -> dict:
    import torch

    from guv_app.services.engine.inference import SegmentParams, prepare_image, run_network, segment
    from guv_app.services.engine.loading import LoadedModel
    from guv_app.services.engine.meta import ModelMeta
    from guv_app.services.engine.network import build_network

    fitted = backbone.endswith("-fit")
    backbone = backbone.removesuffix("-fit")
    net = build_network(backbone, 0, seed=0).to(device)
    if fitted:
        fit_readout(net, image, labels)
    loaded = LoadedModel(net=net, meta=ModelMeta(name=backbone, backbone=backbone), device=device)
    upstream = _upstream_model(net, device)
    if not fast_attention:  # "before" numbers: our pipeline with upstream's attention
        from guv_app.services.engine.attention import use_fast_attention

        use_fast_attention(net, False)
    x = prepare_image(image, None)
    # both sides float32: the network is float32 here, and upstream's eval runs it as it is
    params = SegmentParams(dtype="float32")

    def ours():
        return segment(image, loaded, params).masks

    def theirs():
        return upstream.eval(x, channel_axis=2)[0]

    def network_only():
        return run_network(image, loaded, params)

    # warm-up (first-call allocations, lazy imports), also gives the masks to compare
    r_ours = segment(image, loaded, params)
    m_theirs, f_theirs = upstream.eval(x, channel_axis=2)[:2]
    m_ours = r_ours.masks
    flow_diff = max(float(np.abs(r_ours.flows - f_theirs[1]).max()),
                    float(np.abs(r_ours.cellprob - f_theirs[2]).max()))
    if device.type == "cuda":
        torch.cuda.synchronize()
    t_ours, t_theirs, t_net = [], [], []
    for _ in range(repeats):
        for fn, store in ((theirs, t_theirs), (ours, t_ours), (network_only, t_net)):
            tic = time.perf_counter()
            fn()
            if device.type == "cuda":
                torch.cuda.synchronize()
            store.append(time.perf_counter() - tic)
    unchecked = segment(image, loaded, SegmentParams(flow_threshold=0.0, dtype="float32")).masks
    return {
        "backbone": backbone + ("-fit" if fitted else ""),
        "ours_s": statistics.median(t_ours),
        "upstream_s": statistics.median(t_theirs),
        "network_s": statistics.median(t_net),
        "same_masks": bool(np.array_equal(m_ours, m_theirs)),
        "flow_diff": flow_diff,
        "objects": int(m_ours.max()),
        "objects_before_check": int(unchecked.max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", default="tiny,tiny-fit,vit_b")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    parser.add_argument("--upstream-attention", action="store_true",
                        help="run our side with segment_anything's attention (before/after)")
    args = parser.parse_args()

    import tifffile
    import torch

    from guv_app.services.engine.loading import resolve_device

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    image = tifffile.imread(args.image)
    labels_path = args.image.with_name("mask2d.tif")
    labels = tifffile.imread(labels_path) if labels_path.exists() else None
    print(f"image {args.image.name} {image.shape}, device {device}, "
          f"torch threads {torch.get_num_threads()}, repeats {args.repeats}")
    print(f"{'backbone':8} {'ours s':>8} {'upstream s':>10} {'ratio':>6} {'net s':>7} "
          f"{'post ours':>9} {'post up':>8} {'same':>5} {'max|dflow|':>10} objects(before check)")
    for backbone in args.backbones.split(","):
        r = bench(backbone.strip(), image, args.repeats, device, labels,
                  fast_attention=not args.upstream_attention)
        ratio = r["ours_s"] / r["upstream_s"]
        print(f"{r['backbone']:8} {r['ours_s']:8.2f} {r['upstream_s']:10.2f} {ratio:6.2f} "
              f"{r['network_s']:7.2f} {r['ours_s'] - r['network_s']:9.2f} "
              f"{r['upstream_s'] - r['network_s']:8.2f} {str(r['same_masks']):>5} {r['flow_diff']:10.1e} "
              f"{r['objects']}({r['objects_before_check']})", flush=True)


if __name__ == "__main__":
    main()
