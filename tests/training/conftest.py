"""A real labelled folder and a training set built once per session (isolated home)."""

from __future__ import annotations

import pytest
import torch
from tr_helpers import fresh_net, make_seg_folder

torch.set_num_threads(1)  # faster than 2 on a shared 2-core machine


@pytest.fixture
def seg_folder(tmp_path):
    return make_seg_folder(tmp_path / "labels")


@pytest.fixture(scope="session")
def tiny_set(tmp_path_factory):
    """TrainingSet with classes from 3 real images (2 train, 1 val); flows cached in a tmp home."""
    from guv_app.services.datasets import DatasetOptions, build_training_set

    root = tmp_path_factory.mktemp("tiny_set")
    folder = make_seg_folder(root / "labels")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MULTICELLPOSE_HOME", str(root / "home"))
        return build_training_set(folder, DatasetOptions(test_ratio=0.34, seed=0))


@pytest.fixture
def tiny_net():
    return fresh_net()
