"""Time-lapse scale: predict and measure a movie plane by plane vs the same frames as files.

Goals (issue 11), as ratios measured in one run:

* predict a T-frame YxX movie with ``tiny``: peak RSS flat in the number of frames (RSS at
  ``--small-frames`` vs ``--frames``), and per-frame time <= 1.2x predicting the same frames
  as separate files;
* measure ``--frames`` frames x ``--objects`` objects (shape + intensity): <= 1.3x measuring
  the frames as separate images.

The spec sizes are the defaults (200 frames of 512x512, 500 objects); on a busy 2-core CPU
the tiny model takes seconds per 512x512 frame, so ``--predict-frames`` / ``--predict-size``
shrink the prediction part (the measurement part is cheap and runs at full size).
Prediction runs in child processes (one per case) so each peak RSS is its own.

    python benchmarks/bench_planes.py [--frames 200] [--size 512] [--objects 500]
        [--predict-frames 200] [--small-frames 20] [--predict-size 512] [--skip-predict]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("MULTICELLPOSE_HOME", tempfile.mkdtemp(prefix="mcp_bench_"))
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import disc_grid  # noqa: E402  (benchmarks/ beside this script)


def disc_frame(t: int, size: int, objects: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One frame: ``objects`` discs on a jittered grid drifting 1 px per frame; (image, labels)."""
    labels = disc_grid(size, objects, radius_frac=0.35, jitter_y=1.0, jitter_x=0.0,
                       shift_x=t, seed=seed, dtype=np.uint16)
    noise = np.random.default_rng(seed + t).normal(100, 10, (size, size))
    image = np.clip(noise + (labels > 0) * 900, 0, 65535).astype(np.uint16)
    return image, labels


def write_movie(path: Path, frames: int, size: int, objects: int) -> list[np.ndarray]:
    """An ImageJ TYX hyperstack (one page per frame); returns the label frames."""
    import tifffile

    stack = np.empty((frames, size, size), np.uint16)
    labels = []
    for t in range(frames):
        stack[t], lab = disc_frame(t, size, objects)
        labels.append(lab)
    tifffile.imwrite(path, stack, imagej=True, metadata={"axes": "TYX", "finterval": 2.0})
    return labels


def write_files(folder: Path, frames: int, size: int, objects: int) -> list[np.ndarray]:
    import tifffile

    folder.mkdir(parents=True, exist_ok=True)
    labels = []
    for t in range(frames):
        image, lab = disc_frame(t, size, objects)
        tifffile.imwrite(folder / f"frame_{t:04d}.tif", image)
        labels.append(lab)
    return labels


def child_predict(source: str, out: str) -> None:
    """Run in a child process: predict ``source`` (file or folder), print JSON timings."""
    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    from guv_app.services.analysis.batch import list_images, predict_images
    from guv_app.services.engine.inference import SegmentParams

    path = Path(source)
    files = [path] if path.is_file() else list_images(path)
    tic = time.perf_counter()
    result = predict_images(files, "tiny", SegmentParams(device="cpu"), out_dir=out)
    wall = time.perf_counter() - tic
    seconds = [s.seconds for s in result.planes if s.status == "done"]
    print(json.dumps({
        "planes": len(seconds), "wall_s": wall,
        "per_plane_s": float(np.mean(seconds[1:] or seconds)),  # first plane: warm-up
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def run_child(source: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", str(source), str(out)],
                          capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_predict(work: Path, frames: int, small: int, size: int) -> None:
    write_movie(work / "short.tif", small, size, 60)
    write_movie(work / "long.tif", frames, size, 60)
    write_files(work / "frames", frames, size, 60)
    short = run_child(work / "short.tif", work / "out_short")
    long = run_child(work / "long.tif", work / "out_long")
    files = run_child(work / "frames", work / "out_files")
    print(f"predict {size}x{size} tiny: movie {small} frames peak RSS {short['peak_rss_mb']:.0f} "
          f"MB, {frames} frames {long['peak_rss_mb']:.0f} MB -> ratio "
          f"{long['peak_rss_mb'] / short['peak_rss_mb']:.2f} (goal: flat, ~1.0)")
    print(f"predict per frame: movie {long['per_plane_s']:.3f} s, separate files "
          f"{files['per_plane_s']:.3f} s -> ratio "
          f"{long['per_plane_s'] / files['per_plane_s']:.2f} (goal <= 1.2)")


def bench_measure(work: Path, frames: int, size: int, objects: int) -> None:
    from cellpose_io import save_seg
    from guv_app.services.batch import Plane
    from guv_app.services.measurement.folder import measure_folder

    movie_dir, files_dir = work / "m_movie", work / "m_files"
    movie_dir.mkdir()
    labels = write_movie(movie_dir / "movie.tif", frames, size, objects)
    for t, lab in enumerate(labels):
        plane = Plane(str(movie_dir / "movie.tif"), 0, t, 0, size_t=frames)
        save_seg(plane.image, lab, out_path=plane.file_for("_seg.npy"))
    write_files(files_dir, frames, size, objects)
    for t, lab in enumerate(labels):
        save_seg(files_dir / f"frame_{t:04d}.tif", lab)
    timings = {}
    for name, folder in (("files", files_dir), ("movie", movie_dir)):
        tic = time.perf_counter()
        result = measure_folder(folder, work / f"{name}.csv", ["shape", "intensity"],
                                labels="seg")
        timings[name] = time.perf_counter() - tic
        assert sum(s.status == "done" for s in result.images) == frames, result.failures
    print(f"measure {frames} frames x {objects} objects ({size}x{size}, shape+intensity): "
          f"movie {timings['movie']:.1f} s, separate images {timings['files']:.1f} s -> ratio "
          f"{timings['movie'] / timings['files']:.2f} (goal <= 1.3)")


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child_predict(sys.argv[2], sys.argv[3])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200, help="measure: frames")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--objects", type=int, default=500)
    ap.add_argument("--predict-frames", type=int, default=200)
    ap.add_argument("--small-frames", type=int, default=20)
    ap.add_argument("--predict-size", type=int, default=512)
    ap.add_argument("--skip-predict", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mcp_planes_") as tmp:
        work = Path(tmp)
        bench_measure(work, args.frames, args.size, args.objects)
        if not args.skip_predict:
            bench_predict(work, args.predict_frames, args.small_frames, args.predict_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
