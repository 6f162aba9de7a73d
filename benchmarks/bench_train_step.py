"""Training step time, crops/s and peak RSS per configuration, against a plain PyTorch step
and upstream ``cellpose.train.train_seg`` measured in the same interleaved run.

Configurations (each run in its own fresh subprocess, so that its peak RSS is its own; the
configurations are run in turn, ``--rounds`` times, so that a change in machine load hits
them all alike; the step time of a configuration is the median over its rounds):

* ``plain-last-N``    -- the floor: plain PyTorch on upstream's network (``cellpose.vit.CPSAM``
                         for vit_l; upstream attention), the last N blocks + readout
                         unfrozen, AdamW, upstream's loss (``train._loss_fn_seg``)
* ``train_seg``       -- upstream ``cellpose.train.train_seg`` itself (whole network trained,
                         its own batches and augmentation); its step is the time between two
                         consecutive forward calls (a forward pre-hook stamps them)
* ``lora-last-N``     -- our default as the trainer runs it: LoRA on the last N blocks +
                         readouts, frozen prefix without autograd (``training.memory``)
* ``lora-last-N-ckpt``-- the same with activation checkpointing (``--checkpointing``)
* ``lora-last-N-graph``-- LoRA without the memory plan (how the step ran before)
* ``unfreeze-last-N``, ``head-only``, ``lora-all`` -- the other modes (memory plan on)

A step = forward + loss + backward + AdamW on a (batch, 3, bsize, bsize) batch in training
mode, fp32 on CPU. Random weights (no downloads); our side has a 2-class head.

Usage::

    python benchmarks/bench_train_step.py [--backbone tiny|vit_b|vit_l] [--rounds 3]
        [--steps 1] [--blocks 4] [--batch 2] [--threads 2] [--modes a,b,...]

Orientation from issue 18 (vit_l, batch 2, 256 px, quiet 2-core machine): LoRA-last-4
16.8 s / 4.4 GB, train_seg 66.7 s / 11.6 GB, plain PyTorch last-4 ~21.8 s / 3.28 GB.
Peak RSS measured here (vit_l, batch 2; not affected by machine load): plain-last-4 4.12 GB,
lora-last-4 before the memory plan (``-graph``) 3.76 GB, lora-last-4 3.22 GB, with
checkpointing 2.68 GB (a process that has imported torch and holds vit_l is ~1.9 GB).
Quiet-machine run for vit_l: ``--backbone vit_l --rounds 3 --steps 1`` (~20 min; train_seg
needs ~12 GB of free memory, leave it out with ``--modes`` otherwise).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time

DEFAULT_MODES = "plain-last,train_seg,lora-last,lora-last-ckpt,lora-last-graph"


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _batch(batch: int, bsize: int):
    import torch

    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, bsize, bsize, generator=g)
    flows = torch.randn(batch, 2, bsize, bsize, generator=g).clamp(-1, 1)
    cellprob = (torch.rand(batch, bsize, bsize, generator=g) > 0.5).float()
    classes = torch.randint(0, 3, (batch, bsize, bsize), generator=g)
    return x, flows, cellprob, classes


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


CPU_TIMES: list[float] = []  # CPU seconds of the timed steps (less sensitive to a busy machine)


def _timed_steps(step, steps: int) -> list[float]:
    times = []
    for i in range(steps + 1):  # the first step is warm-up
        t0, c0 = time.perf_counter(), _cpu_s()
        step()
        if i:
            times.append(time.perf_counter() - t0)
            CPU_TIMES.append(_cpu_s() - c0)
    return times


def _upstream_net(backbone: str):
    """Upstream's network: ``cellpose.vit.CPSAM`` for vit_l; for the smaller backbones our
    build with upstream's attention and no class head (the same modules)."""
    import torch

    torch.manual_seed(0)
    if backbone == "vit_l":
        from guv_app.services.engine.network import CPSAM

        return CPSAM(nout=3)
    from guv_app.services.engine.attention import use_fast_attention
    from guv_app.services.engine.network import build_network

    net = build_network(backbone, 0, seed=0)
    use_fast_attention(net, False)
    return net


def _plain(backbone: str, blocks: int, batch: int, bsize: int, steps: int) -> dict:
    import torch
    from cellpose.train import _loss_fn_seg

    net = _upstream_net(backbone)
    for p in net.parameters():
        p.requires_grad_(False)
    depth = len(net.encoder.blocks)
    for blk in net.encoder.blocks[depth - blocks:]:
        blk.requires_grad_(True)
    net.out.requires_grad_(True)
    net.train()
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-4)
    x, flows, cellprob, _ = _batch(batch, bsize)
    lbl = torch.cat((cellprob[:, None], flows), dim=1)

    def step() -> None:
        loss = _loss_fn_seg(lbl, net(x)[0], x.device)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    times = _timed_steps(step, steps)
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    return {"blocks": list(range(depth - blocks, depth)), "trainable": trainable,
            "times": times}


def _train_seg(backbone: str, batch: int, bsize: int, steps: int) -> dict:
    """Upstream ``train_seg`` on synthetic disc images; step = time between forwards."""
    import numpy as np
    from cellpose import train
    from synthetic import disc_grid

    net = _upstream_net(backbone)
    if backbone != "vit_l":  # attributes train_seg reads from upstream's CPSAM
        net.backbone = "sam_vitl"  # upstream only accepts its own 256 px crops this way
    stamps: list[float] = []
    net.register_forward_pre_hook(lambda *_: stamps.append(time.perf_counter()))
    n_img = batch * (steps + 2)  # forwards k..k+1 bound step k; the first step is warm-up
    labels = [disc_grid(bsize, 16, seed=i).astype(np.uint16) for i in range(n_img)]
    rng = np.random.default_rng(0)
    images = [(lab > 0).astype(np.float32) * 200 + rng.normal(20, 5, lab.shape).astype(np.float32)
              for lab in labels]
    with tempfile.TemporaryDirectory() as out:
        train.train_seg(net, train_data=images, train_labels=labels, batch_size=batch,
                        n_epochs=1, learning_rate=1e-5, save_path=out, bsize=bsize,
                        nimg_per_epoch=n_img, min_train_masks=1, model_name="bench")
    times = list(np.diff(stamps))[1:]
    return {"blocks": list(range(len(net.encoder.blocks))),
            "trainable": sum(p.numel() for p in net.parameters() if p.requires_grad),
            "times": times}


def _ours(backbone: str, mode: str, blocks: int, batch: int, bsize: int, steps: int) -> dict:
    import contextlib

    import torch

    from guv_app.services.engine.network import build_network
    from guv_app.services.training import adapt
    from guv_app.services.training.losses import compute_loss
    from guv_app.services.training.memory import memory_saving

    kind, n = {"lora-last": ("lora", blocks), "lora-last-ckpt": ("lora", blocks),
               "lora-last-graph": ("lora", blocks), "unfreeze-last": ("unfreeze", blocks),
               "head-only": ("head", 0), "lora-all": ("lora", 0)}[mode]
    torch.manual_seed(0)
    net = build_network(backbone, 2, seed=0)
    net, _, chosen = adapt.prepare(net, kind, n, rank=8, alpha=16, dropout=0.0)
    net.train()
    counts = adapt.count(net)
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-4)
    x, flows, cellprob, classes = _batch(batch, bsize)

    def step() -> None:
        loss = compute_loss(net(x)[0], flows, cellprob, classes).total
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    plan = contextlib.nullcontext() if mode == "lora-last-graph" else \
        memory_saving(net, checkpointing=mode.endswith("-ckpt"))
    with plan:
        times = _timed_steps(step, steps)
    return {"blocks": chosen, "trainable": counts.trainable, "times": times}


def _one(backbone: str, mode: str, blocks: int, batch: int, bsize: int, steps: int,
         threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    if mode == "plain-last":
        r = _plain(backbone, blocks, batch, bsize, steps)
    elif mode == "train_seg":
        r = _train_seg(backbone, batch, bsize, steps)
    else:
        r = _ours(backbone, mode, blocks, batch, bsize, steps)
    r.update(mode=mode, step_s=statistics.median(r["times"]), peak_rss_gb=_peak_gb(),
             cpu_s=statistics.median(CPU_TIMES) if CPU_TIMES else None)
    return r


def _label(mode: str, blocks: int) -> str:
    for end in ("-ckpt", "-graph"):
        if mode.endswith(end):
            return f"{mode.removesuffix(end)}-{blocks}{end}"
    return f"{mode}-{blocks}" if mode.endswith("last") else mode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backbone", default="tiny", choices=["tiny", "vit_b", "vit_l"])
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (processes)")
    ap.add_argument("--steps", type=int, default=1, help="timed steps per process")
    ap.add_argument("--blocks", type=int, default=4, help="N in last-N (tiny has 2: uses 1)")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--bsize", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--modes", default=DEFAULT_MODES,
                    help=f"comma-separated (default {DEFAULT_MODES}; also unfreeze-last, "
                    "head-only, lora-all)")
    ap.add_argument("--single", help=argparse.SUPPRESS)
    args = ap.parse_args()
    blocks = min(args.blocks, 1) if args.backbone == "tiny" else args.blocks
    if args.single:
        print(json.dumps(_one(args.backbone, args.single, blocks, args.batch, args.bsize,
                              args.steps, args.threads)))
        return
    modes = args.modes.split(",")
    runs: dict[str, list[dict]] = {m: [] for m in modes}
    for rnd in range(args.rounds):
        for mode in modes:
            cmd = [sys.executable, __file__, "--single", mode, "--backbone", args.backbone,
                   "--steps", str(args.steps), "--blocks", str(args.blocks), "--batch",
                   str(args.batch), "--bsize", str(args.bsize), "--threads", str(args.threads)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if out.returncode:
                sys.exit(f"{mode} failed:\n{out.stderr[-3000:]}")
            runs[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))
            r = runs[mode][-1]
            print(f"  round {rnd + 1} {mode}: {r['step_s']:.3f} s, {r['peak_rss_gb']:.2f} GB",
                  file=sys.stderr, flush=True)
    res = {m: {"step_s": statistics.median(r["step_s"] for r in rs),
               "cpu_s": statistics.median(r["cpu_s"] for r in rs) if rs[0]["cpu_s"] else None,
               "peak": statistics.median(r["peak_rss_gb"] for r in rs),
               "blocks": rs[0]["blocks"], "trainable": rs[0]["trainable"]}
           for m, rs in runs.items()}
    plain, upstream = res.get("plain-last"), res.get("train_seg")
    print(f"backbone {args.backbone}, batch {args.batch} crops of {args.bsize} px, "
          f"{args.threads} thread(s), {args.rounds} interleaved round(s) x {args.steps} "
          f"step(s) (median); N = {blocks}")
    head = f"{'configuration':<22}{'blocks':<9}{'trainable':>12}{'step s':>9}{'crops/s':>9}"
    head += f"{'x plain':>9}" if plain else ""
    head += f"{'x train_seg':>12}" if upstream else ""
    head += f"{'peak GB':>9}" + (f"{'x plain':>9}" if plain else "")
    print(head)
    for m, r in res.items():
        blk = f"{r['blocks'][0]}..{r['blocks'][-1]}" if r["blocks"] else "-"
        line = (f"{_label(m, blocks):<22}{blk:<9}{r['trainable']:>12,}{r['step_s']:>9.3f}"
                f"{args.batch / r['step_s']:>9.3f}")
        line += f"{r['step_s'] / plain['step_s']:>9.2f}" if plain else ""
        line += f"{r['step_s'] / upstream['step_s']:>12.2f}" if upstream else ""
        line += f"{r['peak']:>9.2f}" + (f"{r['peak'] / plain['peak']:>9.2f}" if plain else "")
        print(line)
    cpu = {m: r["cpu_s"] for m, r in res.items() if r["cpu_s"]}
    if cpu:
        base = cpu.get("plain-last") or next(iter(cpu.values()))
        print("CPU seconds per step (user + sys; train_seg not counted): " + ", ".join(
            f"{_label(m, blocks)} {c:.1f} ({c / base:.2f}x)" for m, c in cpu.items()))
    if plain:
        ours = [m for m in ("lora-last", "lora-last-ckpt") if m in res]
        for m in ours:
            below = res[m]["peak"] < plain["peak"]
            print(f"{_label(m, blocks)}: peak RSS {res[m]['peak']:.2f} GB "
                  f"{'below' if below else 'NOT below'} the plain PyTorch floor "
                  f"{plain['peak']:.2f} GB")


if __name__ == "__main__":
    main()
