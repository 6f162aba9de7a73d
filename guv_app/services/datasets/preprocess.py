"""Turn an image plane into the network's 3-channel float input, exactly as inference does.

The user picks which channels feed the network and in which order (``channels``); the same
list is stored with the model and used again at inference. Selection/padding is the engine's
``prepare_image`` and normalisation is upstream ``cellpose.transforms.normalize_img``
(1st..99th percentile per channel) -- the calls ``engine.inference`` makes -- so training
sees the same numbers as segmentation will.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def to_network_input(plane: np.ndarray, channels: Sequence[int] | None) -> np.ndarray:
    """(3, Y, X) float32 network input from a (C, Y, X) plane: select, pad, normalise."""
    from cellpose.transforms import normalize_img

    from guv_app.services.engine.inference import prepare_image

    x = prepare_image(plane, None if channels is None else list(channels))  # (Y, X, 3)
    x = normalize_img(x[np.newaxis], normalize=True, norm3D=True)[0]
    return np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32)
