"""segment / segment_batch on real images with the tiny backbone (fixed seed)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import cellpose_io  # noqa: E402
from guv_app.services.engine.errors import SegmentationCancelled  # noqa: E402
from guv_app.services.engine.inference import (  # noqa: E402
    SegmentParams,
    prepare_image,
    segment,
    segment_batch,
)
from guv_app.services.engine.loading import LoadedModel  # noqa: E402
from guv_app.services.engine.meta import ModelMeta  # noqa: E402
from guv_app.services.engine.network import build_network  # noqa: E402

DSB = Path(__file__).resolve().parents[1] / "data" / "labelled" / "dsb2018" / "images"
FLUO = DSB / "fluorescence_00071198d059.png"  # 256 x 256: one network tile


@pytest.fixture(scope="module")
def class_model() -> LoadedModel:
    meta = ModelMeta(name="tiny3", backbone="tiny", n_classes=3,
                     class_names=["background", "a", "b", "c"])
    net = build_network("tiny", 3, seed=2)
    return LoadedModel(net=net, meta=meta, device=torch.device("cpu"))


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return cellpose_io.read_image(FLUO).plane()


def test_segment_gives_consistent_masks_and_classes(class_model, image):
    res = segment(image, class_model, SegmentParams(flow_threshold=0.0))
    h, w = image.shape[1:]
    assert res.masks.shape == (h, w) and res.masks.dtype == np.uint32
    n = res.n_objects
    assert n > 5
    assert set(np.unique(res.masks)) == set(range(n + 1))  # consecutive ids
    assert np.bincount(res.masks.ravel())[1:].min() >= 15  # min_size honoured
    assert res.classes.shape == (n + 1,) and res.classes.dtype == np.int32
    assert res.classes[0] == 0 and res.classes.max() <= 3
    assert res.class_probs.shape == (4, h, w) and res.class_probs.dtype == np.float32
    np.testing.assert_allclose(res.class_probs.sum(axis=0), 1.0, atol=1e-5)
    class_map = res.class_probs.argmax(axis=0)
    for obj in range(1, n + 1):  # majority vote of user-class pixels, the slow way
        votes = np.bincount(class_map[res.masks == obj], minlength=4)
        votes[0] = 0  # background pixels do not vote
        assert res.classes[obj] == (int(np.argmax(votes)) if votes.any() else 0)
    assert res.flows.shape == (2, h, w) and res.cellprob.shape == (h, w)
    assert res.class_names == ["background", "a", "b", "c"] and len(res.class_colors) == 4


def test_same_masks_and_flows_as_upstream_cellpose(image):
    """Same network, same image: upstream CellposeModel.eval and our segment agree exactly,
    with the flow check on (our faster check keeps exactly upstream's objects), both in
    float32 (bfloat16 agreement: test_engine_precision.py)."""
    from cellpose.models import CellposeModel

    net = build_network("tiny", 0)
    upstream = CellposeModel.__new__(CellposeModel)  # no weights download: give it our net
    upstream.device, upstream.gpu, upstream.backbone, upstream.net = (
        torch.device("cpu"), False, "sam_vitl", net)
    meta = ModelMeta(name="tiny", backbone="tiny")
    loaded = LoadedModel(net=net, meta=meta, device=torch.device("cpu"))
    x = prepare_image(image, None)
    for flow_threshold, diameter in [(0.9, 40.0)]:  # rescaled; the check drops ~half
        theirs, flows, _ = upstream.eval(x, channel_axis=2, flow_threshold=flow_threshold,
                                         diameter=diameter)
        ours = segment(image, loaded, SegmentParams(flow_threshold=flow_threshold,
                                                    diameter=diameter, dtype="float32"))
        unchecked = segment(image, loaded, SegmentParams(flow_threshold=0.0, diameter=diameter,
                                                         dtype="float32"))
        assert 0 < ours.masks.max() < unchecked.masks.max()
        assert np.array_equal(ours.masks, theirs)
        assert np.array_equal(ours.flows, flows[1])
        assert np.array_equal(ours.cellprob, flows[2])
        assert ours.class_probs is None and not ours.classes.any()


def test_channel_selection_and_bad_channels(class_model, image):
    two = np.stack([image[1], image[0]])
    a = segment(two, class_model, SegmentParams(channels=[1, 0], flow_threshold=0.0))
    b = segment(image[:2], class_model, SegmentParams(channels=[0, 1], flow_threshold=0.0))
    assert np.array_equal(a.masks, b.masks)
    with pytest.raises(ValueError, match=r"channel\(s\) \[5\]"):
        segment(image, class_model, SegmentParams(channels=[5]))
    with pytest.raises(ValueError, match="shape"):
        segment(np.zeros((2, 2, 8, 8)), class_model)


def test_batch_equals_single_and_reports_bad_files(class_model, image, tmp_path):
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    params = SegmentParams(flow_threshold=0.0)
    crop = image[:, :200, :180]
    events = []
    items = list(segment_batch([FLUO, corrupt, crop], class_model, params,
                               progress=lambda d, t, m: events.append((d, t))))
    assert [i.ok for i in items] == [True, False, True]
    assert "corrupt.png" in items[1].error
    single = segment(image, class_model, params)
    single_crop = segment(crop, class_model, params)
    for got, want in [(items[0].result, single), (items[2].result, single_crop)]:
        assert np.array_equal(got.masks, want.masks)
        assert np.array_equal(got.classes, want.classes)
        assert np.array_equal(got.class_probs, want.class_probs)
    assert events[0] == (0, 3) and events[-1] == (3, 3)


def test_a_batch_of_tiles_gives_the_results_of_single_tiles_and_reports_each_pass(
        class_model, image):
    """A batch of 8 tiles runs two tiles per pass on a CPU: the outputs must be those of
    one tile per pass, bit for bit, and cancel/progress come between passes."""
    from guv_app.services.engine.inference import CPU_TILES_PER_PASS

    big = np.tile(image, (1, 2, 2))  # 512 x 512: nine tiles
    seen = []
    batched = segment(big, class_model, SegmentParams(batch_size=8),
                      progress=lambda d, t, m: seen.append(d))
    single = segment(big, class_model, SegmentParams(batch_size=1))
    assert np.array_equal(batched.flows, single.flows)
    assert np.array_equal(batched.cellprob, single.cellprob)
    assert np.array_equal(batched.class_probs, single.class_probs)
    assert np.array_equal(batched.masks, single.masks)
    step = CPU_TILES_PER_PASS
    assert seen == sorted({*range(step, 8 + 1, step), 8, 9})  # passes in the batches 8 + 1

    cancel = threading.Event()
    done = []

    def stop_after_first_pass(d, t, m):
        done.append(d)
        cancel.set()

    with pytest.raises(SegmentationCancelled):
        segment(big, class_model, SegmentParams(batch_size=8), progress=stop_after_first_pass,
                cancel=cancel)
    assert done == [step]  # stopped inside the first batch of 8


def test_cancel_stops_between_tiles(class_model, image):
    big = np.tile(image, (1, 2, 2))  # 512 x 512: nine tiles
    cancel = threading.Event()
    seen = []

    def progress(done, total, message):
        seen.append((done, total))
        cancel.set()  # cancel as soon as the first tile is through

    params = SegmentParams(batch_size=1, flow_threshold=0.0)
    with pytest.raises(SegmentationCancelled):
        segment(big, class_model, params, progress=progress, cancel=cancel)
    assert seen == [(1, 9)]

    cancel.clear()
    got = list(segment_batch([big, image, image], class_model, params, cancel=cancel,
                             progress=lambda d, t, m: cancel.set()))
    assert got == []  # cancelled before the first tile of the first image: nothing yielded
    cancel.set()
    assert list(segment_batch([image], class_model, params, cancel=cancel)) == []


def test_training_net_is_run_in_eval_mode_and_left_training(class_model, image):
    """Validation during training: rdrop must be off for inference, training mode kept."""
    params = SegmentParams(flow_threshold=0.0)
    want = segment(image, class_model, params)
    class_model.net.train()
    try:
        got = segment(image, class_model, params)
        assert class_model.net.training
    finally:
        class_model.net.eval()
    assert np.array_equal(got.masks, want.masks)
    assert np.array_equal(got.class_probs, want.class_probs)
