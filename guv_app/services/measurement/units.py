"""Plane and physical-unit columns, added to a plane's measurement after the plugins ran.

Plugins measure in pixels on one (C, Y, X) plane and know nothing of the file; this
post-step adds what the file says:

* ``series``, ``t``, ``z`` (0-based plane indices) on every row, and ``time_s`` (s from the
  first time point: the recorded time stamp for ND2, else ``t x`` the frame interval) and
  ``z_um`` (µm from the first slice) when the file gives a frame interval / Z step;
* for every length, area and position column in pixels, the same value in µm / µm²
  under the column's name + ``_um`` / ``_um2`` (``area`` -> ``area_um2``, ``perimeter`` ->
  ``perimeter_um``, ``centroid_x`` -> ``centroid_x_um``), when the pixel size is known: the
  file's, else ``--pixel-size`` (the pixel columns stay, unchanged).

Which columns are lengths, areas or positions: :data:`PIXEL_UNITS` for the built-in
plugins, plus a plugin's own ``column_units`` mapping (column -> "length" / "area" /
"position_y" / "position_x"), so third-party plugins get µm columns without code here.
Lengths on non-square pixels use the geometric mean of the two pixel sides (exact for
areas and for positions, which scale per axis).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from guv_app.plugins.base import Table
from guv_app.services.batch import Plane

#: Unit kind of the built-in plugins' pixel columns.
PIXEL_UNITS: dict[str, str] = {
    "area": "area", "convex_area": "area", "boundary_area": "area",
    "perimeter": "length", "equivalent_diameter": "length", "major_axis_length": "length",
    "minor_axis_length": "length", "nearest_distance": "length",
    "centroid_y": "position_y", "centroid_x": "position_x",
}
PLANE_COLUMNS = ("series", "t", "z", "time_s", "z_um")
_SUFFIX = {"area": "_um2", "length": "_um", "position_y": "_um", "position_x": "_um"}


def unit_kinds(plugins: Sequence) -> dict[str, str]:
    """:data:`PIXEL_UNITS` updated with every plugin's ``column_units`` (if it has one)."""
    kinds = dict(PIXEL_UNITS)
    for plugin in plugins:
        plugin = plugin[0] if isinstance(plugin, tuple) else plugin
        own = getattr(plugin, "column_units", None)
        if isinstance(own, Mapping):
            kinds.update({str(k): str(v) for k, v in own.items() if str(v) in _SUFFIX})
    return kinds


def plane_columns(plane: Plane, n: int) -> Table:
    """``series``, ``t``, ``z`` (and ``time_s`` / ``z_um`` when known) for ``n`` rows."""
    columns: Table = {
        "series": np.full(n, plane.series, dtype=np.int64),
        "t": np.full(n, plane.t, dtype=np.int64),
        "z": np.full(n, plane.z, dtype=np.int64),
    }
    if plane.time_s is not None:
        columns["time_s"] = np.full(n, float(plane.time_s))
    if plane.z_um is not None:
        columns["z_um"] = np.full(n, float(plane.z_um))
    return columns


def micrometre_columns(table: Table, pixel_size: tuple[float, float] | None,
                       kinds: Mapping[str, str]) -> Table:
    """The µm / µm² versions of the pixel columns of ``table`` (empty without a pixel size)."""
    if not pixel_size:
        return {}
    py, px = (float(v) for v in pixel_size)
    factor = {"area": py * px, "length": math.sqrt(py * px), "position_y": py, "position_x": px}
    out: Table = {}
    for column, values in table.items():
        kind = kinds.get(column)
        array = np.asarray(values)
        if kind is None or array.dtype.kind not in "iuf":
            continue
        out[column + _SUFFIX[kind]] = array.astype(np.float64) * factor[kind]
    return out


def with_plane_and_units(table: Table, plane: Plane, pixel_size: tuple[float, float] | None,
                         kinds: Mapping[str, str]) -> Table:
    """``table`` with the plane columns right after ``image`` and the µm columns after
    their pixel columns."""
    n = len(next(iter(table.values()))) if table else 0
    extra = plane_columns(plane, n)
    physical = micrometre_columns(table, pixel_size, kinds)
    out: Table = {}
    for column, values in table.items():
        if column in extra:
            continue  # a plugin column of the same name is replaced by the file's value
        out[column] = values
        if column == "image":
            out.update(extra)
        for suffix in ("_um", "_um2"):
            if column + suffix in physical:
                out[column + suffix] = physical[column + suffix]
    if "image" not in table:
        out = {**extra, **out}
    return out
