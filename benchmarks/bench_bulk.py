"""Bulk label operations on a 4096x4096 image with 10,000 objects (Trainer, offscreen).

Measures, end to end (document edit + overlay + processing the paint events):
delete of 8,000 selected objects, colour by class on/off, outline mode on/off, and the
undo of the bulk delete; plus one traced polygon (a single edit must stay <= 10 ms).
Goal (issue 13): each bulk operation < 150 ms median on the 2-core reference machine.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_bulk.py [--repeats 5] [--size 4096]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MULTICELLPOSE_HOME", tempfile.mkdtemp(prefix="mcp_bench_"))

from synthetic import close_trainer, disc_grid, open_trainer, timed_ms  # noqa: E402  (after the env)


def _float_composite(planes: np.ndarray, displays) -> np.ndarray:
    """The display composite before issue 13 (float32 arithmetic), for the ratio."""
    from guv_app.views.trainer.composite import CHANNEL_COLORS

    c, h, w = planes.shape
    acc = np.zeros((h, w, 3), np.float32)
    for i in range(c):
        d = displays[i]
        if not d.visible:
            continue
        norm = np.clip((planes[i].astype(np.float32) - d.low) / max(d.high - d.low, 1e-12),
                       0.0, 1.0)
        rgb = np.asarray(CHANNEL_COLORS.get(d.color, (255, 255, 255)), np.float32)
        for k in range(3):
            if rgb[k]:
                acc[..., k] += norm * rgb[k]
    return np.clip(acc, 0, 255).astype(np.uint8)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--objects", type=int, default=10000)
    ap.add_argument("--old", action="store_true",
                    help="also time the per-object delete once (the path before the bulk "
                         "edit; ~5-10 s) and print the ratio")
    args = ap.parse_args()
    from guv_app.services.annotation import ClassTable

    rng = np.random.default_rng(1)
    masks = disc_grid(args.size, args.objects)
    n_obj = int(masks.max())
    classes = rng.integers(1, 4, n_obj + 1).astype(np.int32)
    table = ClassTable.from_lists(["background", "a", "b", "c"])
    app, ctl = open_trainer(rng.integers(0, 4000, (1, args.size, args.size)).astype(np.uint16))
    doc, overlay = ctl.doc, ctl.canvas.overlay

    def timed(fn) -> float:
        return timed_ms(app, fn)

    delete, undo_delete, cbc_on, cbc_off, out_on, out_off, trace = [], [], [], [], [], [], []
    contrast, contrast_old = [], []
    for _ in range(args.repeats):
        doc.reset(masks, classes, table)
        app.processEvents()
        ids = rng.choice(np.arange(1, n_obj + 1), 8000, replace=False)
        doc.set_selection(ids)
        app.processEvents()
        delete.append(timed(lambda: ctl.window.actions["delete"].trigger()))
        undo_delete.append(timed(doc.undo))
        cbc_on.append(timed(lambda: ctl.set_color_by_class(True)))
        cbc_off.append(timed(lambda: ctl.set_color_by_class(False)))
        out_on.append(timed(lambda: overlay.set_mode("outlines")))
        out_off.append(timed(lambda: overlay.set_mode("filled")))
        cx, cy = rng.uniform(100, args.size - 100, 2)
        t = np.linspace(0, 2 * np.pi, 120, endpoint=False)
        poly = np.stack([cx + 20 * np.cos(t), cy + 20 * np.sin(t)], axis=1)
        trace.append(timed(lambda p=poly: doc.add_polygon(p, overwrite=True)))
        import dataclasses

        disp = [dataclasses.replace(d, high=d.high * rng.uniform(0.5, 0.9)) for d in ctl.displays]
        contrast.append(timed(lambda d=disp: ctl.set_displays(d)))
        contrast_old.append(timed(lambda d=disp: ctl.canvas.set_image(
            _float_composite(ctl.planes, d), keep_view=True)))
    med = statistics.median
    old_delete = None
    if args.old:
        from guv_app.services.annotation import edits

        bulk, edits._BULK = edits._BULK, 10**9  # per-object writes, as before issue 13
        doc.reset(masks, classes, table)
        app.processEvents()
        doc.set_selection(rng.choice(np.arange(1, n_obj + 1), 8000, replace=False))
        app.processEvents()
        old_delete = timed(lambda: ctl.window.actions["delete"].trigger())
        edits._BULK = bulk
    print(f"image {args.size}x{args.size}, {n_obj} objects, {args.repeats} repeats (medians, ms)")
    for name, vals in (("delete 8000 selected", delete), ("undo that delete", undo_delete),
                       ("colour by class on", cbc_on), ("colour by class off", cbc_off),
                       ("outline mode on", out_on), ("outline mode off", out_off),
                       ("one traced polygon", trace),
                       ("contrast change", contrast),
                       ("contrast (old float path)", contrast_old)):
        print(f"{name:24s} {med(vals):9.1f}   (max {max(vals):.1f})")
    if old_delete is not None:
        print(f"per-object delete (old)  {old_delete:9.1f}   ratio old/new "
              f"{old_delete / med(delete):.0f}x")
    print(f"load average while running: {os.getloadavg()[0]:.1f} (goal measured at <= 2)")
    close_trainer(ctl)
    return 0


if __name__ == "__main__":
    sys.exit(main())
