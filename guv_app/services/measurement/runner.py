"""Run measurement plugins on one image: arrays in, per-plugin tables out.

Plain picklable inputs and outputs so the same call runs in a GUI worker thread, the CLI or
a Dask worker. The service, not each plugin, adds the ``image``, ``object_id``,
``class_id`` and ``class_name`` columns, so every plugin's table carries them identically.
A plugin that raises (or returns a malformed table) is recorded in ``errors`` and the other
plugins still run.

Plugins are guests (third-party code): each gets read-only views of the image, masks and
classes (a plugin writing into them would corrupt what the next plugins see), anything it
raises -- ``SystemExit`` and other ``BaseException`` subclasses included -- is its own
failure, and it runs in a worker thread that is abandoned after ``plugin_timeout`` seconds
(default :data:`DEFAULT_PLUGIN_TIMEOUT`, env ``MULTICELLPOSE_PLUGIN_TIMEOUT``; 0 = no
limit), so a hanging plugin costs its own columns, not the run. A float column without a
single finite value is flagged in ``warnings``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from guv_app.plugins.base import (
    MeasurementPlugin,
    PluginError,
    Table,
    check_plugin_name,
    check_table,
)
from guv_app.plugins.discovery import get_plugin

log = logging.getLogger(__name__)

KEY_COLUMNS = ("image", "object_id", "class_id", "class_name")
UNASSIGNED = "unassigned"


def _timeout_from_env() -> float | None:
    text = os.environ.get("MULTICELLPOSE_PLUGIN_TIMEOUT", "").strip()
    try:
        value = float(text) if text else 600.0
    except ValueError:
        value = 600.0
    return value if value > 0 else None


#: Seconds one plugin may take on one image before it is abandoned (None: no limit).
DEFAULT_PLUGIN_TIMEOUT: float | None = _timeout_from_env()


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
    warnings: dict[str, str] = field(default_factory=dict)  # plugin -> flagged columns


def resolve_plugins(
    names: Sequence[str | MeasurementPlugin], params: Mapping[str, Mapping[str, Any]] | None
) -> list[tuple[MeasurementPlugin, dict[str, Any]]]:
    """Look plugins up by name and validate their params, before any image is touched.

    Raises :class:`PluginError` for an unknown/broken plugin or a bad parameter, so a run
    with a typo fails at once rather than after the first image.
    """
    params = dict(params or {})
    plugins = [get_plugin(n) if isinstance(n, str) else n for n in names]
    for plugin in plugins:
        check_plugin_name(getattr(plugin, "name", None))
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
    # one name per class id present (a stray class id of 1e9 must not build 1e9 names)
    names = {
        c: UNASSIGNED if c <= 0 else (class_names[c] if c < len(class_names) else f"class_{c}")
        for c in np.unique(class_ids).tolist()
    }
    return {
        "image": np.full(len(ids), image, dtype=object),
        "object_id": ids.astype(np.int64),
        "class_id": class_ids,
        "class_name": np.array([names[c] for c in class_ids.tolist()], dtype=object),
    }


def result_len(table: Table) -> int:
    return len(table["object_id"])


def read_only(array: np.ndarray) -> np.ndarray:
    """A read-only view of a private copy: the view's flag cannot be turned back on."""
    private = np.array(array, copy=True)
    private.flags.writeable = False
    return private.view()


def call_plugin(
    plugin: MeasurementPlugin, args: tuple, timeout: float | None
) -> Any:
    """``plugin.measure(*args)`` in a daemon worker thread, abandoned after ``timeout`` s.

    Returns the result or raises :class:`PluginError` for anything the plugin raised
    (``BaseException`` included: a library calling ``sys.exit`` fails that plugin only) or
    for running past the time limit.
    """
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["table"] = plugin.measure(*args)
        except BaseException as exc:  # noqa: BLE001 - SystemExit from a guest is its failure
            outcome["error"] = exc

    worker = threading.Thread(target=work, name=f"plugin-{plugin.name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise PluginError(f"timed out after {timeout:g} s (abandoned; limit set by "
                          "plugin_timeout / MULTICELLPOSE_PLUGIN_TIMEOUT)")
    if "error" in outcome:
        exc = outcome["error"]
        raise PluginError(f"{type(exc).__name__}: {exc}") from exc
    return outcome.get("table")


def non_finite_columns(table: Table) -> list[str]:
    """Float columns of a non-empty table without a single finite value."""
    return [name for name, values in table.items()
            if values.dtype.kind == "f" and values.size and not np.isfinite(values).any()]


def measure_arrays(
    channels: np.ndarray,
    masks: np.ndarray,
    classes: np.ndarray | None,
    class_names: Sequence[str],
    plugins: Sequence[tuple[MeasurementPlugin, dict[str, Any]]],
    image: str = "",
    plugin_timeout: float | None | str = "default",
) -> ImageMeasurement:
    """Run each (plugin, params) on one image; a failing plugin is recorded, not raised.

    ``plugin_timeout``: seconds per plugin (None: no limit; default
    :data:`DEFAULT_PLUGIN_TIMEOUT`). Raises :class:`MeasurementError` for arrays that do
    not fit together.
    """
    from guv_app.plugins.regions import check_channels, check_masks, clear_cache

    timeout = DEFAULT_PLUGIN_TIMEOUT if plugin_timeout == "default" else plugin_timeout
    try:
        masks = check_masks(masks).astype(np.uint32, copy=False)
        channels = check_channels(channels, masks)
    except ValueError as exc:
        raise MeasurementError(f"{image}: {exc}") from None
    key = key_table(image, masks, classes, class_names)
    if classes is None:
        top = int(key["object_id"][-1]) + 1 if result_len(key) else 1
        classes = np.zeros(top if top <= 1 << 26 else 0, dtype=np.int32)  # ids beyond: 0
    channels, masks, classes = read_only(channels), read_only(masks), read_only(classes)
    result = ImageMeasurement(image, result_len(key), key)
    for plugin, params in plugins:
        try:
            table = check_table(
                call_plugin(plugin, (channels, masks, classes, dict(params)), timeout),
                key["object_id"], plugin.name,
            )
        except Exception as exc:  # noqa: BLE001 - one plugin's bug must not stop the others
            message = str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
            log.warning("plugin %r failed on %s: %s", plugin.name, image, message,
                        exc_info=log.isEnabledFor(logging.DEBUG))
            result.errors[plugin.name] = message
            continue
        measured = {k: v for k, v in table.items() if k not in KEY_COLUMNS}
        flagged = non_finite_columns(measured)
        if flagged:
            result.warnings[plugin.name] = f"no finite value in column(s) {', '.join(flagged)}"
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
    plugin_timeout: float | None | str = "default",
) -> ImageMeasurement:
    """Load one image and its label file and measure it (see :func:`measure_arrays`).

    Every fault of this one item -- whatever the readers or the measuring raise,
    ``RecursionError`` and ``MemoryError`` included -- becomes :class:`MeasurementError`
    naming the image, so a batch marks it failed and goes on.
    """
    image_path = Path(image_path)
    channels, seg = load_item(image_path, Path(labels_path) if labels_path else None)
    try:
        return measure_arrays(
            channels, seg.masks, seg.classes, list(seg.class_names or []),
            plugins, image_name or image_path.name, plugin_timeout,
        )
    except MeasurementError:
        raise
    except Exception as exc:  # noqa: BLE001 - the fault belongs to this item only
        log.warning("measuring %s failed", image_path, exc_info=True)
        raise MeasurementError(f"{image_path}: {type(exc).__name__}: {exc}") from None
