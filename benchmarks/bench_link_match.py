"""Auto-match speed and memory: sparse IoU + per-component assignment vs the dense way.

Two channels of N discs each (channel 1: smaller discs, jittered: the content of channel
0's objects), on a size x size label image. Ours: ``linking.match_by_iou`` (IoU from the
overlapping pixel pairs, ``linear_sum_assignment`` per connected group of overlapping
objects). Baseline in the same run: ``cellpose.metrics._intersection_over_union`` (a dense
(N+1) x (N+1) matrix) and one ``linear_sum_assignment`` over it. Both must give the same
pairs. Prints the time ratio baseline / ours (goal >= 5 at 5,000 objects) and the size of
the baseline's IoU matrix, which ours never builds.

    python benchmarks/bench_link_match.py [--objects 5000] [--size 2048] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from synthetic import disc_grid


def dense_match(a: np.ndarray, b: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    from cellpose.metrics import _intersection_over_union
    from scipy.optimize import linear_sum_assignment

    iou = _intersection_over_union(a.astype(np.int32), b.astype(np.int32))[1:, 1:]
    gain = np.where(iou >= threshold, iou, 0.0)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    ok = gain[rows, cols] > 0
    return set(zip((rows[ok] + 1).tolist(), (cols[ok] + 1).tolist(), strict=True))


def main() -> None:
    from guv_app.services.linking import match_by_iou

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", type=int, default=5000)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    a = disc_grid(args.size, args.objects, radius_frac=0.4, seed=0)
    b = disc_grid(args.size, args.objects, radius_frac=0.3, jitter_y=3, jitter_x=3, seed=1)
    match_by_iou(a[:64, :64], b[:64, :64])  # imports (scipy) and first calls: not timed
    dense_match(a[:64, :64], b[:64, :64], 0.25)
    ours, base = [], []
    for _ in range(args.repeat):  # interleaved, so load on the machine hits both alike
        t0 = time.perf_counter()
        m = match_by_iou(a, b, 0.25)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        expected = dense_match(a, b, 0.25)
        base.append(time.perf_counter() - t0)
    assert set(m.pairs) == expected, "sparse and dense matchings differ"
    n = args.objects + 1
    print(f"{args.objects} objects per channel, {args.size}x{args.size}: "
          f"{len(m.pairs)} pairs")
    print(f"ours  {min(ours) * 1e3:8.1f} ms   dense {min(base) * 1e3:8.1f} ms   "
          f"ratio {min(base) / min(ours):.1f}x (goal >= 5)")
    print(f"dense IoU matrix: {n * n * 8 / 2**20:.0f} MiB float64; ours: none")


if __name__ == "__main__":
    main()
