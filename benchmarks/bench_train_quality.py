"""Fine-tune from ``tiny`` and from ``nuclei-starter`` for the same budget; AP@0.5 held out.

Both start points get the same labelled data, the same settings and the same wall-clock
budget (the cancel flag stops training within one step), through the same service as the
GUI/CLI (``train_network``); the held-out images are then segmented by the engine's
``segment`` and scored with Cellpose's ``average_precision``. Measured in one run, so the
two rows are comparable on a loaded machine.

Data: ``../shared/data/labelled/dsb2018`` (read-only). By default the fine-tuning image and
the held-out image are the two fluorescence images the starter never saw (its held-out set,
see ``scripts/train_starter.py``): a user who labels one image of their own.

    python benchmarks/bench_train_quality.py [--budget-s 180] [--starts tiny,nuclei-starter]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "labelled" / "dsb2018"
FINETUNE = ("fluorescence_ff599c7301da",)
HELDOUT = ("fluorescence_02903040e19d",)  # also the bundled sample


def _folder(data: Path, stems, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for stem in stems:
        shutil.copyfile(data / "images" / f"{stem}.png", dst / f"{stem}.png")
        shutil.copyfile(data / "masks" / f"{stem}.tif", dst / f"{stem}_masks.tif")
    return dst


def _ap(net, meta, samples, flow_threshold: float = 0.4) -> list[float]:
    import numpy as np
    import torch
    from cellpose.metrics import average_precision

    from guv_app.services.engine.inference import SegmentParams, segment
    from guv_app.services.engine.loading import LoadedModel

    model = LoadedModel(net=net.eval(), meta=meta, device=torch.device("cpu"))
    params = SegmentParams(channels=[0, 1, 2], normalize=False, flow_threshold=flow_threshold,
                           device="cpu")
    pred = [segment(s.image, model, params).masks for s in samples]
    ap = average_precision([s.masks for s in samples], pred, threshold=[0.5, 0.75, 0.9])[0]
    return [float(v) for v in np.mean(ap, axis=0)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA if DATA.is_dir()
                    else Path("/work/shared/data/labelled/dsb2018"))
    ap.add_argument("--budget-s", type=float, default=180.0, help="training time per start")
    ap.add_argument("--starts", default="tiny,nuclei-starter")
    ap.add_argument("--mode", default="unfreeze", choices=["lora", "unfreeze", "head"])
    ap.add_argument("--blocks", type=int, default=0, help="last N blocks (0 = all)")
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    os.environ.setdefault("MULTICELLPOSE_HOME", tempfile.mkdtemp(prefix="mcp_bench_"))
    import torch

    torch.set_num_threads(args.threads)
    from guv_app.services.datasets import DatasetOptions, build_training_set
    from guv_app.services.engine.loading import load_model
    from guv_app.services.training.config import TrainConfig
    from guv_app.services.training.save import merge_in_place
    from guv_app.services.training.trainer import train_network

    work = Path(tempfile.mkdtemp(prefix="mcp_bench_quality_"))
    train_dir = _folder(args.data, FINETUNE, work / "train")
    held_dir = _folder(args.data, HELDOUT, work / "heldout")
    options = DatasetOptions(test_dir=held_dir, channels=[0], seed=args.seed)
    ts = build_training_set(train_dir, options)
    print(f"data: {len(ts.train)} fine-tuning region(s) ({', '.join(FINETUNE)}), "
          f"{len(ts.val)} held-out ({', '.join(HELDOUT)}), "
          f"{sum(s.n_objects for s in ts.val)} held-out objects; budget {args.budget_s:g} s "
          f"per start")
    rows = []
    for start in [s.strip() for s in args.starts.split(",") if s.strip()]:
        loaded = load_model(start, "cpu", cache=False)
        before = _ap(loaded.net, loaded.meta, ts.val)
        config = TrainConfig(base_model=start, model_name="bench", mode=args.mode,
                             blocks=args.blocks, epochs=10_000, batch_size=2,
                             learning_rate=args.lr, validate_every=10_000,
                             checkpoint_every=10_000, device="cpu", seed=args.seed,
                             warmup_steps=10)
        cancel = threading.Event()
        timer = threading.Timer(args.budget_s, cancel.set)
        timer.start()
        with tempfile.TemporaryDirectory() as run_dir:
            result = train_network(loaded.net, ts, config, run_dir, cancel=cancel)
        timer.cancel()
        net = merge_in_place(result.net)
        after = _ap(net, loaded.meta, ts.val)
        rows.append((start, before, after, result.steps_done))
    print(f"{'start':<16}{'steps':>7}{'AP@0.5 before':>15}{'AP@0.5 after':>14}"
          f"{'AP@0.75 after':>15}")
    for start, before, after, steps in rows:
        print(f"{start:<16}{steps:>7}{before[0]:>15.3f}{after[0]:>14.3f}{after[1]:>15.3f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
