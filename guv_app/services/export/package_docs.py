"""What a BioImage.IO package says about a model besides its weights: doc.md, cover, config.

Kept apart from the packaging itself (``export.bioimageio``) so the texts can be read and
changed in one place. Everything comes from the model's ``ModelMeta`` (meta.json).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CITATIONS = (
    ("Stringer, Wang, Michaelos, Pachitariu (2021). Cellpose: a generalist algorithm for "
     "cellular segmentation. Nature Methods 18, 100-106.", "10.1038/s41592-020-01018-x"),
    ("Pachitariu, Rariden, Stringer (2025). Cellpose-SAM: superhuman generalization for "
     "cellular segmentation. bioRxiv.", "10.1101/2025.04.28.648036"),
)


def cover_png(plane: np.ndarray, result, meta, path: Path) -> None:
    """2:1 PNG: the image (left) and the predicted objects outlined in class colours (right)."""
    from PIL import Image
    from skimage.segmentation import find_boundaries

    from guv_app.services.engine.inference import prepare_image

    x = prepare_image(plane, meta.channels)
    gray = x[..., 0] if meta.channels is None or len(meta.channels) == 1 else x.mean(axis=2)
    lo, hi = np.percentile(gray, (1, 99.5))
    g = np.clip((gray - lo) / (hi - lo + 1e-6) * 255, 0, 255).astype(np.uint8)
    side = min(g.shape)
    y0, x0 = (g.shape[0] - side) // 2, (g.shape[1] - side) // 2
    g = g[y0:y0 + side, x0:x0 + side]
    masks = result.masks[y0:y0 + side, x0:x0 + side]
    left = np.stack([g] * 3, axis=-1)
    right = left.copy()
    edges = find_boundaries(masks, mode="inner")
    colors = np.array(meta.class_colors if meta.n_classes else [(0, 0, 0), (255, 215, 0)],
                      np.uint8)
    cls_of = result.classes if meta.n_classes else (np.arange(masks.max() + 1) > 0).astype(int)
    right[edges] = colors[np.clip(cls_of[masks[edges]], 0, len(colors) - 1)]
    img = Image.fromarray(np.concatenate([left, right], axis=1))
    img = img.resize((512, 256), Image.Resampling.NEAREST)
    img.save(path)


def doc_markdown(meta, info, image_path: Path, n_objects: int, tile: int) -> str:
    """doc.md: what the model is for, what it was trained on, how well it did, how to run it."""
    ds = meta.extra.get("dataset") or {}
    files = ds.get("files") or []
    train = [f for f in files if f.get("role") == "train"]
    val = [f for f in files if f.get("role") == "val"]
    training = meta.extra.get("training") or {}
    metrics = meta.extra.get("metrics") or {}
    lines = [
        f"# {meta.name}", "",
        (info.description or meta.description or "Cellpose-SAM-family instance segmentation "
         "model exported from MultiCellPose."), "",
        "## Intended use",
        "Instance segmentation of cells/nuclei in 2D light-microscopy images like the training "
        "data below. The network predicts Cellpose flows (dY, dX) and a cell-probability "
        "logit per pixel; Cellpose's dynamics (`cellpose.dynamics.compute_masks`) turn them "
        "into an instance mask (label image)."
        + (" A class head predicts one of the classes below per pixel; MultiCellPose assigns "
           "each object the majority class of its pixels." if meta.n_classes else ""),
        "Not validated for other modalities, magnifications or 3D stacks.", "",
        "## Inputs and outputs",
        f"- `raw`: (batch, 3, {tile}, {tile}) float32, one network tile. Image channels fed "
        f"to the network, in order: {meta.channels if meta.channels is not None else 'the first up to 3'} "
        "(missing channels are zero). Preprocessing: 1st-99th percentile scaling per channel.",
        "- `flows`: (batch, 3, y, x): dY, dX flows and the cell-probability logit.",
    ]
    if meta.n_classes:
        lines.append("- `class_logits`: (batch, classes, y, x), background first.")
    lines += ["", "Larger images: tile with overlap and average (Cellpose `core.run_net`).", ""]
    if meta.n_classes:
        lines += ["## Classes", "| id | name | colour (RGB) |", "|---|---|---|"]
        lines += [f"| {i} | {n} | {tuple(c)} |" for i, (n, c) in
                  enumerate(zip(meta.class_names, meta.class_colors, strict=True))]
        lines.append("")
    lines.append("## Training data")
    if files:
        lines.append(f"{len(train)} training and {len(val)} validation image(s); "
                     f"{ds.get('n_train_regions', '?')} training region(s); median object "
                     f"diameter {ds.get('diam_labels', '?')} px.")
    elif ds.get("train"):  # a packaged model's summary (names and licences, no local files)
        lines.append(f"Training images: {', '.join(ds['train'])}; held out: "
                     f"{', '.join(ds.get('heldout') or []) or '-'}. {ds.get('licences', '')}")
    else:
        lines.append("Not recorded (an imported model).")
    for f in files[:20]:
        lines.append(f"- {f.get('role', '?')}: `{Path(f['image']).name}` "
                     f"(sha256 {str(f.get('image_sha256', ''))[:12]})")
    if training:
        cfg = training.get("config") or {}
        lines += ["", "## Training",
                  f"Mode {training.get('mode')}, {training.get('epochs_done')} epochs, "
                  f"{training.get('steps_done')} steps, learning rate {cfg.get('learning_rate')}, "
                  f"base model `{meta.parent or cfg.get('base_model') or '-'}`."]
    lines += ["", "## Metrics (validation images)"]
    if metrics.get("mean_ap"):
        lines += [f"- AP@{t:g}: {v:.3f}" for t, v in
                  zip(metrics.get("thresholds", []), metrics["mean_ap"], strict=False)]
    elif (meta.extra.get("heldout") or {}).get("mean_ap50") is not None:
        held = meta.extra["heldout"]
        lines.append(f"- AP@0.5 on held-out images: {held['mean_ap50']:.3f}")
        lines += [f"  - {k}: AP@0.5 {v['ap50']:.3f}, nuclei found {v['recall50']:.0%}"
                  for k, v in held.items() if isinstance(v, dict)]
    else:
        lines.append("- none recorded")
    lines += ["", "## Lineage", f"- parent model: `{meta.parent or 'none'}`",
              f"- backbone: {meta.backbone} (Cellpose-SAM architecture, 8 px patches)",
              f"- cover image: prediction on `{image_path.name}` ({n_objects} objects)", "",
              "## Citation", *[f"- {text} doi:{doi}" for text, doi in CITATIONS], ""]
    return "\n".join(lines)


def package_config(meta) -> dict:
    ds = meta.extra.get("dataset") or {}
    return {"multicellpose": {
        "name": meta.name, "backbone": meta.backbone, "n_classes": meta.n_classes,
        "class_names": list(meta.class_names),
        "class_colors": [list(c) for c in meta.class_colors],
        "channels": meta.channels, "diam_mean": meta.diam_mean,
        "default_diameter": meta.default_diameter, "parent": meta.parent,
        "training_data": [{k: f.get(k) for k in ("image", "labels", "image_sha256",
                                                 "labels_sha256", "role")}
                          for f in (ds.get("files") or [])],
        "metrics": {k: (meta.extra.get("metrics") or {}).get(k)
                    for k in ("thresholds", "mean_ap")},
    }}
