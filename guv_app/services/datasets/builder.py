"""Build a training set from a folder: pair, read, split, crop/tile, class maps and flows.

The result is plain arrays in dataclasses (picklable, no torch) so the same call serves the
GUI worker, the CLI and a cluster job. The user's folders are only read; flows go to the
cache (see :mod:`.flows`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cellpose_io.label_classes import default_class_colors, object_ids
from guv_app.services.datasets import classmap, region_sources, regions
from guv_app.services.datasets.discovery import (
    DEFAULT_MASK_FILTER,
    LabelledPair,
    Skipped,
    find_labelled_images,
)
from guv_app.services.datasets.flows import flows_for
from guv_app.services.datasets.labels import (
    LabelProblem,
    RawLabels,
    file_sha256,
    item_fault,
    read_labels,
    read_plane,
    read_plane_shape,
)
from guv_app.services.datasets.preprocess import to_network_input
from guv_app.services.progress import Progress

log = logging.getLogger(__name__)


@dataclass
class DatasetOptions:
    """How to find and cut the data. Defaults follow the Cellpose conventions."""

    img_filter: str = ""
    mask_filter: str = DEFAULT_MASK_FILTER
    mask_dir: Path | None = None
    subfolders: bool = False
    channels: list[int] | None = None
    min_objects: int = 1
    tile_size: int = 512
    region_class: str | None = "region"
    # "auto": crop to <stem>_regions.{roi,zip,geojson} files and region-class objects when
    # present; "none": whole images (region-class objects are still left out of the labels)
    region_source: str = "auto"
    regions: dict[str, list[np.ndarray]] | None = None  # image path -> (N, 2) y,x polygons (ROIs)
    test_dir: Path | None = None
    test_ratio: float = 0.2  # used when no test_dir; 0 = no validation
    seed: int = 0
    base_class_names: list[str] | None = None
    base_class_colors: list[tuple[int, int, int]] | None = None
    use_flow_cache: bool = True
    # label set per channel (label_set_params): None = the shared set (top-level masks)
    label_channel: int | None = None
    input_channels: str = "same"  # with label_channel: "same" (that channel) or "all"

    def __post_init__(self) -> None:
        from guv_app.services.datasets.label_set_params import LABEL_SET_PARAMS
        from guv_app.services.params import check_values

        check_values(self, LABEL_SET_PARAMS)
        if self.label_channel is not None and self.input_channels == "same" and \
                self.channels is not None and list(self.channels) != [self.label_channel]:
            raise ValueError(f"channels {list(self.channels)} and input channels 'same' "
                             f"(channel {self.label_channel} only) disagree: choose 'all' to "
                             "feed the chosen channels")
        if self.min_objects < 0:
            raise ValueError(f"min_objects must be >= 0, got {self.min_objects}")
        if self.tile_size < 0:
            raise ValueError(f"tile size must be >= 0 px (0 = never tile), got {self.tile_size}")
        if not 0 <= self.test_ratio < 1:
            raise ValueError(f"validation share must be in [0, 1), got {self.test_ratio}")


    @property
    def network_channels(self) -> list[int] | None:
        """The image channels fed to the network, in order (stored with the model):
        the labelled channel alone with ``input_channels="same"``, else ``channels``."""
        if self.label_channel is not None and self.input_channels == "same":
            return [self.label_channel]
        return None if self.channels is None else list(self.channels)


class DatasetCancelled(Exception):
    """The cancel flag was set while the training set was being built (nothing written)."""


@dataclass
class Sample:
    """One training region: network input, instance masks, flow targets, class targets."""

    image_path: Path
    label_path: Path
    box: regions.Box
    image: np.ndarray  # (3, H, W) float32 normalised
    masks: np.ndarray  # (H, W) uint32 instance ids
    flows: np.ndarray  # (2, H, W) float32 dY, dX
    class_map: np.ndarray  # (H, W) int16: 0 bg, k class, -1 unassigned object

    @property
    def n_objects(self) -> int:
        return int(len(np.unique(self.masks)) - (1 if (self.masks == 0).any() else 0))


@dataclass
class DatasetFile:
    """A file that went into training, for meta.json (provenance, with content hashes)."""

    image: str
    labels: str
    image_sha256: str
    labels_sha256: str
    role: str  # "train" or "val"
    n_regions: int


@dataclass
class TrainingSet:
    train: list[Sample]
    val: list[Sample]
    class_names: list[str]
    class_colors: list[tuple[int, int, int]]
    channels: list[int] | None
    files: list[DatasetFile] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    diam_labels: float = 30.0

    @property
    def n_classes(self) -> int:
        """Number of USER classes (excluding background)."""
        return len(self.class_names) - 1


def split_pairs(
    pairs: Sequence[LabelledPair], ratio: float, seed: int
) -> tuple[list[LabelledPair], list[LabelledPair]]:
    """Seeded random split by file (tiles of one image never straddle train and val)."""
    pairs = list(pairs)
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"validation ratio must be in [0, 1), got {ratio}")
    n_val = int(round(len(pairs) * ratio))
    if ratio > 0 and len(pairs) >= 2:
        n_val = min(max(n_val, 1), len(pairs) - 1)
    order = np.random.default_rng(seed).permutation(len(pairs))
    val_idx = set(order[:n_val].tolist())
    train = [p for i, p in enumerate(pairs) if i not in val_idx]
    val = [p for i, p in enumerate(pairs) if i in val_idx]
    return train, val


@dataclass
class _Loaded:
    pair: LabelledPair
    plane: np.ndarray
    raw: RawLabels
    file_boxes: list[regions.Box] = field(default_factory=list)  # from <stem>_regions.*


def _boxes(item: _Loaded, image_shape, options: DatasetOptions) -> list[regions.Box]:
    pair = item.pair
    boxes = list(item.file_boxes)
    from_class = region_sources.take_region_objects(item.raw, options.region_class)
    if options.region_source != "none":
        boxes += from_class
    wanted = {Path(k).resolve(): v for k, v in (options.regions or {}).items()}
    for poly in wanted.get(pair.image.resolve(), []):
        box = regions.polygon_box(poly, image_shape)
        if box is not None:
            boxes.append(box)
    if not boxes:
        boxes = [(0, image_shape[0], 0, image_shape[1])]
    tiles = []
    for y0, y1, x0, x1 in boxes:
        for ty0, ty1, tx0, tx1 in regions.tile_boxes((y1 - y0, x1 - x0), options.tile_size):
            tiles.append((y0 + ty0, y0 + ty1, x0 + tx0, x0 + tx1))
    return tiles


def _load(pair: LabelledPair, options: DatasetOptions, pixels: bool = True) -> _Loaded:
    """Read one pair and check it the way training uses it; :class:`LabelProblem` if not.

    ``pixels=False`` (the dry run) reads the image's header only, so it is quick but refuses
    exactly the pairs training refuses (shape mismatch, missing channel, region files).
    """
    if pixels:
        plane = read_plane(pair.image, t=pair.t, z=pair.z, series=pair.series)
        shape = plane.shape
    else:
        shape = read_plane_shape(pair.image, series=pair.series)
        plane = np.zeros((0, 0, 0), np.float32)
    raw = read_labels(pair, options.label_channel)
    if raw.masks.ndim != 2:
        raise LabelProblem(f"labels are {raw.masks.ndim}-D, expected 2-D")
    if raw.masks.shape != tuple(shape[-2:]):
        raise LabelProblem(
            f"shape mismatch: image {shape[-2]}x{shape[-1]}, "
            f"labels {raw.masks.shape[0]}x{raw.masks.shape[1]}"
        )
    wanted = [*(options.network_channels or []), *(
        [] if options.label_channel is None else [options.label_channel])]
    if wanted:
        bad = [c for c in wanted if not 0 <= c < shape[0]]
        if bad:
            raise LabelProblem(f"channel {bad[0]} does not exist (image has {shape[0]})")
    file_boxes: list[regions.Box] = []
    if options.region_source != "none":
        for path in region_sources.region_files_for(pair.image):
            file_boxes += region_sources.read_region_boxes(
                path, raw.masks.shape, pair.image, pair.series, pair.t, pair.z)
    return _Loaded(pair, plane, raw, file_boxes)


def load_pair(
    pair: LabelledPair, options: DatasetOptions, pixels: bool = True
) -> _Loaded | Skipped:
    """:func:`_load`, with any failure of this one pair (any exception, RecursionError and
    MemoryError included) turned into its :class:`Skipped` entry: one bad file never ends
    the run, and every pair ends up either loaded or skipped with a reason."""
    try:
        return _load(pair, options, pixels)
    except Exception as exc:  # noqa: BLE001 - the fault belongs to this item only
        log.warning("skipped %s: %s", pair.image, item_fault(exc))
        log.debug("details of the failure on %s", pair.image, exc_info=True)
        return Skipped(pair.image, item_fault(exc))


def _count_objects(masks: np.ndarray) -> int:
    return len(object_ids(masks)[0])


def _median_diameter(masks_list: Sequence[np.ndarray]) -> float:
    diams = []
    for m in masks_list:
        areas = object_ids(m)[1]
        diams.extend((2.0 * np.sqrt(areas / np.pi)).tolist())
    return float(np.median(diams)) if diams else 30.0


def build_training_set(
    train_dir: str | Path,
    options: DatasetOptions | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> TrainingSet:
    """Everything training needs from a folder (and ``options.test_dir`` or a split).

    Files that cannot be used are listed in ``skipped`` with a reason (no labels, unreadable,
    shape mismatch, too few objects, missing channel, unreadable region file). Raises
    ``ValueError`` when nothing usable remains, naming the folder and the most common
    reason, and :class:`DatasetCancelled` when ``cancel`` is set (checked before each file,
    so a cancel waits at most for one file's flows).
    """
    options = options or DatasetOptions()
    if options.region_source not in region_sources.REGION_MODES:
        raise ValueError(f"region_source must be one of {region_sources.REGION_MODES}, "
                         f"got {options.region_source!r}")

    def check_cancel() -> None:
        if cancel is not None and cancel.is_set():
            raise DatasetCancelled(f"{train_dir}: dataset preparation cancelled")

    find = dict(
        img_filter=options.img_filter, mask_filter=options.mask_filter,
        mask_dir=options.mask_dir, subfolders=options.subfolders,
    )
    report = find_labelled_images(train_dir, **find)
    skipped = list(report.skipped)
    if options.test_dir is not None:
        val_report = find_labelled_images(options.test_dir, **find)
        skipped += val_report.skipped
        roles = [(p, "train") for p in report.pairs] + [(p, "val") for p in val_report.pairs]
    else:
        train_pairs, val_pairs = split_pairs(report.pairs, options.test_ratio, options.seed)
        roles = [(p, "train") for p in train_pairs] + [(p, "val") for p in val_pairs]

    loaded: list[tuple[_Loaded, str]] = []
    for i, (pair, role) in enumerate(roles):
        check_cancel()
        if progress:
            progress(i, len(roles) * 2, f"reading {pair.image.name}")
        item = load_pair(pair, options)
        if isinstance(item, Skipped):
            skipped.append(item)
            continue
        loaded.append((item, role))

    names, remaps = classmap.merge_class_names(
        [it.raw.class_names for it, _ in loaded], base=options.base_class_names
    )
    keep = [n for n in names if not region_sources.is_region_name(n, options.region_class)]
    to_keep = np.array([keep.index(n) if n in keep else 0 for n in names], dtype=np.int64)

    train: list[Sample] = []
    val: list[Sample] = []
    files: list[DatasetFile] = []
    for k, ((item, role), remap) in enumerate(zip(loaded, remaps, strict=True)):
        pair = item.pair
        check_cancel()
        if progress:
            progress(len(roles) + k, len(roles) * 2, f"flows for {pair.image.name}")
        try:
            samples = _samples(item, remap, to_keep, options, skipped)
            if samples is None:
                continue
            record = DatasetFile(str(pair.image), str(pair.labels), file_sha256(pair.image),
                                 file_sha256(pair.labels), role, len(samples))
        except Exception as exc:  # noqa: BLE001 - the fault belongs to this item only
            log.warning("skipped %s: %s", pair.image, item_fault(exc))
            log.debug("details of the failure on %s", pair.image, exc_info=True)
            skipped.append(Skipped(pair.image, item_fault(exc)))
            continue
        (train if role == "train" else val).extend(samples)
        files.append(record)

    if not train:
        reasons = [s.reason for s in skipped]
        common = max(set(reasons), key=reasons.count) if reasons else "no images found"
        raise ValueError(f"{train_dir}: no usable training images ({common})")
    colors = _colors(keep, loaded, options)
    if progress:
        progress(len(roles) * 2, len(roles) * 2, "dataset ready")
    return TrainingSet(train, val, keep, colors, options.network_channels, files, skipped,
                       _median_diameter([s.masks for s in train]))


def _samples(
    item: _Loaded, remap: np.ndarray, to_keep: np.ndarray, options: DatasetOptions,
    skipped: list[Skipped],
) -> list[Sample] | None:
    """The training regions of one loaded pair (None, and a skipped entry, if too few)."""
    pair = item.pair
    boxes = _boxes(item, item.plane.shape[-2:], options)
    masks = item.raw.masks
    n_obj = _count_objects(masks)
    if n_obj < options.min_objects:
        skipped.append(Skipped(pair.image, f"too few objects ({n_obj} < {options.min_objects})"))
        return None
    cmap = classmap.build_class_map(masks, item.raw.classes, to_keep[remap])
    flows = flows_for(masks, use_cache=options.use_flow_cache)
    x = to_network_input(item.plane, options.network_channels)
    return [
        Sample(pair.image, pair.labels, box, regions.crop(x, box), regions.crop(masks, box),
               regions.crop(flows, box), regions.crop(cmap, box))
        for box in boxes
    ]


def _colors(names: list[str], loaded: list, options: DatasetOptions) -> list[tuple[int, int, int]]:
    known: dict[str, tuple[int, int, int]] = {}
    for name, col in zip(options.base_class_names or [], options.base_class_colors or [],
                         strict=False):
        known.setdefault(name, tuple(col))
    for item, _ in loaded:
        for name, col in zip(item.raw.class_names, item.raw.class_colors, strict=False):
            known.setdefault(name.strip(), tuple(col))
    fallback = default_class_colors(len(names) - 1)
    return [known.get(n, fallback[i]) for i, n in enumerate(names)]
