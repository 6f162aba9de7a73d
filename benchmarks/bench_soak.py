"""Soak: ``measure`` and ``predict --model tiny`` over many images; peak memory must not grow
with the number of images.

Writes N synthetic 128x128 uint16 images (blobs) with ``_seg.npy`` labels, then runs each
command as a child process on the first 50 images and on all N (default 300), reading each
child's peak RSS (``wait4`` rusage). The baseline is the 50-image run of the same command
in the same session; the goal is ``peak(N) / peak(50) <= 1.10`` (anything a batch keeps
per image -- planes, masks, results, handles -- would make it grow).

    python benchmarks/bench_soak.py [--images 300] [--size 128] [--skip-predict]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_images(folder: Path, n: int, size: int, seed: int = 0) -> None:
    """``n`` images of ~12 bright blobs each, with their labels as ``_seg.npy``."""
    import tifffile

    from cellpose_io import save_seg

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = rng.normal(200, 20, (size, size))
        masks = np.zeros((size, size), np.uint16)
        for k in range(12):
            cy, cx = rng.uniform(20, size - 20, 2)
            r = rng.uniform(7, 14)
            disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
            img[disc] += 1500
            masks[disc & (masks == 0)] = k + 1
        path = folder / f"img_{i:04d}.tif"
        tifffile.imwrite(path, np.clip(img, 0, 65535).astype(np.uint16))
        save_seg(path, masks)


def run_child(args: list[str], home: Path) -> tuple[int, float, float]:
    """(return code, wall seconds, peak RSS in MiB) of one CLI run in a child process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MULTICELLPOSE_HOME": str(home),
           "OMP_NUM_THREADS": "2", "QT_QPA_PLATFORM": "offscreen"}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "guv_app.cli.main", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode not in (0,):
        print(err[-2000:], file=sys.stderr)
    return proc.returncode, wall, usage.ru_maxrss / 1024.0  # Linux: KiB


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--small", type=int, default=50)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--skip-predict", action="store_true")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mcp_soak_"))
    try:
        all_dir, few_dir = work / "all", work / "few"
        print(f"writing {args.images} images of {args.size}x{args.size} ...", flush=True)
        make_images(all_dir, args.images, args.size)
        few_dir.mkdir()
        for path in sorted(all_dir.iterdir()):
            if path.name < f"img_{args.small:04d}":
                shutil.copy(path, few_dir / path.name)
        rows = []
        commands = [("measure", lambda d, o: ["measure", "--dir", str(d), "--out",
                                               str(o / "r.csv"), "--quiet"])]
        if not args.skip_predict:
            commands.append(("predict tiny", lambda d, o: [
                "predict", "--model", "tiny", "--input", str(d), "--out", str(o),
                "--device", "cpu", "--force"]))
        for name, build in commands:
            result = {}
            for label, folder in ((args.small, few_dir), (args.images, all_dir)):
                out = work / f"out_{name.split()[0]}_{label}"
                out.mkdir()
                rc, wall, rss = run_child(build(folder, out), work / "home")
                result[label] = (rc, wall, rss)
                print(f"{name:>13} {label:>4} images: exit {rc}, {wall:7.1f} s "
                      f"({1000 * wall / label:6.1f} ms/image), peak RSS {rss:7.1f} MiB",
                      flush=True)
            ratio = result[args.images][2] / result[args.small][2]
            rows.append((name, result, ratio))
        print()
        ok = True
        for name, result, ratio in rows:
            good = ratio <= 1.10 and all(r[0] == 0 for r in result.values())
            ok &= good
            print(f"{name}: peak RSS {result[args.small][2]:.1f} MiB at {args.small} images, "
                  f"{result[args.images][2]:.1f} MiB at {args.images}: ratio {ratio:.3f} "
                  f"(goal <= 1.10) {'OK' if good else 'FAIL'}")
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())

# Measured 2026-11-30 on the 2-core CI machine (load ~12), default options, after the batch
# runner refactor:
#   measure       50 images: 3.3 s, peak RSS 95.0 MiB; 300 images: 7.1 s, 100.7 MiB (x1.060)
#   predict tiny  50 images: 87 s, peak RSS 919.1 MiB; 300 images: 475 s, 919.0 MiB (x1.000)
