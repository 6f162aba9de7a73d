"""Augmentation keeps targets consistent; LR schedule never sits at 0; pixel metrics."""

from __future__ import annotations

import numpy as np

from guv_app.services.datasets.flows import compute_flows
from guv_app.services.training.augment import augment_sample, center_batch
from guv_app.services.training.metrics import instance_metrics, pixel_metrics
from guv_app.services.training.schedule import lr_at, warmup_steps


def test_warped_flows_match_flows_of_warped_masks(tiny_set):
    sample = tiny_set.train[0]
    rng = np.random.default_rng(3)
    for _ in range(3):
        x, flows, cellprob, classes, masks = augment_sample(sample, 256, rng, 0.5, True)
        assert x.shape == (3, 256, 256) and flows.shape == (2, 256, 256)
        # class ids are never blended (nearest neighbour) and agree with the warped masks
        assert set(np.unique(classes).tolist()) <= set(np.unique(sample.class_map).tolist())
        assert np.array_equal(cellprob > 0, masks > 0)
        ids = masks.astype(np.int64)
        assert np.all(classes[ids == 0] == 0)
        # direction of the warped flows = flows recomputed on the warped labels
        ref = compute_flows(ids)
        inside = (ids > 0) & (np.hypot(*ref) > 0.5) & (np.hypot(*flows) > 0.5)
        cos = (flows * ref).sum(0)[inside] / (np.hypot(*flows) * np.hypot(*ref))[inside]
        assert np.median(cos) > 0.9


def test_center_batch_pads_without_moving_content(tiny_set):
    sample = tiny_set.val[0]
    batch = center_batch([sample], 256)
    h, w = sample.masks.shape
    y0, x0 = (256 - h) // 2, (256 - w) // 2
    if h <= 256 and w <= 256:
        np.testing.assert_array_equal(batch.masks[0, y0 : y0 + h, x0 : x0 + w], sample.masks)


def test_lr_warms_up_from_a_tenth_and_decays_to_floor():
    total = 100
    warm = warmup_steps(total)
    assert warm == 5
    lrs = [lr_at(s, total, 1e-3, warm, 0.05) for s in range(total + 1)]
    assert lrs[0] == 1e-4 and max(lrs) == lrs[warm] == 1e-3
    assert all(a >= b for a, b in zip(lrs[warm:], lrs[warm + 1 :], strict=False))
    assert abs(lrs[-1] - 5e-5) < 1e-12 and min(lrs) > 0


def test_pixel_and_instance_metrics_on_known_cases():
    true = np.zeros((10, 10), bool)
    true[:5] = True
    pred = np.zeros((10, 10), bool)
    pred[:4] = True
    pred[9, 0] = True
    m = pixel_metrics(pred, true)
    assert m.precision == 40 / 41 and m.recall == 40 / 50 and m.iou == 40 / 51
    assert abs(m.f1 - 80 / 91) < 1e-12 and m.accuracy == 89 / 100
    masks = np.zeros((20, 20), np.uint32)
    masks[:5, :5], masks[10:15, 10:15] = 1, 2
    pred_masks = masks.copy()
    pred_masks[10:15, 10:15] = 0
    cmap = np.where(masks == 1, 1, np.where(masks == 2, 2, 0))
    res = instance_metrics(["a"], [masks], [pred_masks], [cmap], [np.array([0, 2])],
                           ["background", "x", "y"])
    assert res.mean_ap[0] == 0.5 and res.per_image[0].n_pred == 1
    assert res.class_accuracy == 0.0 and res.per_class_accuracy == {"x": 0.0}
