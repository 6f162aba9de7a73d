"""Registry folders: built-ins, saving/reading trained models, names, broken folders."""

from __future__ import annotations

import io
import json
import os

import pytest

from guv_app import paths
from guv_app.cli.main import main
from guv_app.services.engine import registry
from guv_app.services.engine.errors import ModelLoadError, ModelNameError, ModelNotFoundError
from guv_app.services.engine.meta import ModelMeta


def _meta(**kw) -> ModelMeta:
    base = dict(name="x", backbone="tiny", n_classes=2, class_names=["background", "GUV", "dead"],
                parent="tiny", channels=[1, 0], extra={"metrics": {"ap50": 0.71}})
    base.update(kw)
    return ModelMeta(**base)


def test_meta_round_trip_keeps_unknown_keys():
    meta = _meta()
    data = json.loads(json.dumps(meta.to_dict()))
    assert data["metrics"] == {"ap50": 0.71}
    again = ModelMeta.from_dict(data)
    assert again == meta
    assert again.class_colors[0] == (0, 0, 0) and len(again.class_colors) == 3
    with pytest.raises(ValueError, match="class names"):
        ModelMeta(name="y", backbone="tiny", n_classes=2, class_names=["background"])


def test_builtins_first_and_not_overwritable():
    names = [m.name for m in registry.list_models()]
    assert names[:2] == ["cpsam", "tiny"]
    assert registry.get_model_meta("cpsam").backbone == "vit_l"
    assert not registry.is_name_free("tiny")
    with pytest.raises(ModelNameError):
        registry.save_model("cpsam", _meta(), {})


def test_save_and_load_trained_model_by_name():
    torch = pytest.importorskip("torch")
    from guv_app.services.engine.loading import load_model
    from guv_app.services.engine.network import build_network

    net = build_network("tiny", 2, seed=8)
    assert registry.is_name_free("guv-v1")
    folder = registry.save_model("guv-v1", _meta(), net.state_dict())
    assert folder == paths.models_dir() / "guv-v1"
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "weights.pt"]
    umask = os.umask(0)
    os.umask(umask)
    assert folder.stat().st_mode & 0o777 == 0o777 & ~umask  # readable by colleagues
    assert not registry.is_name_free("guv-v1")
    meta = registry.get_model_meta("guv-v1")
    assert meta.kind == "trained" and meta.weights == {"kind": "state_dict", "file": "weights.pt"}
    assert meta.extra["metrics"]["ap50"] == 0.71
    assert [m.name for m in registry.list_models()][-1] == "guv-v1"
    loaded = load_model("guv-v1", "cpu")
    x = torch.rand((1, 3, 256, 256), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(loaded.net(x)[0], net(x)[0])
    assert load_model(str(folder), "cpu").meta.name == "guv-v1"  # by folder path too
    with pytest.raises(ModelNameError, match="already exists"):
        registry.save_model("guv-v1", _meta(), net.state_dict())
    # leftovers of the atomic save are not listed as models
    assert not [p for p in paths.models_dir().iterdir() if p.name.startswith(".")]


def test_broken_folder_is_skipped_in_list_and_explained_on_get():
    folder = paths.models_dir() / "broken"
    folder.mkdir()
    (folder / "meta.json").write_text("{not json", encoding="utf-8")
    assert "broken" not in [m.name for m in registry.list_models()]
    with pytest.raises(ModelLoadError, match="meta.json"):
        registry.get_model_meta("broken")
    with pytest.raises(ModelNotFoundError, match="no model named 'nothing'"):
        registry.get_model_meta("nothing")


@pytest.mark.parametrize("name", ["", "../up", "a/b", ".hidden", "x" * 101, "sp ace"])
def test_invalid_names(name):
    assert not registry.is_name_free(name)
    with pytest.raises(ModelNameError):
        registry.validate_name(name)


def test_models_command_lists_registry(capsys):
    folder = paths.models_dir() / "listed"
    folder.mkdir()
    (folder / "meta.json").write_text(json.dumps(_meta(name="listed").to_dict()))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "cpsam" in out and "tiny" in out
    assert "listed" in out and "GUV, dead" in out
    assert main(["models", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["name"] for r in rows] == ["cpsam", "tiny", "listed"]


def test_lora_kind_loads_parent_weights_then_the_fine_tune():
    """A 'lora' model: the engine loads the parent's weights, then the training service's
    ``apply_finetune`` adds what training changed (here: only the class head). Files
    written before the kinds were told apart say "lora" for a head-only run."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("guv_app.services.training.adapt")
    from guv_app.services.engine.loading import load_model
    from guv_app.services.engine.network import build_network

    parent = build_network("tiny", 0, seed=31)
    registry.save_model("parent", _meta(n_classes=0, class_names=[], channels=None),
                        parent.state_dict())
    head = build_network("tiny", 2, seed=32)
    trained = {k: v for k, v in head.state_dict().items() if k.startswith("class_out.")}
    buf = io.BytesIO()
    torch.save({"lora": {}, "trained": trained}, buf)
    meta = _meta(parent="parent", weights={"kind": "lora", "file": "adapter.pt", "lora": None})
    registry.save_model("child", meta, files={"adapter.pt": buf.getvalue()})

    child = load_model("child", "cpu", cache=False).net
    state = child.state_dict()
    for key, value in parent.state_dict().items():
        assert torch.equal(state[key], value), key
    for key, value in trained.items():
        assert torch.equal(state[key], value), key
