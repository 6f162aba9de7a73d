"""Reproduce the packaged ``nuclei-starter`` model (``tiny`` backbone, fluorescence nuclei).

Trains with the project's own ``multicellpose train`` (no training code here) in chunks of
``--chunk-epochs`` epochs, each chunk starting from the previous one, so the run can be
stopped at any time and the best chunk so far (by AP@0.5 on the held-out images) is kept.
Each chunk's schedule warms up and decays again (a cosine restart).

Data (public, licences in /work/shared/data/SOURCES.md and guv_app/data/models/SOURCES.md):
DSB2018 fluorescence nuclei (BBBC038, CC0) + the stardist demo image (BSD-3, from DSB2018).
Held out (never trained on): the bundled sample ``fluorescence_02903040e19d`` and
``fluorescence_ff599c7301da``.

    nice -n 19 python scripts/train_starter.py --data /work/shared/data/labelled \
        --work /tmp/starter --chunk-epochs 40 --max-chunks 20 --stop-at 00:55
    python scripts/train_starter.py --work /tmp/starter --install   # best -> package

``--install`` writes ``guv_app/data/models/nuclei-starter/`` (weights.pt as a plain state
dict, meta.json with the training command, data and held-out AP).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STARTER = "nuclei-starter"
HELDOUT = ("fluorescence_02903040e19d", "fluorescence_ff599c7301da")
TRAIN_DSB = ("fluorescence_00071198d059", "fluorescence_573e1480b500",
             "fluorescence_ff3e512b5fb8", "fluorescence_10ba6cbee487",
             "fluorescence_ff3407842ada")


def prepare_data(src: Path, work: Path) -> tuple[Path, Path]:
    """Copy the images into ``train/`` and ``heldout/`` as ``<stem>.ext`` + ``<stem>_masks.tif``."""
    train, held = work / "data" / "train", work / "data" / "heldout"
    for folder in (train, held):
        folder.mkdir(parents=True, exist_ok=True)
    dsb = src / "dsb2018"
    for stem in TRAIN_DSB + HELDOUT:
        dst = held if stem in HELDOUT else train
        shutil.copyfile(dsb / "images" / f"{stem}.png", dst / f"{stem}.png")
        shutil.copyfile(dsb / "masks" / f"{stem}.tif", dst / f"{stem}_masks.tif")
    shutil.copyfile(src / "stardist" / "img2d.tif", train / "stardist_img2d.tif")
    shutil.copyfile(src / "stardist" / "mask2d.tif", train / "stardist_img2d_masks.tif")
    return train, held


def train_command(train: Path, held: Path, base: str, name: str, args) -> list[str]:
    return [sys.executable, "-m", "guv_app.cli.main", "train", "--train-dir", str(train),
            "--test-dir", str(held), "--base-model", base, "--model-name", name,
            "--mode", "unfreeze", "--blocks", "0", "--epochs", str(args.chunk_epochs),
            "--lr", str(args.lr), "--batch-size", str(args.batch_size),
            "--images-per-epoch", str(args.images_per_epoch), "--channels", "0",
            "--validate-every", str(args.chunk_epochs), "--seed", str(args.seed),
            "--device", "cpu", "--save-merged"]


def ap50(meta: dict) -> float:
    m = meta.get("metrics") or {}
    thresholds, mean_ap = m.get("thresholds") or [], m.get("mean_ap") or []
    for t, v in zip(thresholds, mean_ap, strict=False):
        if abs(float(t) - 0.5) < 1e-6:
            return float(v)
    return float("nan")


def run_chunks(args) -> None:
    work = Path(args.work)
    train, held = prepare_data(Path(args.data), work)
    env = dict(os.environ, MULTICELLPOSE_HOME=str(work / "home"),
               PYTHONPATH=str(REPO), MULTICELLPOSE_OFFLINE="1")
    log_path = work / "progress.json"
    log = json.loads(log_path.read_text()) if log_path.exists() else {"chunks": []}
    base = log["chunks"][-1]["name"] if log["chunks"] else "tiny"
    stop = _deadline(args.stop_at)
    for k in range(len(log["chunks"]), args.max_chunks):
        if stop is not None and time.time() > stop:
            print("deadline reached", flush=True)
            break
        name = f"starter-c{k:02d}"
        cmd = train_command(train, held, base, name, args)
        t0 = time.time()
        print(f"[{datetime.now():%H:%M:%S}] chunk {k}: {' '.join(cmd[1:])}", flush=True)
        done = subprocess.run(cmd, env=env, cwd=REPO)
        if done.returncode != 0:
            print(f"chunk {k} failed (exit {done.returncode})", flush=True)
            break
        meta = json.loads((work / "home" / "models" / name / "meta.json").read_text())
        entry = {"name": name, "base": base, "ap50": ap50(meta), "seconds": time.time() - t0,
                 "final_train_loss": meta["training"]["final_train_loss"]}
        log["chunks"].append(entry)
        best = max(log["chunks"], key=lambda c: -1 if c["ap50"] != c["ap50"] else c["ap50"])
        log["best"] = best["name"]
        log["command"] = " ".join(cmd[1:])
        log_path.write_text(json.dumps(log, indent=2))
        print(f"chunk {k}: AP@0.5 {entry['ap50']:.3f} (best {best['name']} "
              f"{best['ap50']:.3f})", flush=True)
        base = name


def _deadline(text: str | None) -> float | None:
    if not text:
        return None
    now = datetime.now()
    hh, mm = (int(v) for v in text.split(":"))
    target = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    if target < now:
        target = target.fromtimestamp(target.timestamp() + 86400)
    return target.timestamp()


def _state_of(work: Path, name: str, from_checkpoint: bool) -> tuple[dict, dict]:
    """(full state dict, meta.json of the run's model) of a finished chunk, or of the chunk
    still training (its last checkpoint laid over its base model)."""
    import torch

    from guv_app.services.engine.loading import load_model

    models = work / "home" / "models"
    if not from_checkpoint:
        meta = json.loads((models / name / "meta.json").read_text())
        return torch.load(models / name / "weights.pt", map_location="cpu",
                          weights_only=True), meta
    ckpt = torch.load(work / "home" / "runs" / name / "checkpoint.pt", map_location="cpu",
                      weights_only=False)
    base = ckpt["config"]["base_model"]
    net = load_model(base if base == "tiny" else str(models / base), "cpu", cache=False).net
    result = net.load_state_dict(ckpt["trainable"], strict=False)
    assert not result.unexpected_keys, result.unexpected_keys
    meta = (json.loads((models / base / "meta.json").read_text()) if base != "tiny" else
            {"backbone": "tiny", "channels": [0], "diam_mean": 30.0, "default_diameter": None,
             "training": {"config": ckpt["config"], "trainable_parameters": None},
             "dataset": {"diam_labels": None}, "versions": {}})
    meta["training"]["config"] = ckpt["config"]
    meta["checkpoint_step"] = ckpt["state"]["step"]
    return {k: v.detach().clone() for k, v in net.state_dict().items()}, meta


def heldout_scores(state: dict, data: Path) -> dict:
    """AP@0.5/0.75 and recall@0.5 (share of true nuclei found) per held-out image."""
    import numpy as np
    import tifffile
    import torch
    from cellpose.metrics import average_precision

    import cellpose_io
    from guv_app.services.engine.inference import SegmentParams, segment
    from guv_app.services.engine.loading import LoadedModel
    from guv_app.services.engine.meta import ModelMeta
    from guv_app.services.engine.network import build_network

    net = build_network("tiny", 0)
    net.load_state_dict(state)
    model = LoadedModel(net=net.eval(), meta=ModelMeta(name=STARTER, backbone="tiny",
                                                       channels=[0]),
                        device=torch.device("cpu"))
    out = {}
    for stem in HELDOUT:
        image = cellpose_io.read_image(data / "dsb2018" / "images" / f"{stem}.png").plane()
        true = tifffile.imread(data / "dsb2018" / "masks" / f"{stem}.tif")
        pred = segment(image, model, SegmentParams(device="cpu")).masks
        ap, tp, fp, fn = average_precision([true], [pred], threshold=[0.5, 0.75])
        out[stem] = {"ap50": float(ap[0, 0]), "ap75": float(ap[0, 1]),
                     "recall50": float(tp[0, 0] / max(1, tp[0, 0] + fn[0, 0])),
                     "n_true": int(true.max()), "n_pred": int(pred.max())}
    out["mean_ap50"] = float(np.mean([out[s]["ap50"] for s in HELDOUT]))
    return out


def install(args) -> Path:
    """Copy the best (or the given / still-training) chunk into the package."""
    import torch

    work = Path(args.work)
    os.environ["MULTICELLPOSE_HOME"] = str(work / "home")
    log_path = work / "progress.json"
    log = json.loads(log_path.read_text()) if log_path.exists() else {"chunks": []}
    running = f"starter-c{len(log['chunks']):02d}"
    best = args.chunk or (running if args.from_checkpoint else log["best"])
    if not args.from_checkpoint and not (work / "home" / "models" / best).is_dir():
        raise SystemExit(f"{best}: no finished chunk; use --from-checkpoint")
    state, meta = _state_of(work, best, args.from_checkpoint)
    scores = heldout_scores(state, Path(args.data))
    print(json.dumps(scores, indent=2))
    dst = REPO / "guv_app" / "data" / "models" / STARTER
    dst.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.contiguous().clone() for k, v in state.items()}, dst / "weights.pt")
    done = [c for c in log["chunks"] if int(c["name"][-2:]) <= int(best[-2:])]
    cfg = meta["training"]["config"]
    out = {
        "name": STARTER, "backbone": "tiny", "n_classes": 0, "channels": [0],
        "diam_mean": meta["diam_mean"], "default_diameter": meta["default_diameter"],
        "parent": "tiny", "kind": "builtin",
        "description": "tiny backbone trained on public fluorescence nuclei (DSB2018 + "
                       "stardist demo): a starting point that works offline",
        "weights": {"kind": "state_dict", "file": "weights.pt"},
        "training": {
            "script": "scripts/train_starter.py",
            "command": "nice -n 19 python scripts/train_starter.py --work WORK "
                       f"--chunk-epochs {cfg['epochs']} --images-per-epoch "
                       f"{cfg['images_per_epoch']} --lr {cfg['learning_rate']} "
                       f"--batch-size {cfg['batch_size']}; then --install",
            "command_per_chunk": log.get("command"),
            "chunks_finished": len(done) if not args.from_checkpoint else len(log["chunks"]),
            "last_chunk": best,
            "from_checkpoint_step": meta.get("checkpoint_step"),
            "config": cfg,
            "wall_seconds": round(sum(c["seconds"] for c in done)),
        },
        "dataset": {
            "train": [f"dsb2018/{s}" for s in TRAIN_DSB] + ["stardist/img2d"],
            "heldout": [f"dsb2018/{s}" for s in HELDOUT],
            "licences": "DSB2018 (BBBC038) CC0 1.0; stardist demo image BSD-3-Clause",
        },
        "heldout": scores,
        "versions": meta.get("versions", {}),
    }
    (dst / "meta.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"installed {best} (held-out AP@0.5 {scores['mean_ap50']:.3f}) as {dst}")
    return dst


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="/work/shared/data/labelled")
    p.add_argument("--work", required=True)
    p.add_argument("--chunk-epochs", type=int, default=40)
    p.add_argument("--max-chunks", type=int, default=20)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--images-per-epoch", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stop-at", metavar="HH:MM", help="start no chunk after this time")
    p.add_argument("--install", action="store_true", help="copy the best chunk into the package")
    p.add_argument("--chunk", help="with --install: this chunk instead of the best")
    p.add_argument("--from-checkpoint", action="store_true",
                   help="with --install: the chunk still training, from its last checkpoint")
    args = p.parse_args()
    if args.install:
        install(args)
    else:
        run_chunks(args)


if __name__ == "__main__":
    main()
