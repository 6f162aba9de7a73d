"""Frozen merges and key moves on a 2048x2048 image (Trainer, offscreen).

Merge (issue 14): 2000 predicted objects into 2000 hand-drawn ones, modes add and fill,
end to end (merge + undo atom + overlay + paint events) and the pure merge alone, against
"Accept = replace" of the same prediction in the same run (the baseline: one full-image
write). Goal: each merge well under 1 s, within a small factor of replace. ``--old`` also
times MultiCellPose 0.9's way (one full-image comparison per predicted object) once.

Move: the arrow key on 1 and on 200 selected objects, against one traced polygon (the
edit the Trainer's 2 ms goal is about), same run.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_merge.py [--repeats 5] [--old]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MULTICELLPOSE_HOME", tempfile.mkdtemp(prefix="mcp_bench_"))

from synthetic import close_trainer, disc_grid, open_trainer, timed_ms  # noqa: E402  (after the env)


def old_add(labels: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """0.9's frozen merge (add mode): a full-image test per predicted object."""
    out = labels.copy()
    nxt = int(labels.max()) + 1
    for p in np.unique(pred[pred > 0]):
        own = pred == p
        if not (labels[own] > 0).any():
            out[own] = nxt
            nxt += 1
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--objects", type=int, default=2000)
    ap.add_argument("--old", action="store_true", help="also time 0.9's per-object merge once")
    args = ap.parse_args()
    from guv_app.services.annotation import ClassTable
    from guv_app.services.annotation.merge import merge_into_document, merge_prediction

    rng = np.random.default_rng(1)
    hand = disc_grid(args.size, args.objects, radius_frac=0.3, seed=0)
    # the prediction: discs between the hand-drawn ones (grid moved by half a cell down and
    # right), jittered so that some lie free, some touch and some overlap a hand-drawn one --
    # every branch of the merge is exercised
    cell = args.size / np.ceil(np.sqrt(args.objects))
    pred = np.roll(disc_grid(args.size, args.objects, radius_frac=0.3, shift_x=cell / 2,
                             jitter_x=0.15 * cell, jitter_y=0.15 * cell, seed=1),
                   int(cell / 2), axis=0)
    classes = rng.integers(1, 3, int(hand.max()) + 1).astype(np.int32)
    pcls = rng.integers(1, 3, int(pred.max()) + 1).astype(np.int32)
    table = ClassTable.from_lists(["background", "a", "b"])
    app, ctl = open_trainer(rng.integers(0, 4000, (1, args.size, args.size)).astype(np.uint16))
    doc = ctl.doc

    def timed(fn) -> float:
        return timed_ms(app, fn)

    rows: dict[str, list[float]] = {k: [] for k in (
        "accept = replace (baseline)", "merge add (Trainer)", "merge fill (Trainer)",
        "undo of merge fill", "merge add (numpy only)", "merge fill (numpy only)",
        "one traced polygon (baseline)", "move 1 object by 1 px", "move 200 objects by 1 px")}
    added = {}
    for _ in range(args.repeats):
        for mode in ("replace", "add", "fill"):  # interleaved: the same load for each
            doc.reset(hand, classes, table)
            app.processEvents()
            res = {}
            ms = timed(lambda m=mode, res=res: res.setdefault(
                "r", merge_into_document(doc, pred, pcls, mode=m)))
            key = "accept = replace (baseline)" if mode == "replace" else \
                f"merge {mode} (Trainer)"
            rows[key].append(ms)
            added[mode] = res["r"].n_added
            if mode == "fill":
                rows["undo of merge fill"].append(timed(doc.undo))
        for mode in ("add", "fill"):
            t0 = time.perf_counter()
            merge_prediction(hand, pred, mode)
            rows[f"merge {mode} (numpy only)"].append((time.perf_counter() - t0) * 1000)
        doc.reset(hand, classes, table)
        app.processEvents()
        cx, cy = rng.uniform(100, args.size - 100, 2)
        t = np.linspace(0, 2 * np.pi, 120, endpoint=False)
        poly = np.stack([cx + 10 * np.cos(t), cy + 10 * np.sin(t)], axis=1)
        rows["one traced polygon (baseline)"].append(
            timed(lambda p=poly: doc.add_polygon(p, overwrite=True)))
        # move: objects whose right neighbour is far enough (the grid leaves a gap)
        one = [int(rng.integers(1, int(hand.max())))]
        doc.set_selection(one)
        rows["move 1 object by 1 px"].append(timed(lambda: ctl.nudge.nudge(0, 1)))
        many = rng.choice(np.arange(1, int(hand.max()) + 1), 200, replace=False)
        doc.set_selection(many)
        rows["move 200 objects by 1 px"].append(timed(lambda: ctl.nudge.nudge(1, 0)))
    med = statistics.median
    print(f"image {args.size}x{args.size}, {int(hand.max())} hand-drawn + {int(pred.max())} "
          f"predicted objects, {args.repeats} repeats (medians, ms); added: add "
          f"{added['add']}, fill {added['fill']}")
    for name, vals in rows.items():
        print(f"{name:32s} {med(vals):9.1f}   (max {max(vals):.1f})")
    base = med(rows["accept = replace (baseline)"])
    for mode in ("add", "fill"):
        print(f"ratio merge {mode} / replace      {med(rows[f'merge {mode} (Trainer)']) / base:9.2f}")
    print(f"ratio move 1 / traced polygon    "
          f"{med(rows['move 1 object by 1 px']) / med(rows['one traced polygon (baseline)']):9.2f}")
    if args.old:
        t0 = time.perf_counter()
        old_add(hand, pred)
        old = (time.perf_counter() - t0) * 1000
        print(f"0.9-style per-object add (once) {old:9.1f}   ratio old/new "
              f"{old / med(rows['merge add (numpy only)']):.0f}x")
    print(f"load average while running: {os.getloadavg()[0]:.1f}")
    close_trainer(ctl)
    return 0


if __name__ == "__main__":
    sys.exit(main())
