"""Analysis service tests: real DSB2018 images copied into a fresh folder."""

from __future__ import annotations

from pathlib import Path

import pytest

# the two smallest images (256x256 and 256x320) keep the tiny model fast on a CPU
SMALL = ("fluorescence_573e1480b500", "histology_color_4cbd6c37f3a5")


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def small_folder(dsb_folder) -> Path:
    return dsb_folder(SMALL, "images")


@pytest.fixture
def params():
    """Settings under which the seeded ``tiny`` model finds objects on these images."""
    from guv_app.services.engine.inference import SegmentParams

    return SegmentParams(cellprob_threshold=-2.0, flow_threshold=0.0, min_size=30, device="cpu")
