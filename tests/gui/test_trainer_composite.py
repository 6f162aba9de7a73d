"""The display composite matches a plain float computation (within rounding)."""

from __future__ import annotations

import numpy as np
import pytest

from guv_app.views.trainer.composite import CHANNEL_COLORS, ChannelDisplay, composite


def _reference(planes, displays):
    acc = np.zeros(planes.shape[1:] + (3,), np.float64)
    for p, d in zip(planes, displays, strict=True):
        if d.visible:
            norm = np.clip((p.astype(np.float64) - d.low) / (d.high - d.low), 0, 1) * 255
            acc += np.rint(norm)[..., None] * (np.asarray(CHANNEL_COLORS[d.color]) / 255)
    return np.clip(acc, 0, 255)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.int16])
def test_composite_matches_float_reference(data_dir, dtype):
    import tifffile

    img = tifffile.imread(data_dir / "formats/tiff/BBBC022_IXMtest_A02_s9_3ch_imagej.tif")
    planes = (img.astype(np.float64) / img.max() * (200 if dtype == np.uint8 else 3000))
    planes = planes.astype(dtype)
    displays = [ChannelDisplay("red", 10.5, 150.0), ChannelDisplay("cyan", 0.0, 120.0),
                ChannelDisplay("gray", 3.0, 90.0, visible=False)]
    got = composite(planes, displays).astype(np.float64)
    ref = _reference(planes, displays)
    assert got.shape == ref.shape and np.abs(got - ref).max() <= 1.0
    assert (got[..., 0] > 0).mean() > 0.1  # real content, not an empty frame
