"""Training step time and peak RSS per mode, against full-graph LoRA measured in the same run.

Modes (each in its own subprocess, so that peak RSS is its own):

* ``lora-last-N``     -- our default: LoRA on the last N encoder blocks + head
* ``unfreeze-last-N`` -- last N blocks fully trained + head
* ``head-only``       -- readouts only
* ``lora-all``        -- baseline, MultiCellPose-0.9-style: LoRA on every block, so gradients
                         (and activations) go through the whole encoder

A step = forward + loss + backward + AdamW on a (batch, 3, bsize, bsize) batch in training
mode, fp32 on CPU, exactly the trainer's loss. Random weights (no downloads).

Usage::

    python benchmarks/bench_train_step.py [--backbone tiny|vit_b|vit_l] [--steps 3]
                                          [--blocks 4] [--batch 2] [--threads 2]

Orientation from the issue (vit_l, batch 2, 256 px): LoRA-last-4 16.8 s / 4.4 GB per step,
LoRA all blocks 33.7 s / 13.6 GB. vit_b takes ~12 s per step on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def _one(backbone: str, mode: str, blocks: int, batch: int, bsize: int, steps: int,
         threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    from guv_app.services.engine.network import build_network
    from guv_app.services.training import adapt
    from guv_app.services.training.losses import compute_loss

    torch.manual_seed(0)
    net = build_network(backbone, 2, seed=0)
    kind, n = {"lora-last": ("lora", blocks), "unfreeze-last": ("unfreeze", blocks),
               "head-only": ("head", 0), "lora-all": ("lora", 0)}[mode]
    net, _, chosen = adapt.prepare(net, kind, n, rank=8, alpha=16, dropout=0.0)
    net.train()
    counts = adapt.count(net)
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-4)
    x = torch.randn(batch, 3, bsize, bsize)
    flows = torch.randn(batch, 2, bsize, bsize).clamp(-1, 1)
    cellprob = (torch.rand(batch, bsize, bsize) > 0.5).float()
    classes = torch.randint(0, 3, (batch, bsize, bsize))
    times = []
    for i in range(steps + 1):  # first step is warm-up
        t0 = time.perf_counter()
        y = net(x)[0]
        loss = compute_loss(y, flows, cellprob, classes).total
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i:
            times.append(time.perf_counter() - t0)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"mode": mode, "blocks": chosen, "trainable": counts.trainable,
            "step_s": sorted(times)[len(times) // 2], "peak_rss_gb": peak_kb / 1024**2}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backbone", default="tiny", choices=["tiny", "vit_b", "vit_l"])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--blocks", type=int, default=4, help="N in last-N (tiny has 2: uses 1)")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--bsize", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--modes", default="lora-all,lora-last,unfreeze-last,head-only")
    ap.add_argument("--single", help=argparse.SUPPRESS)
    args = ap.parse_args()
    blocks = min(args.blocks, 1) if args.backbone == "tiny" else args.blocks
    if args.single:
        print(json.dumps(_one(args.backbone, args.single, blocks, args.batch, args.bsize,
                              args.steps, args.threads)))
        return
    results = []
    for mode in args.modes.split(","):
        cmd = [sys.executable, __file__, "--single", mode, "--backbone", args.backbone,
               "--steps", str(args.steps), "--blocks", str(args.blocks), "--batch",
               str(args.batch), "--bsize", str(args.bsize), "--threads", str(args.threads)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        r = results[-1]
        print(f"  measured {mode}: {r['step_s']:.3f} s", file=sys.stderr, flush=True)
    base = next((r for r in results if r["mode"] == "lora-all"), results[0])
    print(f"backbone {args.backbone}, batch {args.batch}, {args.bsize}px, {args.threads} "
          f"thread(s), median of {args.steps} steps; N = {blocks}; base = {base['mode']}")
    print(f"{'mode':<16}{'blocks':<14}{'trainable':>12}{'step s':>10}{'x base':>8}"
          f"{'peak GB':>9}{'x base':>8}")
    for r in results:
        label = r["mode"] + (f"-{blocks}" if r["mode"].endswith("last") else "")
        blk = f"{r['blocks'][0]}..{r['blocks'][-1]}" if r["blocks"] else "-"
        print(f"{label:<16}{blk:<14}{r['trainable']:>12,}{r['step_s']:>10.3f}"
              f"{r['step_s'] / base['step_s']:>8.2f}{r['peak_rss_gb']:>9.2f}"
              f"{r['peak_rss_gb'] / base['peak_rss_gb']:>8.2f}")


if __name__ == "__main__":
    main()
