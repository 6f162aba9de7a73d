"""Segment a Z stack in 3-D through upstream Cellpose's own 3-D path.

Step for step what ``CellposeModel.eval(do_3D=True)`` does (cellpose 4): normalise the whole
stack at once (``transforms.normalize_img``, ``norm3D``), rescale Z by the anisotropy (and
all axes by the diameter) with ``transforms.resize_image_3d``, run the network on the YX, ZY
and ZX slices and average the flows (``core.run_3D``), then follow the 3-D flows
(``dynamics.resize_and_compute_masks(do_3D=True)``) back at the stack's own size. Only the
network is ours: it is wrapped so that ``run_3D`` sees Cellpose's three outputs (flow, flow,
cell probability) also for a multi-class model, whose class logits come first; objects of a
3-D run get no class (0, unassigned). 2-D per plane stays the default everywhere.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np
import torch

from guv_app.services.engine.errors import SegmentationCancelled
from guv_app.services.engine.inference import (
    SegmentParams,
    WatchedNet,
    _rescale_for,
    inference_precision,
    load_for,
    prepare_image,
)
from guv_app.services.engine.loading import LoadedModel

log = logging.getLogger(__name__)


@dataclass
class VolumeResult:
    """Instance masks of one Z stack: (Z, Y, X) uint32, 0 = background."""

    masks: np.ndarray
    diameter: float | None = None
    anisotropy: float = 1.0

    @property
    def n_objects(self) -> int:
        return int(self.masks.max()) if self.masks.size else 0


class _FlowsOnly(WatchedNet):
    """The network as ``core.run_3D`` expects it: (flow, flow, cellprob) channels only; the
    cancel flag is checked before every batch of slices."""

    def forward(self, x):
        y, *rest = super().forward(x)
        return (y[:, -3:], *rest)


def anisotropy_for(z_step_um: float | None, pixel_size_um: tuple[float, float] | None) -> float:
    """Z sampling relative to XY (Cellpose's ``anisotropy``): Z step / pixel width, 1.0 when
    either is unknown. E.g. 2 µm slices of 0.5 µm pixels -> 4.0."""
    if not z_step_um or not pixel_size_um:
        return 1.0
    return float(z_step_um) / float(np.sqrt(pixel_size_um[0] * pixel_size_um[1]))


def segment_volume(
    stack: np.ndarray,
    model: LoadedModel | str,
    params: SegmentParams | None = None,
    *,
    anisotropy: float = 1.0,
    cancel: threading.Event | None = None,
) -> VolumeResult:
    """Segment a (Z, C, Y, X) stack in 3-D; raises SegmentationCancelled on cancel and
    ValueError for a stack of fewer than 2 slices or bad channels."""
    from cellpose import core, dynamics, transforms

    params = params or SegmentParams()
    loaded = load_for(model, params)
    stack = np.asarray(stack)
    if stack.ndim != 4 or stack.shape[0] < 2:
        raise ValueError(f"expected a (Z, C, Y, X) stack of 2 or more slices, got {stack.shape}")
    channels = params.channels if params.channels is not None else loaded.meta.channels
    x = np.stack([prepare_image(plane, channels) for plane in stack])  # (Z, Y, X, 3)
    if params.normalize:
        x = transforms.normalize_img(x, normalize=True, norm3D=True)
    shape = x.shape[:3]
    rescale, diameter = _rescale_for(params.diameter, loaded.meta)
    if rescale != 1.0 or anisotropy != 1.0:
        new_shape = (int(shape[0] * anisotropy * rescale), int(shape[1] * rescale),
                     int(shape[2] * rescale))
        x = transforms.resize_image_3d(x, new_shape, no_channels=False)
    net = loaded.net
    was_training = net.training
    try:
        with torch.inference_mode(), inference_precision(net, params.dtype):
            yf, _ = core.run_3D(_FlowsOnly(net, cancel), x, batch_size=params.batch_size,
                                tile_overlap=params.tile_overlap,
                                bsize=int(getattr(net, "bsize", 256)))
    finally:
        net.train(was_training)
    if yf.shape[:3] != shape:
        yf = transforms.resize_image_3d(yf, shape, no_channels=False)
    if cancel is not None and cancel.is_set():
        raise SegmentationCancelled("segmentation cancelled")
    cellprob = yf[..., -1]
    flows = yf[..., :-1].transpose((3, 0, 1, 2))
    niter = params.niter if params.niter else int(200 / rescale)
    masks = dynamics.resize_and_compute_masks(
        flows, cellprob, niter=niter, cellprob_threshold=params.cellprob_threshold,
        flow_threshold=params.flow_threshold, do_3D=True, min_size=params.min_size,
        max_size_fraction=params.max_size_fraction, device=loaded.device)
    return VolumeResult(np.asarray(masks).astype(np.uint32), diameter, anisotropy)
