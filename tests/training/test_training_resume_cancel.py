"""Cancel stops within one step and keeps a checkpoint; resume continues exactly from it."""

from __future__ import annotations

import threading

import torch
from tr_helpers import fast_config, fresh_net

from guv_app.services.training.checkpoint import CHECKPOINT_FILE
from guv_app.services.training.trainer import train_network


def _trainable(net):
    return {n: p.detach().clone() for n, p in net.named_parameters() if p.requires_grad}


def test_cancel_stops_within_one_step_and_keeps_checkpoint(tiny_set, tiny_net, tmp_path):
    cancel = threading.Event()
    steps = []

    def progress(event):
        if event.kind == "step":
            steps.append(event.step)
            if event.step == 2:
                cancel.set()

    config = fast_config(epochs=5)
    result = train_network(tiny_net, tiny_set, config, tmp_path, progress=progress,
                           cancel=cancel)
    assert result.cancelled and result.steps_done == 2 and steps == [1, 2]
    assert (tmp_path / CHECKPOINT_FILE).is_file()

    already = threading.Event()
    already.set()
    result = train_network(fresh_net(), tiny_set, config, tmp_path / "b", cancel=already)
    assert result.cancelled and result.steps_done == 0


def test_resume_continues_exactly_where_it_stopped(tiny_set, tmp_path):
    config = fast_config(epochs=2, images_per_epoch=2)  # 2 steps per epoch, 4 in all
    full = train_network(fresh_net(), tiny_set, config, tmp_path / "full")

    cancel = threading.Event()

    def stop_after_three(event):
        if event.kind == "step" and event.step == 3:  # in the middle of epoch 2
            cancel.set()

    run = tmp_path / "interrupted"
    part = train_network(fresh_net(), tiny_set, config, run, progress=stop_after_three,
                         cancel=cancel)
    assert part.cancelled and part.steps_done == 3 and len(part.rows) == 1
    seen = []
    rest = train_network(fresh_net(), tiny_set, config, run, resume=True,
                         progress=lambda e: seen.append((e.kind, e.step)))
    assert not rest.cancelled and rest.steps_done == 4
    assert [s for k, s in seen if k == "step"] == [4]  # only the missing step ran
    assert [r["epoch"] for r in rest.rows] == [1, 2]
    a, b = _trainable(full.net), _trainable(rest.net)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6, msg=k)
    assert abs(full.rows[-1]["train_loss"] - rest.rows[-1]["train_loss"]) < 1e-5
