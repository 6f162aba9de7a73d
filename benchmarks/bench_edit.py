"""Edit-to-screen time of one traced polygon on a 2048x2048 image with 3000 objects.

Compares, in the same run and window, the Trainer's per-bounding-box overlay update with a
full overlay redraw (recolour every pixel + repaint). Goal: edit-to-screen <= 2 ms.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_edit.py [--repeats 60]

"Edit to screen" = document edit (rasterise polygon in its bbox, write labels, undo atom)
+ overlay recolour of the bbox + processing the resulting paint events.
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


def traced_polygon(cx: float, cy: float, radius: float = 20.0, n: int = 120) -> np.ndarray:
    """A hand-traced-looking closed contour (wobbly circle) of ``n`` vertices."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rr = radius * (1 + 0.1 * np.sin(5 * t))
    return np.stack([cx + rr * np.cos(t), cy + rr * np.sin(t)], axis=1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=60)
    args = ap.parse_args()
    from guv_app.services.annotation import ClassTable

    rng = np.random.default_rng(1)
    masks = disc_grid(2048, 3000, radius_frac=0.33)
    n_obj = int(masks.max())
    classes = rng.integers(1, 3, n_obj + 1).astype(np.int32)
    app, ctl = open_trainer(rng.integers(0, 4000, (1, 2048, 2048)).astype(np.uint16))
    ctl.doc.reset(masks, classes, ClassTable.from_lists(["background", "a", "b"]))
    for _ in range(5):
        app.processEvents()
    doc, overlay = ctl.doc, ctl.canvas.overlay

    def timed(fn) -> float:
        return timed_ms(app, fn)

    edit, undo, full = [], [], []
    for i in range(args.repeats):
        cx, cy = rng.uniform(100, 1948, 2)
        poly = traced_polygon(cx, cy)
        edit.append(timed(lambda p=poly: doc.add_polygon(p, overwrite=True)))
        undo.append(timed(doc.undo))
        full.append(timed(overlay.redraw))
        if i == 0:  # warm-up round
            edit.clear(), undo.clear(), full.clear()
    ctl.set_color_by_class(True)
    full_class = [timed(lambda: overlay.set_lut(ctl._lut())) for _ in range(max(args.repeats // 3, 5))]
    edit_class = []
    for _ in range(max(args.repeats // 3, 5)):
        cx, cy = rng.uniform(100, 1948, 2)
        edit_class.append(timed(lambda c=cx, y=cy: doc.add_polygon(traced_polygon(c, y),
                                                                    overwrite=True)))
        doc.undo()
        app.processEvents()

    med = statistics.median
    print(f"image 2048x2048, {n_obj} objects, polygon radius 20 px / 120 vertices, "
          f"{len(edit)} repeats (medians)")
    print(f"edit-to-screen (bbox update):      {med(edit):7.3f} ms   (goal <= 2 ms)")
    print(f"undo-to-screen (bbox update):      {med(undo):7.3f} ms")
    print(f"full overlay redraw + paint:       {med(full):7.3f} ms")
    print(f"ratio full / edit:                 {med(full) / med(edit):7.1f} x")
    print(f"colour by class: edit-to-screen    {med(edit_class):7.3f} ms, "
          f"full LUT + redraw {med(full_class):7.3f} ms")
    close_trainer(ctl)
    return 0


if __name__ == "__main__":
    sys.exit(main())
