"""bfloat16 inference (upstream Cellpose's default) vs float32: the option reaches the
network, and the masks agree on the images the packaged model is made for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import cellpose_io  # noqa: E402
from guv_app.services.engine.inference import SegmentParams, segment  # noqa: E402
from guv_app.services.engine.loading import (  # noqa: E402
    LoadedModel,
    clear_cache,
    load_count,
    load_model,
)

DSB = Path(__file__).resolve().parents[1] / "data" / "labelled" / "dsb2018" / "images"
NUCLEI = ["fluorescence_00071198d059.png", "fluorescence_02903040e19d.png"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


def _plane(name: str) -> np.ndarray:
    with cellpose_io.read_image(DSB / name) as image:
        return image.plane()


def test_dtype_is_the_networks_weights_and_has_its_own_cache_entry():
    fp32 = load_model("nuclei-starter", "cpu", dtype="float32")
    bf16 = load_model("nuclei-starter", "cpu", dtype="bfloat16")
    assert {p.dtype for p in fp32.net.parameters()} == {torch.float32}
    assert {p.dtype for p in bf16.net.parameters()} == {torch.bfloat16}
    assert bf16.net.dtype == torch.bfloat16  # what upstream's run_net casts tiles to
    assert load_model("nuclei-starter", "cpu", dtype="bfloat16") is bf16
    assert load_model("nuclei-starter", "cpu") is fp32  # float32 stays the loading default
    # same weights, rounded: bfloat16 keeps 8 bits of mantissa
    for (name, a), b in zip(fp32.net.state_dict().items(), bf16.net.state_dict().values(),
                            strict=True):
        np.testing.assert_allclose(b.float().numpy(), a.numpy(), rtol=2**-8, atol=0,
                                   err_msg=name)
    with pytest.raises(ValueError, match="float16"):
        load_model("nuclei-starter", "cpu", dtype="float16")


def test_segment_by_name_loads_the_model_in_the_dtype_asked_for():
    image = _plane(NUCLEI[0])
    before = load_count()
    a = segment(image, "nuclei-starter", SegmentParams(dtype="float32", device="cpu"))
    b = segment(image, "nuclei-starter", SegmentParams(device="cpu"))  # default: bfloat16
    assert load_count() == before + 2  # one network per dtype, nothing shared
    assert SegmentParams().dtype == "bfloat16"
    # the networks' outputs differ by bfloat16 rounding, so the dtype really was used
    assert 0 < np.abs(a.cellprob - b.cellprob).max() < 0.5
    fp32 = load_model("nuclei-starter", "cpu", dtype="float32")
    assert load_count() == before + 2  # the float32 network segment used is this one
    again = segment(image, fp32, SegmentParams(dtype="float32"))
    assert np.array_equal(again.cellprob, a.cellprob)


@pytest.mark.parametrize("name", NUCLEI)
def test_bfloat16_masks_agree_with_float32_on_nuclei(name):
    """The packaged nuclei model on fluorescence nuclei: the same objects (AP@0.5 >= 0.95 by
    upstream's metric, at most one object split, merged or lost) with IoU >= 0.95 each
    (0.99 on average), for bfloat16 weights and for float32 weights under autocast."""
    from cellpose import metrics

    image = _plane(name)
    fp32 = load_model("nuclei-starter", "cpu", dtype="float32")
    bf16 = load_model("nuclei-starter", "cpu", dtype="bfloat16")
    reference = segment(image, fp32, SegmentParams(dtype="float32")).masks
    assert reference.max() >= 10
    autocast_fp32 = LoadedModel(fp32.net, fp32.meta, fp32.device)
    for loaded in (bf16, autocast_fp32):
        result = segment(image, loaded, SegmentParams(dtype="bfloat16"))
        ap, tp, fp, fn = metrics.average_precision([reference], [result.masks],
                                                   threshold=[0.5])
        assert ap[0, 0] >= 0.95 and fp[0, 0] + fn[0, 0] <= 1
        iou = metrics._intersection_over_union(result.masks, reference)[1:, 1:]
        matched = iou.max(axis=0)
        assert matched.min() >= 0.95 and matched.mean() >= 0.99


def test_float32_weights_under_autocast_and_bfloat16_weights_refusing_float32():
    image = _plane(NUCLEI[0])
    fp32 = load_model("nuclei-starter", "cpu", dtype="float32")
    bf16 = load_model("nuclei-starter", "cpu", dtype="bfloat16")
    plain = segment(image, fp32, SegmentParams(dtype="float32"))
    autocast = segment(image, fp32, SegmentParams(dtype="bfloat16"))
    rounded = segment(image, bf16, SegmentParams(dtype="bfloat16"))
    assert not np.array_equal(plain.cellprob, autocast.cellprob)  # autocast was on
    assert plain.cellprob.dtype == autocast.cellprob.dtype == np.float32  # back to float32
    # autocast (float32 weights) is closer to float32 than bfloat16 weights are, or equal
    assert np.abs(autocast.cellprob - plain.cellprob).max() < 0.5
    assert {p.dtype for p in fp32.net.parameters()} == {torch.float32}  # net left as it was
    with pytest.raises(ValueError, match="loaded in bfloat16"):
        segment(image, bf16, SegmentParams(dtype="float32"))
    assert rounded.masks.max() > 0


def test_a_weights_file_loads_without_a_second_copy(tmp_path):
    """A full weights file fills a network built on the meta device: the parameters are the
    file's (memory-mapped) tensors, not copies of them, and give the same results."""
    from guv_app.services.engine.network import build_network

    net = build_network("tiny", 1, seed=3)
    path = tmp_path / "tiny1.pt"
    torch.save(net.state_dict(), path)
    loaded = load_model(str(path), "cpu", cache=False)
    for (name, a), b in zip(net.state_dict().items(), loaded.net.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), name
    assert not any(p.is_meta for p in loaded.net.parameters())
    x = torch.rand(1, 3, 256, 256)
    with torch.inference_mode():
        assert torch.equal(net(x)[0], loaded.net(x)[0])


def test_cli_dtype_flag_reaches_the_engine(tmp_path, capsys):
    from guv_app.cli.main import main
    from guv_app.services.analysis.predictions import read_prediction_info

    name = NUCLEI[0]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / name).write_bytes((DSB / name).read_bytes())
    image = _plane(name)
    for dtype, flags in (("float32", ["--dtype", "float32"]), ("bfloat16", [])):
        out = tmp_path / dtype
        before = load_count()
        assert main(["predict", "--model", "nuclei-starter", "--input", str(folder),
                     "--out", str(out), "--device", "cpu", *flags]) == 0
        assert load_count() == before + 1
        loaded = load_model("nuclei-starter", "cpu", dtype=dtype)
        assert load_count() == before + 1  # the network the CLI ran is the cached one
        assert {p.dtype for p in loaded.net.parameters()} == {getattr(torch, dtype)}
        pred = out / name.replace(".png", "_pred_seg.npy")
        assert read_prediction_info(pred).params["dtype"] == dtype
        expected = segment(image, loaded, SegmentParams(dtype=dtype)).masks
        assert np.array_equal(cellpose_io.load_seg(pred).masks, expected)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["predict", "--model", "nuclei-starter", "--input", str(folder),
              "--dtype", "float16"])
    assert exc.value.code == 2
    assert "--dtype: invalid choice: 'float16'" in capsys.readouterr().err
