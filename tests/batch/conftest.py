"""Multi-plane files: the real nd2 / lif / dax samples and synthetic ImageJ hyperstacks."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def params():
    from guv_app.services.engine.inference import SegmentParams

    return SegmentParams(cellprob_threshold=-2.0, flow_threshold=0.0, min_size=5, device="cpu")
