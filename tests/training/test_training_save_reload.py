"""A fine-tune lands in the registry, says what it claims, and reloads to the same output."""

from __future__ import annotations

import csv
import hashlib
import json

import numpy as np
import pytest
import torch
from tr_helpers import CLASS_NAMES, STEMS, fast_config, snapshot

from guv_app.services.datasets import DatasetOptions


def _segment(net_or_model, meta, image):
    from guv_app.services.engine.inference import SegmentParams, segment
    from guv_app.services.engine.loading import LoadedModel

    model = net_or_model
    if not isinstance(model, LoadedModel):
        model = LoadedModel(net=net_or_model.eval(), meta=meta, device=torch.device("cpu"))
    return segment(image, model, SegmentParams(device="cpu"))


@pytest.mark.parametrize("mode", ["lora", "unfreeze", "head"])
def test_saved_model_reloads_with_identical_output(mode, seg_folder):
    """Every training mode saves a fine-tune that says what it is and reloads exactly."""
    from cellpose_io import read_image
    from guv_app.services.engine import registry
    from guv_app.services.engine.loading import load_model
    from guv_app.services.training.runner import run_training

    before = snapshot(seg_folder)
    config = fast_config(model_name=f"ft-{mode}", mode=mode, epochs=2, validate_every=1)
    events = []
    out = run_training(seg_folder, config, DatasetOptions(test_ratio=0.34, seed=0),
                       progress=events.append)
    assert not out.cancelled and out.model_dir == registry.model_dir(f"ft-{mode}")
    assert snapshot(seg_folder) == before  # the user's label folder is untouched
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and kinds.count("epoch") == 2
    assert all(e.metrics is not None for e in events if e.kind == "epoch")

    image = read_image(seg_folder / f"{STEMS[0]}.png").plane()
    loaded = load_model(f"ft-{mode}", device="cpu", cache=False)
    assert loaded.meta.weights["kind"] == mode
    assert (loaded.meta.weights["lora"] is not None) == (mode == "lora")
    assert loaded.meta.class_names == CLASS_NAMES and loaded.meta.parent == "tiny"
    mem = _segment(out.result.net, loaded.meta, image)
    disk = _segment(loaded, loaded.meta, image)
    np.testing.assert_array_equal(disk.flows, mem.flows)
    np.testing.assert_array_equal(disk.masks, mem.masks)
    np.testing.assert_array_equal(disk.classes, mem.classes)
    # and the fine-tune really differs from its parent
    parent = _segment(load_model("tiny", device="cpu"), loaded.meta, image)
    assert not np.allclose(parent.flows, disk.flows)


def test_meta_json_and_losses_csv_contain_what_they_claim(seg_folder):
    from guv_app.services.training.runner import run_training

    config = fast_config(model_name="ft-meta", epochs=3, validate_every=2, save_merged=True)
    out = run_training(seg_folder, config, DatasetOptions(test_ratio=0.34, seed=0))
    folder = out.model_dir
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["backbone"] == "tiny" and meta["n_classes"] == 2
    assert meta["class_names"] == CLASS_NAMES and len(meta["class_colors"]) == 3
    assert meta["parent"] == "tiny" and meta["weights"]["kind"] == "lora"
    assert meta["weights"]["lora"]["blocks"] == [1] and meta["weights"]["lora"]["rank"] == 8
    assert meta["weights"]["merged_file"] == "weights.pt" and (folder / "weights.pt").is_file()
    training = meta["training"]
    assert training["mode"] == "lora" and training["config"]["epochs"] == 3
    assert training["config"]["learning_rate"] == 3e-3
    counts = training["trainable_parameters"]
    assert counts["lora"] > 0 and counts["trainable"] == counts["lora"] + counts["head"]
    files = meta["dataset"]["files"]
    assert sorted(f["role"] for f in files) == ["train", "train", "val"]
    for f in files:
        for key in ("image", "labels"):
            digest = hashlib.sha256(open(f[key], "rb").read()).hexdigest()
            assert f[f"{key}_sha256"] == digest
    metrics = meta["metrics"]
    assert metrics["thresholds"] == [0.5, 0.75, 0.9] and len(metrics["per_image"]) == 1
    assert metrics["per_image"][0]["n_true"] > 0
    assert {"dataset_s", "train_s", "evaluate_s"} <= set(meta["timings"])
    assert {"cellpose", "torch", "peft"} <= set(meta["versions"])

    rows = list(csv.DictReader(open(folder / "losses.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert [r["val_loss"] != "" for r in rows] == [False, True, True]
    assert all(float(r["train_loss"]) > 0 and float(r["lr"]) > 0 for r in rows)
    assert float(rows[1]["f1"]) >= 0 and rows[0]["f1"] == ""
    assert abs(float(rows[-1]["train_loss"]) - training["final_train_loss"]) < 1e-9
    adapter = torch.load(folder / "adapter.pt", weights_only=True)
    assert adapter["lora"] and all("lora_" in k for k in adapter["lora"])
    assert set(adapter["trained"]) == {"out.weight", "out.bias", "class_out.weight",
                                       "class_out.bias"}
    # the merged full weights (written because save_merged) load to the same network
    from guv_app.services.engine.loading import load_model

    loaded = load_model("ft-meta", device="cpu", cache=False)
    mine = out.result.net.state_dict()
    assert all(torch.equal(v, mine[k]) for k, v in loaded.net.state_dict().items())


def test_adapter_that_does_not_fit_is_an_error_not_random_weights(seg_folder):
    from guv_app.services.engine.errors import ModelLoadError
    from guv_app.services.engine.loading import load_model
    from guv_app.services.training.runner import run_training

    out = run_training(seg_folder, fast_config(model_name="ft-bad", epochs=1),
                       DatasetOptions(test_ratio=0.0))
    path = out.model_dir / "adapter.pt"
    payload = torch.load(path, weights_only=True)
    payload["lora"].pop(next(iter(payload["lora"])))
    torch.save(payload, path)
    with pytest.raises(ModelLoadError, match="LoRA weights do not fit"):
        load_model("ft-bad", device="cpu", cache=False)
