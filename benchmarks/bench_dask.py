"""Dask speed-up: ``measure`` and ``predict --model tiny`` over generated images with 1, 2 and
4 local worker processes vs in-process, scheduler overhead per task, model loads per worker.

Generated scenes (``--sizes``): N images (default 200) per size, 3 channels, ellipses on a
jittered grid, with their ``_seg.npy`` labels: ``256:40`` (256x256 px, 40 objects: the
small planes of the first version of this benchmark) and ``512:200`` (512x512 px, 200
objects: closer to real planes, as ``bench_planes.py``). Each configuration runs the same
service call the CLI runs (``measure_items`` / ``predict_images`` through the one batch
runner); clusters are started before the clock starts (start-up time printed separately),
every time is the best of two runs (for the speed-ups, in-process and cluster runs in
turn, so a load from elsewhere skews both sides alike), and the outputs are checked
byte-equal to the in-process run's. Linux shares the CPU between sessions (autogroup): on
a machine other sessions load, all our worker processes together get about the share the
one in-process run got, and the wall-clock ratio says little; the CPU seconds of every
process are printed too, with the speed-up they allow on an idle machine. Goal (issue 12): 2 workers >= 1.6x in-process for measure on a 2-core
machine. The in-process baseline is what a user runs: one process, torch with its default
threads; workers get one thread each. Predict runs on the first size only.

    python benchmarks/bench_dask.py [--images 200] [--sizes 256:40,512:200]
        [--workers 1,2,4] [--predict-images K] [--skip-predict] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np

OUTPUTS = ("r.csv", "r_summary.csv", "r_shape.csv", "r_intensity.csv")


def make_images(folder: Path, n: int, size: int = 256, objects: int = 40, seed: int = 0):
    """``n`` PNG images (size x size x 3, uint8) with ``_seg.npy`` labels: ``objects``
    ellipses (semi-axes 0.2-0.45 of a grid cell, any orientation) on a jittered grid."""
    import imageio.v3 as iio

    from cellpose_io import save_seg

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    per_side = math.ceil(math.sqrt(objects))
    cell = size // per_side
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
                r = int(max(a, b)) + 2  # the ellipse lies within its longer semi-axis
                y0, y1 = max(int(cy) - r, 0), min(int(cy) + r + 1, size)
                x0, x1 = max(int(cx) - r, 0), min(int(cx) + r + 1, size)
                yy, xx = np.mgrid[y0:y1, x0:x1]
                u = ((yy - cy) * math.cos(t) + (xx - cx) * math.sin(t)) / a
                v = (-(yy - cy) * math.sin(t) + (xx - cx) * math.cos(t)) / b
                masks[y0:y1, x0:x1][(u * u + v * v) <= 1] = label
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


def best_of(runs: int, fn):
    """Shortest wall time of ``runs`` calls of ``fn(k)`` and the last call's result."""
    best, out = math.inf, None
    for k in range(runs):
        seconds, out = timed(lambda k=k: fn(k))
        best = min(best, seconds)
    return best, out


def _noop(task):
    return task


def _cpu_seconds() -> float:
    """User + system CPU seconds of the calling process so far (all its threads)."""
    t = os.times()
    return t.user + t.system


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """``"256:40,512:200"`` -> [(256, 40), (512, 200)] (image side px, objects per image)."""
    return [(int(a), int(b)) for a, b in (part.split(":") for part in text.split(","))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--sizes", default="256:40,512:200",
                        help="image side:objects per image, one measure row each")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--predict-images", type=int, default=0,
                        help="predict only the first K images (0 = all)")
    parser.add_argument("--skip-predict", action="store_true")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers here")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    sizes = parse_sizes(args.sizes)

    from guv_app.services.analysis.batch import predict_images
    from guv_app.services.batch import run_batch
    from guv_app.services.distributed.cluster import open_client
    from guv_app.services.distributed.config import ClusterConfig
    from guv_app.services.distributed.executor import dask_executor, model_load_counts
    from guv_app.services.measurement.folder import measure_items
    from guv_app.services.measurement.labels import find_items

    root = Path(tempfile.mkdtemp(prefix="bench_dask_"))
    plugins = ["shape", "intensity"]
    scenes = {}
    for size, objects in sizes:
        folder = root / f"images_{size}_{objects}"
        gen_s, _ = timed(lambda f=folder, s=size, o=objects: make_images(f, args.images, s, o))
        scenes[(size, objects)] = find_items(folder, "seg")
        print(f"{args.images} images of {size}x{size} px with {objects} objects generated in "
              f"{gen_s:.1f} s ({folder})")

    def measure(scene, tag, executor=None):
        def run(k):
            out = root / f"measure_{scene[0]}_{tag}_{k}" / "r.csv"
            out.parent.mkdir()
            measure_items(scenes[scene], out, plugins, executor=executor)
            return out.parent
        return best_of(2, run)

    def paired(scene, n, executor):
        """In-process and on the cluster in turn, twice: (best in-process s, its output
        folder, best cluster s, its output folder, CPU seconds) -- a ratio of runs seconds
        apart, so a machine others load at times skews both sides alike. CPU seconds (of
        the fastest run of each side): ``in`` this process; ``client`` this process
        (client, scheduler, nannies) and ``workers`` each worker process."""
        times: dict[str, list[float]] = {"in": [], "dask": []}
        cpu: dict[str, list] = {"in": [], "dask": []}
        outs = {}
        for k in range(2):
            for side, ex in (("in", None), ("dask", executor)):
                out = root / f"measure_{scene[0]}_w{n}_{side}_{k}" / "r.csv"
                out.parent.mkdir()
                before = _cpu_seconds(), ex and ex.client.run(_cpu_seconds)
                seconds, _ = timed(lambda out=out, ex=ex: measure_items(
                    scenes[scene], out, plugins, executor=ex))
                after = _cpu_seconds(), ex and ex.client.run(_cpu_seconds)
                times[side].append(seconds)
                workers = [after[1][w] - before[1][w] for w in after[1]] if ex else []
                cpu[side].append({"client": after[0] - before[0], "workers": workers})
                outs[side] = out.parent
        best = {side: cpu[side][int(np.argmin(times[side]))] for side in cpu}
        return (min(times["in"]), outs["in"], min(times["dask"]), outs["dask"],
                {"in": best["in"]["client"], "client": best["dask"]["client"],
                 "workers": best["dask"]["workers"]})

    images = sorted(item.image for item in scenes[sizes[0]])
    to_predict = images[:args.predict_images] if args.predict_images else images

    def predict(tag, executor=None):
        out = root / f"predict_{tag}"
        seconds, result = timed(lambda: predict_images(to_predict, "tiny", out_dir=out,
                                                       executor=executor))
        assert result.count("done") == len(to_predict), result.failures[:3]
        return seconds, out

    results: dict = {"images": args.images, "measure": {}, "predict": {}}
    base = {}
    for scene in sizes:
        base[scene] = measure(scene, "inprocess")
        seconds = base[scene][0]
        results["measure"][f"{scene[0]}:{scene[1]}"] = {"inprocess": seconds}
        print(f"measure {scene[0]}x{scene[0]}, {scene[1]} objects, in-process: {seconds:.2f} s "
              f"({1000 * seconds / args.images:.1f} ms/image)")
    if not args.skip_predict:
        import torch

        base_p, _ = predict("inprocess")
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        one_p, _ = predict("inprocess_1thread")
        torch.set_num_threads(threads)
        results["predict"]["inprocess"] = base_p
        results["predict"]["inprocess_1thread"] = one_p
        results["predict"]["images"] = len(to_predict)
        print(f"predict tiny in-process over {len(to_predict)} images of {sizes[0][0]}x"
              f"{sizes[0][0]}: {base_p:.2f} s ({1000 * base_p / len(to_predict):.0f} ms/image,"
              f" torch {threads} threads); {one_p:.2f} s with 1 thread "
              f"({1000 * one_p / len(to_predict):.0f} ms/image)")
    noop_tasks = list(range(400))
    for n in counts:
        with ExitStack() as stack:
            start_s, client = timed(lambda n=n: stack.enter_context(
                open_client(ClusterConfig(kind="local", workers=n))))
            client.wait_for_workers(n, timeout=120)
            ex = dask_executor(client)
            line = f"{n} worker(s): cluster start {start_s:.1f} s"
            for scene in sizes:
                key = f"{scene[0]}:{scene[1]}"
                cold_s, _ = timed(lambda s=scene, n=n, ex=ex: measure_items(  # first: imports
                    scenes[s], root / f"cold_{s[0]}_w{n}" / "r.csv", plugins, executor=ex))
                base_s, base_out, m_s, m_out, cpu = paired(scene, n, ex)
                for name in OUTPUTS:
                    assert (m_out / name).read_bytes() == (base_out / name).read_bytes(), name
                    assert (m_out / name).read_bytes() == (base[scene][1] / name).read_bytes()
                # on an idle n-core machine the cluster run takes at least its CPU time
                # spread over min(n, cores) cores, and at least its busiest process's:
                total = cpu["client"] + sum(cpu["workers"])
                floor = max(total / min(n, os.cpu_count() or 1), max(cpu["workers"]))
                results["measure"][key][f"w{n}"] = {
                    "start_s": start_s, "first_run_s": cold_s, "seconds": m_s,
                    "inprocess_s": base_s, "speedup_first_run": base_s / cold_s,
                    "speedup": base_s / m_s, "cpu_s": cpu,
                    "cpu_bound_speedup": cpu["in"] / floor}
                line += (f" | measure {key} first run {cold_s:.2f} s ({base_s / cold_s:.2f}x), "
                         f"warm {m_s:.2f} s vs {base_s:.2f} s in-process ({base_s / m_s:.2f}x);"
                         f" CPU s: in-process {cpu['in']:.2f}, cluster client "
                         f"{cpu['client']:.2f} + workers "
                         f"{' + '.join(f'{w:.2f}' for w in cpu['workers'])} "
                         f"(idle-machine bound {cpu['in'] / floor:.2f}x)")
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
                ex.items_per_task = 1  # one task per item: the cost this line reports
                dask_s, report = timed(lambda ex=ex: run_batch(noop_tasks, _noop, executor=ex))
                ex.items_per_task = "auto"
                assert report.count("done") == len(noop_tasks)
                per_task_ms = 1000 * (dask_s - local_s) / len(noop_tasks)
                results["overhead_ms_per_task"] = per_task_ms
                line += f" | scheduler overhead {per_task_ms:.1f} ms per no-op task"
            print(line, flush=True)
    goal = {key: row.get("w2", {}).get("speedup") for key, row in results["measure"].items()}
    print("goal (2 workers >= 1.6x in-process, measure): " + ", ".join(
        f"{key}: {v:.2f}x {'met' if v >= 1.6 else 'NOT met'}" for key, v in goal.items()
        if v is not None))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
