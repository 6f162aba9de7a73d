"""Lineage that survives: base weights identity in meta.json, parent checked when a LoRA
model loads, children protected on delete and marked when orphaned, weights files as base
models and imported into the registry."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from guv_app.cli.main import main

FAST = ["--blocks", "1", "--epochs", "1", "--batch-size", "1", "--images-per-epoch", "1",
        "--device", "cpu", "--test-ratio", "0", "--mode", "lora"]


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def weights_file(tmp_path) -> Path:
    """A plain weights file of the tiny backbone (what a Cellpose user has on disk)."""
    from guv_app.services.engine.loading import load_model

    net = load_model("tiny", device="cpu", cache=False).net
    path = tmp_path / "my_cellpose_weights.pt"
    torch.save({k: v.clone() for k, v in net.state_dict().items()}, path)
    return path


def test_import_base_path_lineage_and_parent_checks(seg_folder, weights_file, capsys):
    from guv_app.services.engine import registry
    from guv_app.services.engine.errors import ModelLoadError
    from guv_app.services.engine.loading import clear_cache, load_model

    assert main(["models", "--import", str(weights_file), "--name", "imported"]) == 0
    imported = registry.get_model_meta("imported")
    assert imported.backbone == "tiny" and imported.n_classes == 0
    weights = registry.model_dir("imported") / registry.WEIGHTS_FILE
    assert weights.is_file()  # the registry holds its own copy, not a reference
    assert imported.extra["imported"]["sha256"] == _sha(weights_file)
    a = load_model("imported", device="cpu", cache=False).net.state_dict()
    b = torch.load(weights_file)
    assert all(torch.equal(a[k], b[k]) for k in b)

    # a child of the imported model, and one trained straight from the weights file
    assert main(["train", "--train-dir", str(seg_folder), "--model-name", "child",
                 "--base-model", "imported", *FAST]) == 0
    assert main(["train", "--train-dir", str(seg_folder), "--model-name", "from-file",
                 "--base-model", str(weights_file), *FAST]) == 0
    meta = json.loads((registry.model_dir("child") / "meta.json").read_text())
    base = meta["lineage"]["base"]
    assert base["name"] == "imported" and base["path"] == str(weights.resolve())
    assert base["sha256"] == _sha(weights)
    assert meta["lineage"]["datasets"] == [str(seg_folder.resolve())]
    for f in meta["lineage"]["files"]:
        assert Path(f["image"]).is_absolute() and f["labels_sha256"] == _sha(f["labels"])
    from_file = registry.get_model_meta("from-file")
    assert from_file.parent == str(weights_file.resolve())
    assert from_file.extra["lineage"]["base"]["sha256"] == _sha(weights_file)
    load_model("from-file", device="cpu", cache=False)

    # the parent changes under the child: loading says so instead of a silently wrong model
    state = torch.load(weights)
    first = next(iter(state))
    state[first] = state[first] + 0.5
    torch.save(state, weights)
    clear_cache()
    with pytest.raises(ModelLoadError, match="was trained on 'imported'"):
        load_model("child", device="cpu", cache=False)

    capsys.readouterr()
    assert main(["models", "--delete", "imported"]) == 2  # others were trained from it
    err = capsys.readouterr().err
    assert "parent of child" in err and registry.model_dir("imported").exists()
    assert main(["models", "--delete", "imported", "--force"]) == 0
    capsys.readouterr()
    assert main(["models"]) == 0
    table = capsys.readouterr().out
    child_line = next(line for line in table.splitlines() if line.startswith("child "))
    assert "UNUSABLE: parent missing: imported" in child_line
    assert "UNUSABLE" not in next(line for line in table.splitlines()
                                  if line.startswith("from-file "))
    with pytest.raises(ModelLoadError, match="missing"):
        load_model("child", device="cpu", cache=False)


def test_import_errors_are_one_line(tmp_path, capsys):
    assert main(["models", "--import", str(tmp_path / "nope.pt"), "--name", "x"]) == 2
    assert "not found" in capsys.readouterr().err
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not weights")
    assert main(["models", "--import", str(bad), "--name", "x"]) == 2
    assert "bad.pt" in capsys.readouterr().err
