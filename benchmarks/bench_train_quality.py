"""Fine-tune the tiny backbone on DSB2018 for a fixed wall-clock budget; AP@0.5 held out.

Reads ``../shared/data/labelled/dsb2018`` (images/ + masks/, read-only), splits it by file
with a fixed seed, trains through the same service as the GUI/CLI (``train_network``) until
the time budget is spent (the cancel flag stops it within one step), then segments the
held-out images with the in-memory model through the engine's ``segment`` and prints AP at
IoU 0.5/0.75/0.9 beside the untrained starting network's, measured in the same run.

    python benchmarks/bench_train_quality.py [--budget-s 480] [--mode unfreeze] [--blocks 0]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "labelled" / "dsb2018"


def _ap_without_flow_check(net, meta, samples) -> list[float]:
    """Mean AP with ``flow_threshold=0`` (flows not yet good enough for the check)."""
    import numpy as np
    import torch
    from cellpose.metrics import average_precision

    from guv_app.services.engine.inference import SegmentParams, segment
    from guv_app.services.engine.loading import LoadedModel

    model = LoadedModel(net=net.eval(), meta=meta, device=torch.device("cpu"))
    params = SegmentParams(channels=[0, 1, 2], normalize=False, flow_threshold=0.0,
                           device="cpu")
    pred = [segment(s.image, model, params).masks for s in samples]
    ap = average_precision([s.masks for s in samples], pred, threshold=[0.5, 0.75, 0.9])[0]
    return [float(v) for v in np.mean(ap, axis=0)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA if DATA.is_dir()
                    else Path("/work/shared/data/labelled/dsb2018"))
    ap.add_argument("--budget-s", type=float, default=480.0)
    ap.add_argument("--mode", default="unfreeze", choices=["lora", "unfreeze", "head"])
    ap.add_argument("--blocks", type=int, default=0, help="last N blocks (0 = all)")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--val-ratio", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    os.environ.setdefault("MULTICELLPOSE_HOME", tempfile.mkdtemp(prefix="mcp_bench_"))
    import torch

    torch.set_num_threads(args.threads)
    from guv_app.services.datasets import DatasetOptions, build_training_set
    from guv_app.services.engine.network import build_network
    from guv_app.services.training.config import TrainConfig
    from guv_app.services.training.runner import evaluate_samples
    from guv_app.services.training.save import merge_in_place
    from guv_app.services.training.trainer import train_network, validate

    t0 = time.perf_counter()
    ts = build_training_set(args.data / "images", DatasetOptions(
        mask_dir=args.data / "masks", mask_filter="", test_ratio=args.val_ratio,
        seed=args.seed))
    print(f"data: {len(ts.train)} train / {len(ts.val)} held-out regions from {args.data} "
          f"({time.perf_counter() - t0:.1f} s incl. flows)")
    from guv_app.services.engine.meta import ModelMeta

    meta = ModelMeta(name="bench", backbone="tiny")
    names = ["background"]
    start = evaluate_samples(build_network("tiny", 0), meta, ts.val, names, "cpu")

    config = TrainConfig(base_model="tiny", model_name="bench", mode=args.mode,
                         blocks=args.blocks, epochs=10_000, batch_size=2, learning_rate=args.lr,
                         validate_every=10_000, checkpoint_every=10_000, device="cpu",
                         seed=args.seed, warmup_steps=20)
    cancel = threading.Event()
    timer = threading.Timer(args.budget_s, cancel.set)
    timer.start()
    with tempfile.TemporaryDirectory() as run_dir:
        result = train_network(build_network("tiny", 0), ts, config, run_dir, cancel=cancel)
    timer.cancel()
    net = merge_in_place(result.net)
    end = evaluate_samples(net, meta, ts.val, names, "cpu")
    loose = _ap_without_flow_check(net, meta, ts.val)
    pixel = validate(net, ts.val, config, torch.device("cpu"))[1]
    print(f"trained {result.steps_done} steps ({result.epochs_done} epochs) in "
          f"{result.elapsed_s:.0f} s, mode {args.mode}, {result.counts.summary()}")
    print(f"{'':<27}{'AP@0.5':>8}{'AP@0.75':>9}{'AP@0.9':>8}")
    for label, m in (("untrained tiny", start), ("fine-tuned tiny", end)):
        print(f"{label:<27}" + "".join(f"{v:>8.3f} " for v in m.mean_ap))
    print(f"{'fine-tuned, no flow check':<27}" + "".join(f"{v:>8.3f} " for v in loose))
    print(f"held-out foreground pixels: F1 {pixel.f1:.3f}, IoU {pixel.iou:.3f}")
    for s in end.per_image:
        print(f"  {s.image}: true {s.n_true}, predicted {s.n_pred}, AP@0.5 {s.ap[0]:.3f}")


if __name__ == "__main__":
    main()
