"""Measurement speed: built-in plugins vs ``skimage.measure.regionprops_table``, one run.

Synthetic scene: N ellipses (default 10,000; random sizes, orientations, some touching) on
a 4096x4096 label image with 3 uint16 channels. Both sides compute the same columns:
shape (area, perimeter, centroid, bbox, equivalent diameter, eccentricity, solidity,
orientation, major/minor axis) and per-channel intensity mean/min/max/std. Our intensity
plugin also computes median and integrated intensity in that time (skimage has no median).
Values are compared column by column; the ratio skimage time / our time is printed for
wall-clock and for process CPU time (the CPU ratio is the fairer one on a busy machine; both
sides run single-threaded). Goal: >= 5.

    python benchmarks/bench_measure.py [--objects 10000] [--size 4096] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

PAIRS = {  # our column -> regionprops_table column
    "object_id": "label", "area": "area", "perimeter": "perimeter",
    "centroid_y": "centroid-0", "centroid_x": "centroid-1",
    "bbox_y0": "bbox-0", "bbox_x0": "bbox-1", "bbox_y1": "bbox-2", "bbox_x1": "bbox-3",
    "equivalent_diameter": "equivalent_diameter_area", "eccentricity": "eccentricity",
    "solidity": "solidity", "orientation": "orientation",
    "major_axis_length": "axis_major_length", "minor_axis_length": "axis_minor_length",
}
SK_PROPS = ["label", "area", "perimeter", "centroid", "bbox", "equivalent_diameter_area",
            "eccentricity", "solidity", "orientation", "axis_major_length",
            "axis_minor_length", "intensity_mean", "intensity_min", "intensity_max",
            "intensity_std"]


def make_scene(n_objects: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Ellipses on a jittered grid (neighbours may touch) and 3 noisy uint16 channels."""
    rng = np.random.default_rng(seed)
    per_side = math.ceil(math.sqrt(n_objects))
    cell = size // per_side
    masks = np.zeros((size, size), dtype=np.uint32)
    reach = cell // 2 + 2
    yy, xx = np.mgrid[-reach:reach + 1, -reach:reach + 1]
    for label in range(1, n_objects + 1):
        i, j = divmod(label - 1, per_side)
        cy = i * cell + cell // 2 + rng.integers(-cell // 8, cell // 8 + 1)
        cx = j * cell + cell // 2 + rng.integers(-cell // 8, cell // 8 + 1)
        a = rng.uniform(0.2, 0.55) * cell
        b = rng.uniform(0.35, 1.0) * a
        t = rng.uniform(0, math.pi)
        u = (yy * math.cos(t) + xx * math.sin(t)) / a
        v = (-yy * math.sin(t) + xx * math.cos(t)) / b
        inside = u * u + v * v <= 1
        y0, x0 = cy - reach, cx - reach
        ys, xs = np.nonzero(inside)
        ys, xs = ys + y0, xs + x0
        ok = (ys >= 0) & (ys < size) & (xs >= 0) & (xs < size)
        masks[ys[ok], xs[ok]] = label
    level = rng.integers(200, 3000, size=(3, n_objects + 1))
    level[:, 0] = 100
    channels = np.stack([level[c][masks] for c in range(3)]).astype(np.int64)
    channels += rng.integers(0, 400, size=channels.shape)
    return masks, channels.astype(np.uint16)


def run_ours(channels: np.ndarray, masks: np.ndarray, background: str) -> dict:
    """Both plugins one after the other, as the measurement service runs them."""
    from guv_app.plugins.intensity import intensity_table
    from guv_app.plugins.regions import clear_cache
    from guv_app.plugins.shape import shape_table

    clear_cache()  # every repeat starts cold
    table = shape_table(masks)
    table.update(intensity_table(channels, masks, background=background))
    return table


def timed(fn, *args):
    """(wall seconds, CPU seconds of this process, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def best_of(repeat: int, fn, *args):
    runs = [timed(fn, *args) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs), runs[-1][2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for our timings")
    args = parser.parse_args()
    from skimage.measure import regionprops_table

    masks, channels = make_scene(args.objects, args.size)
    n = len(np.unique(masks)) - 1
    print(f"scene: {masks.shape[0]}x{masks.shape[1]}, {n} objects, 3 channels uint16, "
          f"{(masks > 0).mean():.0%} foreground")
    timings = {bg: best_of(args.repeat, run_ours, channels, masks, bg)
               for bg in ("none", "image", "ring")}
    ours = timings["none"][2]
    sk_wall, sk_cpu, ref = timed(
        regionprops_table, masks, np.moveaxis(channels, 0, -1), SK_PROPS)
    worst = 0.0
    for ours_key, sk_key in PAIRS.items():
        diff = np.abs(np.asarray(ours[ours_key], float) - np.asarray(ref[sk_key], float))
        if ours_key == "orientation":  # +pi/2 and -pi/2 are the same axis
            diff = np.minimum(diff, np.abs(diff - math.pi))
        worst = max(worst, float(diff.max()))
    for c in range(3):
        for stat in ("mean", "min", "max", "std"):
            diff = np.abs(ours[f"ch{c}_{stat}"] - ref[f"intensity_{stat}-{c}"])
            worst = max(worst, float(diff.max()))
    print(f"largest |ours - skimage| over all compared columns: {worst:.3g}")
    print(f"{'':<50} wall s   CPU s   ratio (wall / CPU)")
    print(f"{'skimage regionprops_table':<50}{sk_wall:7.2f} {sk_cpu:7.2f}")
    labels = {"none": "no background", "image": "image background",
              "ring": "ring background, default"}
    for bg, (wall, cpu, _) in timings.items():
        name = f"ours shape + intensity ({labels[bg]})"
        print(f"{name:<50}{wall:7.2f} {cpu:7.2f}   "
              f"{sk_wall / wall:5.1f}x / {sk_cpu / cpu:5.1f}x")

if __name__ == "__main__":
    main()
