"""Dask speed-up: ``measure`` and ``predict --model tiny`` over generated images with 1, 2 and
4 local worker processes vs in-process, scheduler overhead per task, model loads per worker.

Generated scene: N images (default 200) of 256x256 px, 3 channels, ~40 ellipses each, with
their ``_seg.npy`` labels. Each configuration runs the same service call the CLI runs
(``measure_items`` / ``predict_images`` through the one batch runner); the cluster is
started before the clock starts (its start-up time is printed separately) and the outputs
are checked equal to the in-process run. Goal (issue 12): 2 workers >= 1.6x in-process for
measure on a 2-core machine. The in-process baseline is what a user runs: one process,
torch with its default threads; workers get one thread each.

    python benchmarks/bench_dask.py [--images 200] [--workers 1,2,4] [--skip-predict]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np


def make_images(folder: Path, n: int, size: int = 256, objects: int = 40, seed: int = 0):
    """``n`` PNG images with ``_seg.npy`` labels (ellipses on a jittered grid)."""
    import imageio.v3 as iio

    from cellpose_io import save_seg

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    per_side = math.ceil(math.sqrt(objects))
    cell = size // per_side
    yy, xx = np.mgrid[:size, :size]
    for k in range(n):
        masks = np.zeros((size, size), np.uint16)
        label = 0
        for i in range(per_side):
            for j in range(per_side):
                if label >= objects:
                    break
                label += 1
                cy, cx = (i + 0.5) * cell + rng.uniform(-3, 3), (j + 0.5) * cell + rng.uniform(-3, 3)
                a, b = rng.uniform(0.25, 0.45) * cell, rng.uniform(0.2, 0.4) * cell
                t = rng.uniform(0, math.pi)
                u = ((yy - cy) * math.cos(t) + (xx - cx) * math.sin(t)) / a
                v = (-(yy - cy) * math.sin(t) + (xx - cx) * math.cos(t)) / b
                masks[(u * u + v * v) <= 1] = label
        level = rng.integers(60, 250, size=(3, label + 1))
        level[:, 0] = 10
        image = np.stack([level[c][masks] for c in range(3)], -1).astype(np.int32)
        image = np.clip(image + rng.integers(0, 20, image.shape), 0, 255).astype(np.uint8)
        path = folder / f"img_{k:04d}.png"
        iio.imwrite(path, image)
        save_seg(path, masks)


def timed(fn):
    tic = time.perf_counter()
    out = fn()
    return time.perf_counter() - tic, out


def _noop(task):
    return task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--predict-images", type=int, default=0,
                        help="predict only the first K images (0 = all)")
    parser.add_argument("--skip-predict", action="store_true")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers here")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]

    from guv_app.services.analysis.batch import predict_images
    from guv_app.services.batch import run_batch
    from guv_app.services.distributed.cluster import open_client
    from guv_app.services.distributed.config import ClusterConfig
    from guv_app.services.distributed.executor import dask_executor, model_load_counts
    from guv_app.services.measurement.folder import measure_items
    from guv_app.services.measurement.labels import find_items

    root = Path(tempfile.mkdtemp(prefix="bench_dask_"))
    gen_s, _ = timed(lambda: make_images(root / "images", args.images))
    images = sorted((root / "images").glob("*.png"))
    items = find_items(root / "images", "seg")
    plugins = ["shape", "intensity"]
    print(f"{len(images)} images of 256x256 generated in {gen_s:.1f} s ({root})")

    def measure(tag, executor=None):
        out = root / f"measure_{tag}" / "r.csv"
        out.parent.mkdir()
        return timed(lambda: measure_items(items, out, plugins, executor=executor))[0], out

    to_predict = images[:args.predict_images] if args.predict_images else images

    def predict(tag, executor=None):
        out = root / f"predict_{tag}"
        seconds, result = timed(lambda: predict_images(to_predict, "tiny", out_dir=out,
                                                       executor=executor))
        assert result.count("done") == len(to_predict), result.failures[:3]
        return seconds, out

    results: dict = {"images": len(images), "measure": {}, "predict": {}}
    base_m, base_out = measure("inprocess")
    results["measure"]["inprocess"] = base_m
    print(f"measure in-process: {base_m:.2f} s ({1000 * base_m / len(images):.1f} ms/image)")
    if not args.skip_predict:
        import torch

        base_p, base_pred = predict("inprocess")
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        one_p, _ = predict("inprocess_1thread")
        torch.set_num_threads(threads)
        results["predict"]["inprocess"] = base_p
        results["predict"]["inprocess_1thread"] = one_p
        results["predict"]["images"] = len(to_predict)
        print(f"predict tiny in-process over {len(to_predict)} images: {base_p:.2f} s "
              f"({1000 * base_p / len(to_predict):.0f} ms/image, torch {threads} threads); "
              f"{one_p:.2f} s with 1 thread ({1000 * one_p / len(to_predict):.0f} ms/image)")
    noop_tasks = list(range(400))
    for n in counts:
        with ExitStack() as stack:
            start_s, client = timed(lambda n=n: stack.enter_context(
                open_client(ClusterConfig(kind="local", workers=n))))
            client.wait_for_workers(n, timeout=120)
            ex = dask_executor(client)
            cold_s, m_out = measure(f"w{n}", ex)  # fresh workers: imports on first items
            m_s, m_out = measure(f"w{n}_warm", ex)  # the same cluster again
            for name in ("r.csv", "r_summary.csv", "r_shape.csv", "r_intensity.csv"):
                assert (m_out.parent / name).read_bytes() == \
                    (base_out.parent / name).read_bytes(), name
            line = (f"{n} worker(s): cluster start {start_s:.1f} s | measure first run "
                    f"{cold_s:.2f} s ({base_m / cold_s:.2f}x), warm {m_s:.2f} s "
                    f"({base_m / m_s:.2f}x)")
            entry = {"start_s": start_s, "first_run_s": cold_s, "seconds": m_s,
                     "speedup_first_run": base_m / cold_s, "speedup": base_m / m_s}
            results["measure"][f"w{n}"] = entry
            if not args.skip_predict:
                p_s, p_out = predict(f"w{n}", ex)
                loads = model_load_counts(client)
                results["predict"][f"w{n}"] = {"seconds": p_s, "speedup": base_p / p_s,
                                               "model_loads_per_worker": sorted(loads.values())}
                results["predict"][f"w{n}"]["speedup_vs_1thread"] = one_p / p_s
                line += (f" | predict {p_s:.2f} s ({1000 * p_s / len(to_predict):.0f} ms/image),"
                         f" speed-up {base_p / p_s:.2f}x ({one_p / p_s:.2f}x vs 1-thread), "
                         f"model loads per worker {sorted(loads.values())}")
            if n == 2:
                local_s, _ = timed(lambda: run_batch(noop_tasks, _noop))
                dask_s, report = timed(lambda ex=ex: run_batch(noop_tasks, _noop, executor=ex))
                assert report.count("done") == len(noop_tasks)
                per_task_ms = 1000 * (dask_s - local_s) / len(noop_tasks)
                results["overhead_ms_per_task"] = per_task_ms
                line += f" | scheduler overhead {per_task_ms:.1f} ms per no-op task"
            print(line, flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
