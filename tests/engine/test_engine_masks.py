"""Our fast flow-quality check against upstream's on real label images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
tifffile = pytest.importorskip("tifffile")

from guv_app.services.engine import masks as fast  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "labelled"


@pytest.fixture(scope="module")
def labels():
    import fastremap

    mask = tifffile.imread(DATA / "stardist" / "mask2d.tif")
    return fastremap.renumber(np.ascontiguousarray(mask))[0].astype(np.uint16)


@pytest.fixture(scope="module")
def noisy_flows(labels):
    from cellpose import dynamics

    mu = dynamics.masks_to_flows_gpu(labels.astype(np.int64))[0]
    rng = np.random.default_rng(0)
    return (5 * mu + rng.normal(0, 2.2, size=mu.shape)).astype(np.float32)


def test_centres_match_upstream(labels):
    from cellpose import dynamics
    from scipy.ndimage import find_objects

    slices = find_objects(labels)
    want_c, want_e = dynamics.get_centers(labels, slices)
    got_c, got_e = fast.centers_and_extents(labels, slices)
    assert np.array_equal(got_c, want_c) and np.array_equal(got_e, want_e)


def test_flows_and_errors_match_upstream(labels, noisy_flows):
    from cellpose import dynamics

    want_err, want_mu = dynamics.flow_error(labels, noisy_flows)
    mu, (y, x), _ = fast.masks_to_flows_packed(labels)
    np.testing.assert_allclose(mu, want_mu[:, y, x], atol=1e-8)
    got_err = fast.flow_errors(labels, noisy_flows)
    np.testing.assert_allclose(got_err, want_err, rtol=0, atol=1e-10)


def test_removed_objects_match_upstream(labels, noisy_flows):
    from cellpose import dynamics

    errors = fast.flow_errors(labels, noisy_flows)
    ranked = np.sort(errors)
    mid = len(ranked) // 2
    threshold = float(ranked[mid - 1] + ranked[mid]) / 2  # about half fail, none on the edge
    want = dynamics.remove_bad_flow_masks(labels.copy(), noisy_flows, threshold=threshold)
    got = fast.remove_bad_flow_masks(labels.copy(), noisy_flows, threshold=threshold)
    assert 0 < got.max() < labels.max()
    assert np.array_equal(got, want)


def test_follow_flows_equals_upstream_and_keeps_the_thread_count(labels, noisy_flows):
    """Bit-identical to upstream's Euler steps (``dynamics.steps_interp``), computed on one
    thread whatever torch is set to, and torch's thread count is left as it was."""
    import torch
    from cellpose import dynamics

    dP = noisy_flows * (labels > 0) / 5.0
    inds = np.nonzero(labels)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        ours = fast.follow_flows(dP, inds, 50).numpy()
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    p = np.stack(inds).astype(np.float32)
    ref = dynamics.steps_interp(dP, p, 50, device=torch.device("cpu"))
    ref = ref.numpy() if hasattr(ref, "numpy") else np.asarray(ref)
    assert np.array_equal(ours, ref)
