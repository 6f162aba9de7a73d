"""BioImage.IO export of a tiny fine-tune: spec-valid, bioimageio.core-tested, imports back."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("bioimageio.core")

import cellpose_io  # noqa: E402
from guv_app.cli.main import main  # noqa: E402
from guv_app.services.engine import registry  # noqa: E402
from guv_app.services.engine.inference import SegmentParams, prepare_image, segment  # noqa: E402
from guv_app.services.engine.loading import load_model  # noqa: E402
from guv_app.services.export.errors import ExportError, ImportModelError  # noqa: E402
from guv_app.services.export.importing import import_model  # noqa: E402


@pytest.fixture
def package(finetune, tmp_path, capsys):
    out = tmp_path / "tiny-ft.zip"
    code = main(["export", finetune, "--format", "bioimageio", "--out", str(out),
                 "--author", "Ada Lovelace", "--license", "MIT"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "model test: passed" in printed.out and "torchscript" in printed.out
    return out


def _validation_file(meta) -> str:
    return next(f["image"] for f in meta.extra["dataset"]["files"] if f["role"] == "val")


def test_package_is_valid_tested_and_carries_the_models_description(finetune, package):
    from bioimageio.core import test_model
    from bioimageio.spec import load_description

    meta = registry.get_model_meta(finetune)
    descr = load_description(package)
    assert descr.validation_summary.status in ("passed", "valid-format")
    assert test_model(package).status == "passed"  # bioimageio.core runs the TorchScript
    assert [str(o.id) for o in descr.outputs] == ["flows", "class_logits"]
    assert [a.name for a in descr.authors] == ["Ada Lovelace"] and str(descr.license) == "MIT"
    cfg = descr.config.model_extra["multicellpose"]
    assert cfg["class_names"] == ["background", "small nucleus", "large nucleus"]
    assert [tuple(c) for c in cfg["class_colors"]] == meta.class_colors
    assert cfg["parent"] == "tiny" and cfg["backbone"] == "tiny"
    hashes = {f["image"]: f["image_sha256"] for f in meta.extra["dataset"]["files"]}
    assert {f["image"]: f["image_sha256"] for f in cfg["training_data"]} == hashes

    with zipfile.ZipFile(package) as zf:
        doc = zf.read("doc.md").decode()
        from PIL import Image

        cover = Image.open(zf.open("cover.png"))
        test_input = np.load(zf.open("test_input.npy"))
        test_flows = np.load(zf.open("test_flows.npy"))
    assert "## Intended use" in doc and "AP@0.5" in doc and "large nucleus" in doc
    assert cover.size == (512, 256)
    # the test input is the centre 256 x 256 crop of the model's own validation image
    val = cellpose_io.read_image(_validation_file(meta)).plane()
    full = prepare_image(val, meta.channels).transpose(2, 0, 1)
    y0, x0 = (full.shape[1] - 256) // 2, (full.shape[2] - 256) // 2
    crop = full[:, max(0, y0):max(0, y0) + 256, max(0, x0):max(0, x0) + 256]
    assert test_input.shape == (1, 3, 256, 256)
    assert np.array_equal(test_input[0, :, : crop.shape[1], : crop.shape[2]], crop)
    # ...and the expected output is what OUR network (not the trace) gives after Cellpose's
    # percentile normalisation
    from cellpose.transforms import normalize_img

    x = normalize_img(test_input[0].transpose(1, 2, 0), normalize=True)[None].transpose(0, 3, 1, 2)
    net = load_model(finetune, "cpu").net
    with torch.no_grad():
        y = net(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))[0].numpy()
    np.testing.assert_allclose(test_flows, y[:, -3:], atol=2e-3)


def test_import_gives_the_same_masks_and_keeps_lineage(finetune, package, capsys):
    assert main(["import", str(package), "--name", "from-zoo"]) == 0
    assert "from-zoo" in capsys.readouterr().out
    original, imported = registry.get_model_meta(finetune), registry.get_model_meta("from-zoo")
    assert imported.parent == "tiny" and imported.class_names == original.class_names
    assert imported.class_colors == original.class_colors
    assert imported.extra["imported"]["format"] == "bioimageio"
    assert imported.extra["dataset"]["files"] == original.extra["dataset"]["files"]
    assert imported.extra["bioimageio"]["authors"] == ["Ada Lovelace"]

    image = cellpose_io.read_image(_validation_file(original)).plane()
    params = SegmentParams(device="cpu")
    a, b = segment(image, finetune, params), segment(image, "from-zoo", params)
    assert np.array_equal(a.masks, b.masks) and np.array_equal(a.classes, b.classes)
    assert np.array_equal(a.flows, b.flows)


def test_export_refuses_to_overwrite_or_write_a_non_zip(finetune, tmp_path):
    from guv_app.services.export.bioimageio import export_bioimageio

    taken = tmp_path / "taken.zip"
    taken.write_bytes(b"keep")
    with pytest.raises(ExportError, match="already exists"):
        export_bioimageio(finetune, taken)
    assert taken.read_bytes() == b"keep"
    with pytest.raises(ExportError, match=r"\.zip"):
        export_bioimageio(finetune, tmp_path / "model.bin")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.zip"]  # no temp left


def test_broken_package_is_one_clear_error(tmp_path):
    bad = tmp_path / "broken.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("rdf.yaml", json.dumps({"type": "model", "format_version": "0.5.12",
                                            "name": "x"}))
    with pytest.raises(ImportModelError, match=r"broken\.zip: not a valid BioImage\.IO"):
        import_model(bad)
    assert registry.list_models() == registry.builtin_models()  # nothing registered
