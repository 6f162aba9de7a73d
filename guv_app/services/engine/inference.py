"""Segment images with a (multi-class) Cellpose-SAM model: masks, classes, flows.

The pipeline is upstream Cellpose's, step for step (``CellposeModel.eval`` for 2D): channel
conversion and percentile normalisation (``cellpose.transforms``), rescaling by diameter,
tiling with overlap and tile averaging (``cellpose.core.run_net``), flow following and
seeding (``cellpose.dynamics``), hole filling and small-object removal (``cellpose.utils``).
Two things are ours: the flow-quality check (``engine.masks``, same result, ~10-20x faster on
a CPU) and the class readout -- softmax class probabilities and a per-object majority vote
of the per-pixel argmax class (``cellpose_io.label_classes.classes_from_map``: background
pixels do not vote, the rule used for files and metrics too).

The network is wrapped so that each batch of tiles first checks the caller's cancel flag
and then reports progress; that is how cancel is honoured "between tiles" while tiling
itself stays upstream's. Every image is processed on its own, so a batch gives exactly the
results of single calls.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from cellpose_io.label_classes import classes_from_map
from guv_app.services.engine.errors import SegmentationCancelled
from guv_app.services.engine.loading import LoadedModel, load_model, resolve_dtype
from guv_app.services.engine.masks import compute_masks
from guv_app.services.engine.params import INFERENCE as _P
from guv_app.services.engine.params import INFERENCE_PARAMS
from guv_app.services.params import check_values
from guv_app.services.progress import Progress

log = logging.getLogger(__name__)



@dataclass
class SegmentParams:
    """Inference settings; the defaults are Cellpose-SAM's. Ranges, units and defaults are
    described once in :data:`guv_app.services.engine.params.INFERENCE_PARAMS`; a value out
    of range raises ValueError naming it (e.g. a negative diameter)."""

    channels: list[int] | None = None  # image channels fed to the net, in order; None: model's
    diameter: float | None = _P["diameter"].default  # px; None (or 0): model default
    flow_threshold: float = _P["flow_threshold"].default  # 0 turns the flow-quality check off
    cellprob_threshold: float = _P["cellprob_threshold"].default
    niter: int | None = _P["niter"].default  # None: 200 scaled by the rescale factor
    min_size: int = _P["min_size"].default  # px²
    tile_overlap: float = _P["tile_overlap"].default
    batch_size: int = _P["batch_size"].default  # tiles per forward pass
    dtype: str = _P["dtype"].default  # "bfloat16" (Cellpose's default) or "float32"
    device: str = "auto"  # used when a model is given by name
    normalize: bool = True  # 1st-99th percentile per channel, like Cellpose
    max_size_fraction: float = 0.4

    def __post_init__(self) -> None:
        check_values(self, INFERENCE_PARAMS)
        if self.diameter == 0:
            self.diameter = None
        if self.niter == 0:
            self.niter = None


@dataclass
class SegmentResult:
    """Everything one image gives: instance masks, classes and the maps for display."""

    masks: np.ndarray  # (H, W) uint32 instance ids, 0 = background
    classes: np.ndarray  # (max_id + 1,) int32 majority class per object; classes[0] = 0
    class_probs: np.ndarray | None  # (N+1, H, W) float32 softmax, None for a flows-only model
    flows: np.ndarray  # (2, H, W) float32 dY, dX
    cellprob: np.ndarray  # (H, W) float32 logits
    class_names: list[str] = field(default_factory=list)
    class_colors: list[tuple[int, int, int]] = field(default_factory=list)
    diameter: float | None = None  # the diameter the image was scaled for (None: native)
    model_name: str = ""

    @property
    def n_objects(self) -> int:
        return int(self.masks.max()) if self.masks.size else 0


@dataclass
class BatchItem:
    """One item of :func:`segment_batch`: a result, or the reason it failed."""

    index: int
    source: str
    ok: bool
    result: SegmentResult | None = None
    error: str | None = None
    seconds: float = 0.0


#: tiles per forward pass on a CPU, whatever the batch size. Every tile is computed on its
#: own, so the outputs are the same (bitwise, for tiny in tests/engine and for vit_l in
#: bf16 as measured), but a batch of 8 vit_l tiles allocates 64 MB activations that the C
#: allocator maps fresh from the OS at every layer (over a million page faults per
#: batch); pairs of tiles reuse freed memory, run ~5% faster and hold a quarter of the
#: activation memory. GPUs get the whole batch.
CPU_TILES_PER_PASS = 2


class WatchedNet(torch.nn.Module):
    """Wraps the network for upstream's ``run_net``/``run_3D``: cancel check before and
    progress (tiles done) after each pass; ``device``/``dtype`` as upstream reads them.
    On a CPU each batch runs :data:`CPU_TILES_PER_PASS` tiles at a time."""

    def __init__(self, net, cancel, on_tiles=None) -> None:
        super().__init__()
        self.net = net
        self._cancel = cancel
        self._on_tiles = on_tiles
        self.tiles_done = 0

    @property
    def device(self):
        return next(self.net.parameters()).device

    @property
    def dtype(self):  # upstream's run_net casts the tiles to this before the forward pass
        return next(self.net.parameters()).dtype

    def forward(self, x):
        step = CPU_TILES_PER_PASS if x.device.type == "cpu" else x.shape[0]
        parts = []
        for start in range(0, x.shape[0], max(1, step)):
            if self._cancel is not None and self._cancel.is_set():
                raise SegmentationCancelled("segmentation cancelled")
            tiles = x[start:start + step]
            parts.append(self.net(tiles))
            self.tiles_done += int(tiles.shape[0])
            if self._on_tiles is not None:
                self._on_tiles(self.tiles_done)
        if len(parts) == 1:
            return parts[0]
        return tuple(torch.cat(outs) for outs in zip(*parts, strict=True))


def load_for(model: LoadedModel | str, params: SegmentParams) -> LoadedModel:
    """``model`` itself, or the model of that name loaded on ``params.device`` in
    ``params.dtype`` (cached)."""
    if isinstance(model, LoadedModel):
        return model
    return load_model(model, params.device, dtype=params.dtype)


@contextmanager
def inference_precision(net: torch.nn.Module, dtype: str) -> Iterator[None]:
    """Run ``net`` at the precision ``dtype`` asks for, without changing the (possibly
    shared, cached) network.

    A network whose weights already are in ``dtype`` runs as it is (upstream's way: weights
    and activations in bfloat16, ``cellpose.core`` casts the tiles to the network's dtype
    and the outputs back to float32 before the flow dynamics). A float32 network asked for
    bfloat16 runs under ``torch.autocast`` (bfloat16 matrix products, float32 weights).
    A bfloat16 network cannot give float32 results: ValueError (load it with
    ``load_model(..., dtype="float32")``).
    """
    wanted = resolve_dtype(dtype)
    param = next(net.parameters())
    if param.dtype == wanted:
        yield
        return
    if wanted == torch.float32:
        raise ValueError("this model was loaded in bfloat16; float32 results need it loaded "
                         "in float32 (load_model(..., dtype='float32'))")
    with torch.autocast(param.device.type, dtype=wanted):
        yield


def prepare_image(image: np.ndarray, channels: list[int] | None) -> np.ndarray:
    """(C, Y, X) or (Y, X) image -> (Y, X, 3) float32 in the chosen channel order.

    Missing channels are zero (a 1-channel image feeds the first input channel only, as in
    Cellpose); more than three without a selection keeps the first three.
    """
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[np.newaxis]
    if arr.ndim != 3:
        raise ValueError(f"expected an image of shape (C, Y, X) or (Y, X), got {arr.shape}")
    if arr.shape[1] < 2 or arr.shape[2] < 2:
        raise ValueError(f"image too small to segment: {arr.shape}")
    n_chan = arr.shape[0]
    if channels is None:
        if n_chan > 3:
            log.warning("%d channels and no channel selection: using the first 3", n_chan)
        channels = list(range(min(n_chan, 3)))
    channels = list(channels)
    if not channels or len(channels) > 3:
        raise ValueError(f"choose 1 to 3 channels, got {channels}")
    bad = [c for c in channels if not -n_chan <= c < n_chan]
    if bad:
        raise ValueError(f"channel(s) {bad} not in an image with {n_chan} channel(s)")
    out = np.zeros((*arr.shape[1:], 3), np.float32)
    for i, c in enumerate(channels):
        out[..., i] = arr[c]
    return out


def _rescale_for(diameter: float | None, meta) -> tuple[float, float | None]:
    diam = diameter if diameter else meta.default_diameter
    if diam is None or diam <= 0:
        return 1.0, None
    return float(meta.diam_mean) / float(diam), float(diam)


def count_tiles(ly: int, lx: int, bsize: int, tile_overlap: float) -> int:
    """Number of tiles ``cellpose.core.run_net`` cuts a (ly, lx) image into."""
    from cellpose import transforms

    py1, py2, px1, px2 = transforms.get_pad_yx(ly, lx, min_size=(bsize, bsize))
    ly, lx = ly + py1 + py2, lx + px1 + px2
    ny = 1 if ly <= bsize else int(np.ceil((1.0 + 2 * tile_overlap) * ly / bsize))
    nx = 1 if lx <= bsize else int(np.ceil((1.0 + 2 * tile_overlap) * lx / bsize))
    return ny * nx


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=0, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=0, keepdims=True)
    return shifted.astype(np.float32, copy=False)


def run_network(
    image: np.ndarray,
    loaded: LoadedModel,
    params: SegmentParams,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> tuple[np.ndarray, float, float | None]:
    """Network outputs for one image at its own size: (Y, X, n_cls + 3), rescale, diameter."""
    from cellpose import core, transforms

    channels = params.channels if params.channels is not None else loaded.meta.channels
    x = prepare_image(image, channels)[np.newaxis]
    ly, lx = x.shape[1:3]
    if params.normalize:
        x = transforms.normalize_img(x, normalize=True, norm3D=True)
    rescale, diameter = _rescale_for(params.diameter, loaded.meta)
    net = loaded.net
    bsize = int(getattr(net, "bsize", 256))
    total = count_tiles(int(ly * rescale), int(lx * rescale), bsize, params.tile_overlap)

    def on_tiles(done: int) -> None:
        if progress is not None:
            progress(min(done, total), total, "tiles")

    watched = WatchedNet(net, cancel, on_tiles)
    was_training = net.training  # run_net switches to eval (rdrop off); give it back as it was
    try:
        # no autograd bookkeeping at all (run_net: no_grad)
        with torch.inference_mode(), inference_precision(net, params.dtype):
            yf, _ = core.run_net(
                watched, x, bsize=bsize, batch_size=params.batch_size,
                tile_overlap=params.tile_overlap, rsz=rescale if rescale != 1.0 else None,
            )
    finally:
        net.train(was_training)
    if rescale != 1.0:
        yf = transforms.resize_image(yf, ly, lx)
    return yf[0], rescale, diameter


def segment(
    image: np.ndarray,
    model: LoadedModel | str,
    params: SegmentParams | None = None,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> SegmentResult:
    """Segment one (C, Y, X) or (Y, X) image; raises :class:`SegmentationCancelled` on cancel."""
    params = params or SegmentParams()
    loaded = load_for(model, params)
    meta = loaded.meta
    yf, rescale, diameter = run_network(image, loaded, params, progress=progress, cancel=cancel)
    cellprob = np.ascontiguousarray(yf[..., -1], dtype=np.float32)
    flows = np.ascontiguousarray(yf[..., -3:-1].transpose(2, 0, 1), dtype=np.float32)
    n_cls = yf.shape[-1] - 3
    logits = np.ascontiguousarray(yf[..., :n_cls].transpose(2, 0, 1)) if n_cls > 0 else None
    del yf  # (Y, X, n_cls + 3) float32: not kept beside its copies during the dynamics
    niter = params.niter if params.niter else int(200 / rescale)
    if cancel is not None and cancel.is_set():
        raise SegmentationCancelled("segmentation cancelled")
    masks = compute_masks(
        flows, cellprob, niter=niter, cellprob_threshold=params.cellprob_threshold,
        flow_threshold=params.flow_threshold, min_size=params.min_size,
        max_size_fraction=params.max_size_fraction, device=loaded.device,
    ).astype(np.uint32)
    class_probs = None
    if logits is not None:
        class_probs = _softmax(logits)
        classes = classes_from_map(masks, class_probs.argmax(axis=0))
    else:
        classes = np.zeros(int(masks.max()) + 1, np.int32)
    return SegmentResult(
        masks=masks, classes=classes, class_probs=class_probs, flows=flows,
        cellprob=cellprob, class_names=list(meta.class_names),
        class_colors=list(meta.class_colors), diameter=diameter, model_name=meta.name,
    )


def _read_item(item) -> tuple[str, np.ndarray]:
    if isinstance(item, str | Path):
        import cellpose_io

        with cellpose_io.read_image(item) as image:
            return str(item), image.plane()
    return "", np.asarray(item)


def segment_batch(
    items: Iterable[str | Path | np.ndarray],
    model: LoadedModel | str,
    params: SegmentParams | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[BatchItem]:
    """Segment many images/files one by one, yielding a :class:`BatchItem` per item.

    ``progress(done, total, message)`` counts items. A file that cannot be read or an image
    that fails is yielded with ``ok=False`` and a one-line ``error``; the others go on.
    Cancelling (between tiles, or between items) ends the iteration early.
    """
    params = params or SegmentParams()
    items = list(items)
    total = len(items)
    loaded = load_for(model, params)
    for index, item in enumerate(items):
        if cancel is not None and cancel.is_set():
            log.info("batch cancelled after %d of %d items", index, total)
            return
        source = str(item) if isinstance(item, str | Path) else f"image {index}"
        if progress is not None:
            progress(index, total, f"segmenting {Path(source).name}")
        tic = time.perf_counter()
        try:
            _, image = _read_item(item)
            result = segment(image, loaded, params, cancel=cancel)
        except SegmentationCancelled:
            log.info("batch cancelled during item %d of %d", index + 1, total)
            return
        except Exception as exc:  # noqa: BLE001 - one bad item must not stop the batch
            log.debug("item %s failed", source, exc_info=True)
            message = str(exc) if source in str(exc) else f"{source}: {exc}"
            yield BatchItem(index, source, False, error=message,
                            seconds=time.perf_counter() - tic)
            continue
        yield BatchItem(index, source, True, result=result, seconds=time.perf_counter() - tic)
    if progress is not None:
        progress(total, total, "done")
