"""Cellpose checkpoints out (upstream CellposeModel runs them) and in (import to the registry)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import cellpose_io  # noqa: E402
from guv_app.cli.main import main  # noqa: E402
from guv_app.services.engine import registry  # noqa: E402
from guv_app.services.engine.inference import SegmentParams, prepare_image, segment  # noqa: E402
from guv_app.services.engine.loading import load_model  # noqa: E402
from guv_app.services.engine.meta import ModelMeta  # noqa: E402
from guv_app.services.engine.network import build_network  # noqa: E402
from guv_app.services.export.cellpose_file import cellpose_state_dict, export_cellpose  # noqa: E402
from guv_app.services.export.errors import ExportError, ImportModelError  # noqa: E402
from guv_app.services.export.importing import import_model  # noqa: E402

DSB = Path(__file__).resolve().parents[1] / "data" / "labelled" / "dsb2018" / "images"
FLUO = DSB / "fluorescence_00071198d059.png"  # 256 x 256: one network tile


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return cellpose_io.read_image(FLUO).plane()


def _register(name: str, net, n_classes: int, backbone: str = "tiny") -> None:
    names = ["background"] + [f"kind {i}" for i in range(1, n_classes + 1)]
    meta = ModelMeta(name=name, backbone=backbone, n_classes=n_classes, class_names=names)
    registry.save_model(name, meta, net.state_dict())


def test_class_head_is_dropped_and_nothing_else():
    net = build_network("tiny", 2, seed=4)
    state, dropped = cellpose_state_dict(net)
    assert sorted(dropped) == ["class_W2", "class_out.bias", "class_out.weight"]
    plain = build_network("tiny", 0).state_dict()
    assert set(state) == set(plain)  # exactly the flows network's keys
    for key, value in state.items():
        assert value.dtype == torch.float32 and value.shape == plain[key].shape
        assert torch.equal(value, net.state_dict()[key])


def test_backbones_upstream_cannot_build_are_refused_with_the_alternative(tmp_path):
    _register("tiny2", build_network("tiny", 2, seed=5), 2)
    out = tmp_path / "tiny2.pt"
    with pytest.raises(ExportError, match=r"tiny backbone.*--format bioimageio"):
        export_cellpose("tiny2", out)
    assert not out.exists()
    # the CLI says it in one line, exit code 2
    assert main(["export", "tiny2", "--format", "cellpose", "--out", str(out)]) == 2


def test_existing_output_is_not_overwritten(tmp_path):
    out = tmp_path / "taken.pt"
    out.write_bytes(b"keep me")
    with pytest.raises(ExportError, match="already exists"):
        export_cellpose("tiny", out)
    assert out.read_bytes() == b"keep me"


def test_upstream_trained_file_imports_and_segments_like_the_source(tmp_path, image, capsys):
    """A checkpoint written by upstream's own ``CPSAM.save_model`` (tiny-shaped encoder, as
    the vit_l one would be too slow here) imports with equal masks."""
    from cellpose.vit import CPSAM

    source = build_network("tiny", 0, seed=11)
    with torch.device("meta"):
        up = CPSAM(nout=3)
    for part in ("encoder", "out", "W2", "diam_labels", "diam_mean"):
        setattr(up, part, copy.deepcopy(getattr(source, part)))
    path = tmp_path / "cellpose_trained_model"  # upstream names have no suffix
    up.save_model(str(path))

    assert main(["import", str(path), "--name", "from-upstream"]) == 0
    assert "from-upstream" in capsys.readouterr().out
    meta = registry.get_model_meta("from-upstream")
    assert meta.backbone == "tiny" and meta.n_classes == 0 and meta.parent is None
    assert meta.extra["imported"]["format"] == "cellpose"
    assert meta.extra["imported"]["source"] == str(path.resolve())

    reference = load_model(_as_file(tmp_path, source), "cpu")
    params = SegmentParams(flow_threshold=0.0, diameter=40.0, device="cpu", dtype="float32")
    ref = segment(image, reference, params)
    got = segment(image, "from-upstream", params)
    assert ref.n_objects > 3
    assert np.array_equal(got.masks, ref.masks)
    assert np.array_equal(got.flows, ref.flows)


def _as_file(tmp_path: Path, net) -> str:
    path = tmp_path / "reference.pt"
    torch.save(net.state_dict(), path)
    return str(path)


def test_import_refuses_what_is_not_a_checkpoint(tmp_path):
    junk = tmp_path / "notes.pt"
    junk.write_bytes(b"not torch at all")
    with pytest.raises(ImportModelError, match=r"notes\.pt.*Cellpose 4 checkpoint"):
        import_model(junk)
    partial = build_network("tiny", 0).state_dict()
    partial.pop("out.weight")
    torch.save(partial, tmp_path / "partial.pt")
    with pytest.raises(ImportModelError, match=r"partial\.pt.*missing.*out\.weight"):
        import_model(tmp_path / "partial.pt")
    assert registry.list_models() == registry.builtin_models()  # nothing registered


def test_import_names_never_replace_a_model(tmp_path):
    path = tmp_path / "nuclei.pt"
    torch.save(build_network("tiny", 1, seed=2).state_dict(), path)
    first = import_model(path)
    second = import_model(path)
    assert (first.name, second.name) == ("nuclei", "nuclei-2")
    assert second.meta.n_classes == 1
    with pytest.raises(ValueError, match="already exists"):
        import_model(path, "nuclei")


@pytest.mark.slow
def test_vit_l_export_runs_in_upstream_cellpose_with_equal_masks(tmp_path, image):
    """A randomly initialised vit_l with a 2-class head, exported: upstream
    ``CellposeModel(pretrained_model=FILE)`` builds it, loads it and segments a 256 x 256
    image (one tile) into exactly our objects. ~1-2 min on 2 CPU cores."""
    from cellpose.models import CellposeModel

    weights = tmp_path / "vit_l_2class.pt"
    torch.save(build_network("vit_l", 2, seed=1).state_dict(), weights)
    out = tmp_path / "exported_cpsam"
    assert main(["export", str(weights), "--format", "cellpose", "--out", str(out)]) == 0
    del weights

    ours_model = load_model(str(tmp_path / "vit_l_2class.pt"), "cpu", cache=False)
    params = SegmentParams(flow_threshold=0.4, device="cpu", dtype="float32")  # as upstream's
    ours = segment(image, ours_model, params)
    del ours_model

    upstream = CellposeModel(gpu=False, pretrained_model=str(out), use_bfloat16=False)
    assert upstream.backbone == "sam_vitl"
    theirs, flows, _ = upstream.eval(prepare_image(image, None), channel_axis=2,
                                     flow_threshold=params.flow_threshold)
    assert np.array_equal(ours.masks, theirs)
    np.testing.assert_allclose(ours.cellprob, flows[2], atol=1e-5)


def test_imported_full_weights_stay_usable_when_their_parent_is_elsewhere(tmp_path):
    """An imported model keeps its lineage (parent from another machine) but carries full
    weights: ``models`` must not mark it unusable for a parent it does not need."""
    from guv_app.services.engine.lineage import parent_status

    path = tmp_path / "from-colleague.pt"
    torch.save(build_network("tiny", 0, seed=8).state_dict(), path)
    result = import_model(path)
    meta = registry.get_model_meta(result.name)
    meta.parent = "their-private-model"
    assert parent_status(meta) == ""
    finetune = ModelMeta(name="ft", backbone="tiny", parent="their-private-model",
                         weights={"kind": "lora", "file": "adapter.pt"})
    assert parent_status(finetune).startswith("parent missing")
