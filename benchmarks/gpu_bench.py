"""GPU figures for the README: Cellpose-SAM (vit_l) inference and a LoRA training step on
CUDA, MultiCellPose vs upstream Cellpose, in one run. Exits with a message (status 0,
nothing measured) when no CUDA device is present -- nothing in the product needs a GPU.

Inference (images/s, peak GPU memory): a 512x512 and a 2048x2048 image (the stardist test
image, tiled), batch of 8 tiles of 256 px, whole ``segment`` / ``CellposeModel.eval``
(normalisation, tiling, network, flow dynamics on the GPU):

* upstream default: ``CellposeModel(gpu=True, pretrained_model=FILE)`` (bfloat16 weights,
  segment_anything's attention);
* ours default: ``segment`` with ``load_model(FILE, "cuda", dtype="bfloat16")`` (bfloat16
  weights, fused ``scaled_dot_product_attention``);
* ours autocast: float32 weights under ``torch.autocast(bfloat16)``;
* both in float32.

Training (crops/s = batch / step time, peak GPU memory): one step = forward + loss +
backward + AdamW on a batch of ``--train-batch`` 256 px crops:

* upstream: ``train_seg``'s step -- every weight trained (AdamW, its loss
  ``train._loss_fn_seg``), float32 and under bfloat16 autocast;
* ours: LoRA (rank 8) on the last 4 encoder blocks + readout (the Trainer's default,
  ``training.adapt.prepare``), our loss, float32 and under bfloat16 autocast.

The weights are random (no hub) with the readout fitted to the image's labels so the flow
dynamics see cell-like outputs (``bench_inference.fit_readout``).

    python benchmarks/gpu_bench.py [--repeats 5] [--train-batch 8] [--sizes 512,2048]
        [--json results.json]

About 3-5 minutes on one recent GPU (most of it model building and the 2048 px images).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
IMAGE = ROOT / "tests" / "data" / "labelled" / "stardist" / "img2d.tif"
DEVICE = "cuda"


def cuda_or_exit(device: str = "cuda"):
    """The torch module when CUDA works (or ``device`` is "cpu", a slow check of this script
    itself); otherwise print why and exit(0)."""
    try:
        import torch
    except ImportError:
        print("gpu_bench: torch is not installed: nothing measured", file=sys.stderr)
        raise SystemExit(0) from None
    if device != "cpu" and not torch.cuda.is_available():
        build = torch.version.cuda or "a CPU-only build"
        print(f"gpu_bench: no CUDA device (torch {torch.__version__}, CUDA {build}): nothing "
              "measured. Run it on a machine with an NVIDIA GPU.", file=sys.stderr)
        raise SystemExit(0)
    return torch


def _sync_time(torch, fn, repeats: int) -> tuple[float, float]:
    """(median seconds per call after one warm-up, peak GPU memory GB of those calls; on
    the CPU check: the process's peak RSS)."""
    cuda = torch.cuda.is_available() and DEVICE != "cpu"
    fn()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        fn()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - tic)
    if cuda:
        return statistics.median(times), torch.cuda.max_memory_allocated() / 1e9
    import resource

    return statistics.median(times), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def _empty_cache(torch) -> None:
    if DEVICE != "cpu":
        torch.cuda.empty_cache()


def make_model(torch, path: Path) -> Path:
    import tifffile

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_inference import fit_readout

    from guv_app.services.engine.network import build_network

    net = build_network("vit_l", 0, seed=0, device=DEVICE)
    fit_readout(net, tifffile.imread(IMAGE), tifffile.imread(IMAGE.with_name("mask2d.tif")))
    torch.save({k: v.cpu() for k, v in net.state_dict().items()}, path)
    del net
    _empty_cache(torch)
    return path


def images(sizes: list[int]) -> dict[int, np.ndarray]:
    import tifffile

    base = tifffile.imread(IMAGE)
    out = {}
    for size in sizes:
        reps = -(-size // base.shape[0])
        out[size] = np.tile(base, (reps, reps))[:size, :size]
    return out


def inference(torch, model: Path, imgs: dict[int, np.ndarray], repeats: int) -> list[dict]:
    from cellpose.models import CellposeModel

    from guv_app.services.engine.inference import SegmentParams, prepare_image, segment
    from guv_app.services.engine.loading import clear_cache, load_model

    rows = []
    for label, dtype, ours_weights in (("default (bfloat16)", "bfloat16", "bfloat16"),
                                       ("autocast bfloat16", "bfloat16", "float32"),
                                       ("float32", "float32", "float32")):
        for size, image in imgs.items():
            clear_cache()
            _empty_cache(torch)
            loaded = load_model(str(model), DEVICE, dtype=ours_weights)
            params = SegmentParams(batch_size=8, dtype=dtype, device=DEVICE)
            s, gb = _sync_time(torch, partial(segment, image, loaded, params), repeats)
            rows.append({"task": f"inference {size}x{size}", "side": "ours", "mode": label,
                         "per_s": 1 / s, "unit": "images/s", "peak_gb": gb})
            del loaded
            clear_cache()
            if ours_weights != dtype:
                continue  # upstream has no autocast mode
            _empty_cache(torch)
            up = CellposeModel(device=torch.device(DEVICE), pretrained_model=str(model),
                               use_bfloat16=dtype == "bfloat16")
            x = prepare_image(image, None)
            s, gb = _sync_time(torch, partial(up.eval, x, channel_axis=2, batch_size=8),
                               repeats)
            rows.append({"task": f"inference {size}x{size}", "side": "upstream", "mode": label,
                         "per_s": 1 / s, "unit": "images/s", "peak_gb": gb})
            del up
    return rows


def training(torch, model: Path, batch: int, repeats: int) -> list[dict]:
    from cellpose import train as up_train
    from cellpose.models import CellposeModel

    from guv_app.services.engine.loading import load_model
    from guv_app.services.training import adapt
    from guv_app.services.training.losses import compute_loss

    gen = torch.Generator(device=DEVICE).manual_seed(0)
    x = torch.randn(batch, 3, 256, 256, device=DEVICE, generator=gen)
    flows = torch.randn(batch, 2, 256, 256, device=DEVICE, generator=gen).clamp(-1, 1)
    cellprob = (torch.rand(batch, 256, 256, device=DEVICE, generator=gen) > 0.5).float()
    classes = cellprob.long()
    lbl = torch.cat([cellprob[:, None], flows], dim=1)  # upstream: (cellprob, flowY, flowX)
    rows = []
    for side in ("ours", "upstream"):
        for autocast in (False, True):
            _empty_cache(torch)
            if side == "ours":
                net = load_model(str(model), "cpu", cache=False).net
                net, _, _ = adapt.prepare(net, "lora", 4, rank=8, alpha=16, dropout=0.0)
            else:  # upstream's own network (its attention), float32 weights as train_seg's
                net = CellposeModel(device=torch.device(DEVICE), pretrained_model=str(model),
                                    use_bfloat16=False).net
            net = net.to(DEVICE).train()
            opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad],
                                    lr=1e-5, weight_decay=0.1)

            def step(net=net, opt=opt, side=side, autocast=autocast):
                with torch.autocast(DEVICE, dtype=torch.bfloat16, enabled=autocast):
                    y = net(x)[0]
                    if side == "ours":
                        loss = compute_loss(y, flows, cellprob, classes).total
                    else:
                        loss = up_train._loss_fn_seg(lbl, y, torch.device(DEVICE))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

            s, gb = _sync_time(torch, step, repeats)
            mode = "autocast bfloat16" if autocast else "float32"
            rows.append({"task": "train step (256 px crops)", "side": side, "mode": mode,
                         "per_s": batch / s, "unit": "crops/s", "peak_gb": gb})
            del net, opt
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--train-batch", type=int, default=8)
    parser.add_argument("--sizes", default="512,2048")
    parser.add_argument("--no-train", action="store_true")
    parser.add_argument("--no-inference", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--device", default="cuda",
                        help="cuda (the figures) or cpu (a slow check that the script runs)")
    args = parser.parse_args()
    global DEVICE
    DEVICE = args.device
    torch = cuda_or_exit(DEVICE)
    name = torch.cuda.get_device_name(0) if DEVICE != "cpu" else "CPU (script check)"
    print(f"{name}, torch {torch.__version__}, CUDA {torch.version.cuda}; vit_l random "
          f"(readout fitted), median of {args.repeats}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        model = make_model(torch, Path(tmp) / "vit_l_fitted.pt")
        rows = [] if args.no_inference else inference(
            torch, model, images([int(s) for s in args.sizes.split(",")]), args.repeats)
        if not args.no_train:
            rows += training(torch, model, args.train_batch, args.repeats)
    print("train step: ours = LoRA r=8 on the last 4 blocks + readout; upstream = every "
          "weight (train_seg)")
    print(f"{'task':28} {'mode':19} {'side':9} {'rate':>9} {'unit':9} {'peak GPU GB':>11} "
          f"{'ours/upstream':>13}")
    for r in rows:
        other = next((o for o in rows if o["task"] == r["task"] and o["mode"] == r["mode"]
                      and o["side"] != r["side"]), None)
        ratio = (f"{r['per_s'] / other['per_s']:.2f}x rate" if other and r["side"] == "ours"
                 else "")
        print(f"{r['task']:28} {r['mode']:19} {r['side']:9} {r['per_s']:9.2f} {r['unit']:9} "
              f"{r['peak_gb']:11.2f} {ratio:>13}")
    if args.json:
        args.json.write_text(json.dumps({"device": name, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
