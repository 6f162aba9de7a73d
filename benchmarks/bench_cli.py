"""Whole-process speed: ``multicellpose predict`` vs upstream ``python -m cellpose``.

What a user runs, timed from process start to exit (imports, model build and load, reading,
tiling, network, flow dynamics, saving), with the peak resident memory of the process
(``getrusage(RUSAGE_CHILDREN)`` of a small launcher process: the largest peak of the
command and its children).

Model: Cellpose-SAM (vit_l) with a random encoder whose flows/cellprob readout is fitted by
least squares to the labels of tests/data/labelled/stardist (``bench_inference.fit_readout``)
so both programs find cell-like objects, saved as a plain Cellpose model file (the stand-in
for ``cpsam``, whose weights cannot be downloaded here); built once and kept in ``--work``.

Inputs: the 512x512 stardist image (9 tiles of 256 px), and a folder of ``--folder-images``
images of ``--folder-size`` px cut from it (flipped/rotated, so they differ). The default
240 px is one tile per image: Cellpose pads every image by 8 px per side before tiling, so a
256x256 image becomes 272x272 and is run as 4 tiles (in both programs).

Runs, interleaved in every repeat (median of ``--repeats``), each in a fresh folder:

* ``upstream default``: ``python -m cellpose --image_path IMG --pretrained_model FILE``
  (``--dir`` for the folder) -- its defaults: bfloat16 weights (``use_bfloat16=True``),
  ``_seg.npy`` with flows and outlines beside each image;
* ``ours default``: ``python -m guv_app.cli.main predict --model FILE --input IMG --out DIR
  --device cpu`` -- ours: bfloat16, ``_pred_seg.npy`` (masks, outlines, classes);
* with ``--matched``, both in float32 (upstream: the same CLI with ``use_bfloat16=False``,
  which its CLI has no flag for).

Matched in every pair: dtype, tile size 256 and overlap 0.1, batch size 8 tiles, niter (200,
no rescaling: no diameter given), flow threshold 0.4, cellprob threshold 0.0, min size 15,
normalisation (1st-99th percentile per channel), torch threads (the default: all cores).
Not matched, each program's own default: what is saved (upstream also saves flows).
The masks of each pair are compared (AP@0.5 and mean IoU of matched objects, upstream's
``cellpose.metrics``; identical files give 1.000/1.000).

    python benchmarks/bench_cli.py [--repeats 3] [--folder-images 20] [--folder-size 256]
        [--matched] [--no-folder] [--work DIR]

Duration (quiet 2-core CPU, bfloat16): a 256 px vit_l tile takes ~4 s of wall time
upstream and ~2.5 s ours, so one 512x512 run is ~38 s upstream / ~25 s ours and a folder of
20 one-tile images ~80 s / ~58 s; the default (3 repeats, single image and folder, both
programs) is ~12 minutes plus ~2 minutes to build the model once; ``--matched`` adds float32
runs of the single image (~6 minutes).
Goals (issue 18): ours / upstream default <= 0.7 in wall time and <= 1.0 in peak RSS.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
IMAGE = ROOT / "tests" / "data" / "labelled" / "stardist" / "img2d.tif"
LABELS = IMAGE.with_name("mask2d.tif")

# upstream's CLI with float32 weights: its CellposeModel(use_bfloat16=...) has no CLI flag
UPSTREAM_FP32 = (
    "import sys\n"
    "from cellpose import models, __main__ as cli\n"
    "init = models.CellposeModel.__init__\n"
    "defaults = list(init.__defaults__)\n"
    "defaults[init.__code__.co_varnames[1:init.__code__.co_argcount][-len(defaults):]"
    ".index('use_bfloat16')] = False\n"
    "init.__defaults__ = tuple(defaults)\n"
    "sys.argv = ['cellpose', *sys.argv[1:]]\n"
    "cli.main()\n"
)


@dataclass
class Runs:
    """Wall times (s) and peak RSS (GB) of one command, one entry per repeat."""

    wall: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def build_model(path: Path) -> Path:
    """vit_l with a random encoder and a readout fitted to the stardist labels, saved as a
    Cellpose model file (kept when ``path`` exists)."""
    if path.exists():
        return path
    import tifffile
    import torch

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_inference import fit_readout

    from guv_app.services.engine.network import build_network

    print(f"building {path} (vit_l, readout fitted to {LABELS.name}) ...", flush=True)
    net = build_network("vit_l", 0, seed=0)
    fit_readout(net, tifffile.imread(IMAGE), tifffile.imread(LABELS))
    tmp = path.with_name(path.name + ".tmp")
    torch.save(net.state_dict(), tmp)
    tmp.replace(path)
    return path


def make_inputs(work: Path, n: int, size: int) -> tuple[Path, Path]:
    """The 512x512 image, and a folder of ``n`` ``size`` px crops of it (8 symmetries)."""
    import tifffile

    single = work / "single.tif"
    image = tifffile.imread(IMAGE)
    tifffile.imwrite(single, image)
    folder = work / f"folder_{n}x{size}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        y, x = rng.integers(0, image.shape[0] - size + 1, 2)
        crop = np.rot90(image[y:y + size, x:x + size], i % 4)
        tifffile.imwrite(folder / f"crop_{i:03d}.tif", crop[:, ::-1] if i % 8 >= 4 else crop)
    return single, folder


# Runs the command and reports its wall time and peak RSS. A child forked from a big process
# starts with that process's RSS as its high-water mark (Linux keeps it across exec), so
# the measured command is started from this small launcher, never from the benchmark itself.
LAUNCHER = (
    "import resource, subprocess, sys, time\n"
    "tic = time.perf_counter()\n"
    "rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "wall = time.perf_counter() - tic\n"
    "use = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(f'BENCH {rc} {wall} {use.ru_maxrss} {use.ru_utime + use.ru_stime}', "
    "file=sys.stderr)\n"
)


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, float]:
    """Run ``cmd``; (wall s, peak RSS GB: the largest of the process and its children, as
    ``getrusage(RUSAGE_CHILDREN)`` of the launcher reports it, CPU s: user + system)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", LAUNCHER, *cmd], cwd=cwd, env=env,
                          capture_output=True, text=True)
    line = next((x for x in proc.stderr.splitlines() if x.startswith("BENCH ")), "")
    if not line or line.split()[1] != "0":
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    _, _, wall, peak_kb, cpu = line.split()
    return float(wall), int(peak_kb) / 1e6, float(cpu)  # Linux: kB


def fresh_copy(src: Path, dest: Path) -> Path:
    """A clean copy of an image or folder for one run (nothing predicted yet)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if src.is_dir():
        for f in src.iterdir():
            shutil.copy(f, dest / f.name)
        return dest
    shutil.copy(src, dest / src.name)
    return dest / src.name


def commands(model: Path, target: Path, out: Path, dtype: str) -> dict[str, list[str]]:
    flag = "--dir" if target.is_dir() else "--image_path"
    upstream_args = [flag, str(target), "--pretrained_model", str(model)]
    upstream = ([sys.executable, "-m", "cellpose", *upstream_args] if dtype == "bfloat16"
                else [sys.executable, "-c", UPSTREAM_FP32, *upstream_args])
    ours = [sys.executable, "-m", "guv_app.cli.main", "predict", "--model", str(model),
            "--input", str(target), "--out", str(out), "--device", "cpu", "--dtype", dtype]
    return {"upstream": upstream, "ours": ours}


def masks_of(folder: Path, suffix: str) -> dict[str, np.ndarray]:
    out = {}
    for f in sorted(folder.glob(f"*{suffix}")):
        data = np.load(f, allow_pickle=True).item()
        out[f.name.removesuffix(suffix)] = np.asarray(data["masks"])
    return out


def agreement(ours: dict, theirs: dict) -> tuple[float, float, int]:
    """(mean AP@0.5, mean IoU of matched objects, objects upstream found) over the images."""
    from cellpose import metrics

    if set(ours) != set(theirs) or not ours:
        raise RuntimeError(f"different outputs: ours {sorted(ours)}, upstream {sorted(theirs)}")
    aps, ious, n = [], [], 0
    for key in theirs:
        a, b = theirs[key], ours[key]
        n += int(a.max())
        if not a.max() and not b.max():
            aps.append(1.0)
            continue
        aps.append(float(metrics.average_precision([a], [b], threshold=[0.5])[0][0, 0]))
        iou = metrics._intersection_over_union(b, a)[1:, 1:]
        if iou.size:
            best = iou.max(axis=0)
            ious.extend(best[best >= 0.5].tolist())
    return float(np.mean(aps)), float(np.mean(ious)) if ious else float("nan"), n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--folder-images", type=int, default=20)
    parser.add_argument("--folder-size", type=int, default=240,
                        help="px (square); 240 is one 256 px tile after Cellpose's 8 px "
                             "padding, 256 pads to 272 and takes 4 tiles")
    parser.add_argument("--no-folder", action="store_true", help="single image only")
    parser.add_argument("--no-single", action="store_true", help="folder only")
    parser.add_argument("--matched", action="store_true",
                        help="also both in float32 (single image)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mcp_bench_cli"))
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    model = args.work / "vit_l_fitted.pt"
    if args.build_only:
        build_model(model)
        return
    if not model.exists():  # in its own process: this one stays small (see LAUNCHER)
        subprocess.run([sys.executable, __file__, "--build-only", "--work", str(args.work)],
                       check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    single, folder = make_inputs(args.work, args.folder_images, args.folder_size)
    cases = []  # (label, input, dtype)
    if not args.no_single:
        cases.append(("512x512 image", single, "bfloat16"))
        if args.matched:
            cases.append(("512x512 image", single, "float32"))
    if not args.no_folder:
        cases.append((f"folder {args.folder_images}x{args.folder_size}px", folder, "bfloat16"))
    runs = {(c, side): Runs() for c in range(len(cases)) for side in ("upstream", "ours")}
    agree: dict[int, tuple] = {}
    kept: dict[int, dict] = {}  # the masks of the last repeat, per case and side
    print(f"{os.cpu_count()} CPUs, python {sys.version.split()[0]}, repeats {args.repeats}; "
          f"model {model.name}", flush=True)
    for rep in range(args.repeats):
        for c, (label, src, dtype) in enumerate(cases):
            order = ("upstream", "ours") if rep % 2 == 0 else ("ours", "upstream")
            outputs = {}
            for side in order:
                run_dir = args.work / f"run_{c}_{side}"
                shutil.rmtree(run_dir, ignore_errors=True)  # nothing from an earlier run
                target = fresh_copy(src, run_dir / "in")
                out = run_dir / "out"
                wall, rss, cpu = timed(commands(model, target, out, dtype)[side], run_dir)
                runs[c, side].wall.append(wall)
                runs[c, side].rss.append(rss)
                runs[c, side].cpu.append(cpu)
                outputs[side] = (masks_of(out, "_pred_seg.npy") if side == "ours" else
                                 masks_of(target if target.is_dir() else target.parent,
                                          "_seg.npy"))
                print(f"  repeat {rep + 1} {label} {dtype} {side}: {wall:.1f} s, "
                      f"{rss:.2f} GB, CPU {cpu:.1f} s", flush=True)
            agree[c] = agreement(outputs["ours"], outputs["upstream"])
            kept[c] = outputs

    print()
    print(f"{'input':22} {'dtype':9} {'upstream s':>10} {'ours s':>8} {'wall ratio':>10} "
          f"{'CPU ratio':>9} {'upstream GB':>11} {'ours GB':>8} {'RSS ratio':>9} "
          f"{'AP@0.5':>7} {'IoU':>6} {'objects':>7}")
    for c, (label, _, dtype) in enumerate(cases):
        up, ours = runs[c, "upstream"], runs[c, "ours"]
        up_s, our_s = statistics.median(up.wall), statistics.median(ours.wall)
        up_gb, our_gb = statistics.median(up.rss), statistics.median(ours.rss)
        ratios = [o / u for o, u in zip(ours.wall, up.wall, strict=True)]
        cpu_ratios = [o / u for o, u in zip(ours.cpu, up.cpu, strict=True)]
        ap, iou, n = agree[c]
        print(f"{label:22} {dtype:9} {up_s:10.1f} {our_s:8.1f} {statistics.median(ratios):10.2f} "
              f"{statistics.median(cpu_ratios):9.2f} {up_gb:11.2f} {our_gb:8.2f} "
              f"{our_gb / up_gb:9.2f} {ap:7.3f} {iou:6.3f} {n:7d}")
    print("ratios: ours / upstream, median of the per-repeat ratios (interleaved runs); CPU = "
          "user + system s (less sensitive to a busy machine than wall); AP@0.5 / IoU: ours "
          "against upstream's masks. Goals: wall <= 0.70, RSS <= 1.00 against upstream's "
          "default (bfloat16)")
    fp32 = next((c for c, case in enumerate(cases) if case[2] == "float32"), None)
    bf16 = next((c for c, case in enumerate(cases) if case[2] == "bfloat16"
                 and fp32 is not None and case[1] == cases[fp32][1]), None)
    if fp32 is not None and bf16 is not None:
        for side in ("upstream", "ours"):
            ap, iou, n = agreement(kept[bf16][side], kept[fp32][side])
            print(f"{side} bfloat16 vs its own float32 masks: AP@0.5 {ap:.3f}, IoU {iou:.3f} "
                  f"({n} objects in float32)")


if __name__ == "__main__":
    main()
