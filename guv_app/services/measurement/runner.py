"""Run measurement plugins on one image: arrays in, per-plugin tables out.

Plain picklable inputs and outputs so the same call runs in a GUI worker thread, the CLI or
a Dask worker. The service, not each plugin, adds the ``image``, ``object_id``,
``class_id`` and ``class_name`` columns, so every plugin's table carries them identically.
A plugin that raises (or returns a malformed table) is recorded in ``errors`` and the other
plugins still run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from guv_app.plugins.base import MeasurementPlugin, PluginError, Table, check_table
from guv_app.plugins.discovery import get_plugin

log = logging.getLogger(__name__)

KEY_COLUMNS = ("image", "object_id", "class_id", "class_name")
UNASSIGNED = "unassigned"


class MeasurementError(Exception):
    """An image that cannot be measured (unreadable, labels missing or not matching)."""


@dataclass
class ImageMeasurement:
    """Results for one image: each plugin's table (key columns first) and plugin failures."""

    image: str
    n_objects: int
    key: Table  # image, object_id, class_id, class_name for every object
    tables: dict[str, Table] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def resolve_plugins(
    names: Sequence[str | MeasurementPlugin], params: Mapping[str, Mapping[str, Any]] | None
) -> list[tuple[MeasurementPlugin, dict[str, Any]]]:
    """Look plugins up by name and validate their params, before any image is touched.

    Raises :class:`PluginError` for an unknown/broken plugin or a bad parameter, so a run
    with a typo fails at once rather than after the first image.
    """
    params = dict(params or {})
    plugins = [get_plugin(n) if isinstance(n, str) else n for n in names]
    unused = sorted(set(params) - {p.name for p in plugins})
    if unused:
        raise PluginError(f"parameters given for plugins that are not run: {unused}")
    resolved = []
    for plugin in plugins:
        if hasattr(plugin, "resolve_params"):
            values = plugin.resolve_params(params.get(plugin.name))
        else:  # a duck-typed third-party plugin
            from guv_app.plugins.base import resolve_params

            values = resolve_params(plugin.params_schema, params.get(plugin.name), plugin=plugin.name)
        resolved.append((plugin, values))
    return resolved


def key_table(
    image: str, masks: np.ndarray, classes: np.ndarray | None, class_names: Sequence[str]
) -> Table:
    """``image``, ``object_id``, ``class_id``, ``class_name`` for every object in ``masks``."""
    from guv_app.plugins.regions import Objects

    ids = Objects.cached(masks).ids.astype(np.int64)  # shared with the built-in plugins
    class_ids = np.zeros(len(ids), dtype=np.int64)
    if classes is not None and len(classes):
        classes = np.asarray(classes).astype(np.int64)
        known = ids < len(classes)
        class_ids[known] = classes[ids[known]]
    names = [
        UNASSIGNED if c == 0 else (class_names[c] if c < len(class_names) else f"class_{c}")
        for c in range(int(class_ids.max()) + 1 if len(ids) else 0)
    ]
    return {
        "image": np.full(len(ids), image, dtype=object),
        "object_id": ids.astype(np.int64),
        "class_id": class_ids,
        "class_name": np.array([names[c] for c in class_ids], dtype=object),
    }


def result_len(table: Table) -> int:
    return len(table["object_id"])


def measure_arrays(
    channels: np.ndarray,
    masks: np.ndarray,
    classes: np.ndarray | None,
    class_names: Sequence[str],
    plugins: Sequence[tuple[MeasurementPlugin, dict[str, Any]]],
    image: str = "",
) -> ImageMeasurement:
    """Run each (plugin, params) on one image; a failing plugin is recorded, not raised."""
    from guv_app.plugins.regions import check_channels, check_masks, clear_cache

    try:
        masks = check_masks(masks).astype(np.uint32, copy=False)
        channels = check_channels(channels, masks)
    except ValueError as exc:
        raise MeasurementError(f"{image}: {exc}") from None
    key = key_table(image, masks, classes, class_names)
    if classes is None:
        top = int(key["object_id"][-1]) + 1 if result_len(key) else 1
        classes = np.zeros(top if top <= 1 << 26 else 0, dtype=np.int32)  # ids beyond: 0
    result = ImageMeasurement(image, result_len(key), key)
    for plugin, params in plugins:
        try:
            table = check_table(
                plugin.measure(channels, masks, classes, params), key["object_id"], plugin.name
            )
        except Exception as exc:  # noqa: BLE001 - one plugin's bug must not stop the others
            message = f"{type(exc).__name__}: {exc}"
            log.warning("plugin %r failed on %s: %s", plugin.name, image, message,
                        exc_info=log.isEnabledFor(logging.DEBUG))
            result.errors[plugin.name] = message
            continue
        measured = {k: v for k, v in table.items() if k not in KEY_COLUMNS}
        result.tables[plugin.name] = {**key, **measured}
    clear_cache()  # the built-ins shared one grouping of these masks; free it
    return result


def load_item(image_path: Path, labels_path: Path | None):
    """Read the first plane (C, Y, X) of an image and its labels; MeasurementError if not."""
    import cellpose_io

    if labels_path is None:
        raise MeasurementError(f"{image_path}: no label file")
    try:
        channels = cellpose_io.read_image(image_path).plane(t=0, z=0)
        seg = cellpose_io.read_label_source(labels_path)
    except cellpose_io.CellposeIOError as exc:
        raise MeasurementError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - a reader bug on one file must not end the run
        log.debug("unexpected error reading %s", image_path, exc_info=True)
        raise MeasurementError(f"{image_path}: {type(exc).__name__}: {exc}") from None
    if tuple(channels.shape[-2:]) != tuple(seg.masks.shape):
        raise MeasurementError(
            f"{image_path}: image is {channels.shape[-2]}x{channels.shape[-1]} but labels "
            f"{labels_path.name} are {seg.masks.shape[0]}x{seg.masks.shape[1]}"
        )
    return channels, seg


def measure_image(
    image_path: str | Path,
    labels_path: str | Path | None,
    plugins: Sequence[tuple[MeasurementPlugin, dict[str, Any]]],
    image_name: str | None = None,
) -> ImageMeasurement:
    """Load one image and its label file and measure it (see :func:`measure_arrays`)."""
    image_path = Path(image_path)
    channels, seg = load_item(image_path, Path(labels_path) if labels_path else None)
    return measure_arrays(
        channels, seg.masks, seg.classes, list(seg.class_names or []),
        plugins, image_name or image_path.name,
    )
