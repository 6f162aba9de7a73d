"""bfloat16 vs float32 inference: do the masks agree, and what does each cost?

For every model and every labelled test image (tests/data/labelled: 6 DSB2018 images and
the stardist 512x512 image) the image is segmented three times with ``segment``: weights
in float32, weights in bfloat16 (upstream Cellpose's default, ``use_bfloat16=True``), and
float32 weights under ``torch.autocast(bfloat16)`` (what a float32-loaded model gets when
bfloat16 is asked for). The float32 masks are the reference: AP@0.5 and the mean IoU of
matched objects (upstream's ``cellpose.metrics``), the foreground pixel IoU and the largest
flow/cellprob difference are printed per model (worst image and mean), with the time of
each run. ``vit_l`` is Cellpose-SAM with random weights (no hub here): its "objects" are
noise, so its agreement is a worst case, not what a trained model shows.

    python benchmarks/bench_dtype.py [--models tiny,nuclei-starter] [--vit-l] [--images N]

About 1 minute for the two tiny models on a 2-core CPU; ``--vit-l`` adds ~2 s x tiles per
run (the 512x512 image is 9 tiles): ~8 minutes.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "tests" / "data" / "labelled"


def test_images(limit: int) -> list[Path]:
    files = sorted((LABELLED / "dsb2018" / "images").glob("*.png"))
    files.append(LABELLED / "stardist" / "img2d.tif")
    return files[:limit] if limit else files


def agreement(reference: np.ndarray, other: np.ndarray) -> dict:
    """AP@0.5 / matched-object IoU of ``other`` against ``reference`` (upstream metrics)."""
    from cellpose import metrics

    ap, tp, fp, fn = metrics.average_precision([reference], [other], threshold=[0.5])
    iou = metrics._intersection_over_union(other, reference)[1:, 1:]
    matched = iou.max(axis=0) if iou.size else np.zeros(0)
    fg_ref, fg_other = reference > 0, other > 0
    union = np.logical_or(fg_ref, fg_other).sum()
    return {
        "ap50": float(ap[0, 0]) if reference.max() or other.max() else 1.0,
        "matched_iou": float(matched[matched >= 0.5].mean()) if (matched >= 0.5).any() else 1.0,
        "fg_iou": float(np.logical_and(fg_ref, fg_other).sum() / union) if union else 1.0,
        "n_ref": int(reference.max()), "n_other": int(other.max()),
    }


def run(models: list[str], images: list[Path]) -> None:
    import torch

    import cellpose_io
    from guv_app.services.engine.inference import SegmentParams, segment
    from guv_app.services.engine.loading import LoadedModel, load_model

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{len(images)} images")
    print(f"{'model':15} {'variant':9} {'AP@0.5 min/mean':>16} {'IoU matched':>11} "
          f"{'fg IoU min':>10} {'objects fp32/x':>14} {'max|dflow|':>10} {'s/img':>6}")
    for name in models:
        fp32 = load_model(name, "cpu", dtype="float32", cache=False)
        variants = {
            "float32": (fp32, "float32"),
            "bfloat16": (load_model(name, "cpu", dtype="bfloat16", cache=False), "bfloat16"),
            "autocast": (LoadedModel(fp32.net, fp32.meta, fp32.device), "bfloat16"),
        }
        results: dict[str, list] = {v: [] for v in variants}
        seconds: dict[str, list] = {v: [] for v in variants}
        for path in images:
            with cellpose_io.read_image(path) as img:
                pixels = img.plane()
            for variant, (loaded, dtype) in variants.items():
                tic = time.perf_counter()
                res = segment(pixels, loaded, SegmentParams(dtype=dtype, device="cpu"))
                seconds[variant].append(time.perf_counter() - tic)
                results[variant].append(res)
        for variant in ("bfloat16", "autocast"):
            rows = [agreement(a.masks, b.masks)
                    for a, b in zip(results["float32"], results[variant], strict=True)]
            diff = max(max(float(np.abs(a.flows - b.flows).max()),
                           float(np.abs(a.cellprob - b.cellprob).max()))
                       for a, b in zip(results["float32"], results[variant], strict=True))
            aps = [r["ap50"] for r in rows]
            print(f"{name:15} {variant:9} {min(aps):7.3f}/{statistics.mean(aps):<8.3f} "
                  f"{statistics.mean(r['matched_iou'] for r in rows):11.3f} "
                  f"{min(r['fg_iou'] for r in rows):10.3f} "
                  f"{sum(r['n_ref'] for r in rows):>7}/{sum(r['n_other'] for r in rows):<6} "
                  f"{diff:10.3g} {statistics.median(seconds[variant]):6.2f}", flush=True)
        print(f"{name:15} {'float32':9} {'':16} {'':11} {'':10} {'':14} {'':10} "
              f"{statistics.median(seconds['float32']):6.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="tiny,nuclei-starter",
                        help="comma-separated model names or weights files")
    parser.add_argument("--vit-l", action="store_true",
                        help="also a random-weight vit_l (saved to a temporary file)")
    parser.add_argument("--images", type=int, default=0, help="use only the first N images")
    args = parser.parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    images = test_images(args.images)
    if args.vit_l:
        import tempfile

        from benchmarks.synthetic import random_vit_l_file

        with tempfile.TemporaryDirectory() as tmp:
            run([*models, str(random_vit_l_file(Path(tmp) / "vit_l_random.pt"))], images)
    else:
        run(models, images)


if __name__ == "__main__":
    main()
