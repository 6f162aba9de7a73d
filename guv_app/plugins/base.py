"""The one interface every measurement plugin implements, built-in or third-party.

A plugin is a small object with a ``name``, a typed parameter schema (from which the GUI builds
its form and the CLI parses ``--param`` values) and a ``measure`` function from
(image channels, instance masks, per-object classes, params) to a table with one row per
object. The table is a plain ``dict`` of column name -> 1-D numpy array so that results pickle
cheaply across processes (Dask workers) and need no pandas.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

#: One row per object, keyed by the ``object_id`` column; every column has the same length.
Table = dict[str, np.ndarray]

PARAM_TYPES = ("int", "float", "bool", "choice", "str")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class PluginError(Exception):
    """A plugin that cannot be found, loaded, configured, or returned a malformed table."""


# A plugin's name becomes part of file names (results_<name>.csv) and CSV column prefixes:
# letters, digits, "_", "-" and inner "."; no separators, no "..", at most 64 characters.
_PLUGIN_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_-])?")


def check_plugin_name(name: object) -> str:
    """Return ``name`` if it is usable as a file-name part, else raise :class:`PluginError`."""
    if not isinstance(name, str) or not _PLUGIN_NAME.fullmatch(name) or ".." in name:
        raise PluginError(
            f"plugin name {name!r} is not a valid file-name part (use letters, digits, "
            "'_', '-' and inner '.', at most 64 characters)"
        )
    return name


@dataclass(frozen=True)
class ParamSpec:
    """One typed parameter: enough to build a form field and to validate a value.

    ``type`` is one of ``int``, ``float``, ``bool``, ``choice`` (one of ``choices``) or
    ``str``. ``minimum``/``maximum`` bound ``int``/``float`` values (inclusive).
    """

    name: str
    type: str
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    help: str = ""

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(f"parameter {self.name!r}: type {self.type!r} not in {PARAM_TYPES}")
        if self.type == "choice" and not self.choices:
            raise ValueError(f"parameter {self.name!r}: a choice needs choices")
        self.coerce(self.default)  # a schema whose default is invalid is a bug in the plugin

    def coerce(self, value: Any) -> Any:
        """Return ``value`` converted to this parameter's type, or raise ``ValueError``.

        Strings are accepted for every type so that CLI ``--param name=value`` works.
        """
        where = f"parameter {self.name!r}"
        if self.type == "bool":
            if isinstance(value, str):
                low = value.strip().lower()
                if low not in _TRUE | _FALSE:
                    raise ValueError(f"{where}: {value!r} is not a boolean (true/false)")
                return low in _TRUE
            if isinstance(value, (bool, np.bool_)) or value in (0, 1):
                return bool(value)
            raise ValueError(f"{where}: {value!r} is not a boolean")
        if self.type == "choice":
            for choice in self.choices:
                if value == choice or (isinstance(value, str) and value == str(choice)):
                    return choice
            raise ValueError(f"{where}: {value!r} is not one of {list(self.choices)}")
        if self.type == "str":
            return str(value)
        try:
            if self.type == "int":
                number: float = int(value) if not isinstance(value, float) else value
                if isinstance(number, float):
                    if not number.is_integer():
                        raise ValueError
                    number = int(number)
            else:
                number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: {value!r} is not a{'n' if self.type == 'int' else ''} "
                             f"{self.type}") from None
        if isinstance(number, float) and not math.isfinite(number):
            raise ValueError(f"{where}: {value!r} is not finite")
        if self.minimum is not None and number < self.minimum:
            raise ValueError(f"{where}: {value!r} is below the minimum {self.minimum}")
        if self.maximum is not None and number > self.maximum:
            raise ValueError(f"{where}: {value!r} is above the maximum {self.maximum}")
        return number


class MeasurementPlugin(ABC):
    """Base class of measurement plugins (subclass it and register an entry point).

    Subclasses set ``name`` (the entry point name, used in CSV file names), optionally
    ``description`` and ``params_schema``, and implement :meth:`measure`. Rows must cover the
    objects present in ``masks`` (ids > 0 with at least one pixel) in ascending id order; the
    measurement service adds ``image``, ``class_id`` and ``class_name`` itself.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    params_schema: ClassVar[Sequence[ParamSpec]] = ()

    @abstractmethod
    def measure(
        self,
        channels: np.ndarray,
        masks: np.ndarray,
        classes: np.ndarray,
        params: Mapping[str, Any],
    ) -> Table:
        """Measure every object.

        channels: (C, Y, X) image plane; masks: (Y, X) uint32 instance ids (0 = background);
        classes: int array indexed by object id (class of each object, 0 = unassigned; ids
        at or beyond its length are unassigned);
        params: values for ``params_schema`` (already validated, defaults filled in).
        Returns a :data:`Table` whose first column is ``object_id``.
        """

    def resolve_params(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults overlaid with ``params``, each validated; unknown names are an error."""
        return resolve_params(self.params_schema, params, plugin=self.name)


def resolve_params(
    schema: Sequence[ParamSpec], params: Mapping[str, Any] | None, *, plugin: str = ""
) -> dict[str, Any]:
    """Fill defaults and coerce every value; raise :class:`PluginError` naming the problem."""
    specs = {spec.name: spec for spec in schema}
    given = dict(params or {})
    unknown = sorted(set(given) - set(specs))
    if unknown:
        raise PluginError(
            f"plugin {plugin!r}: unknown parameter(s) {unknown}; known: {sorted(specs)}"
        )
    out: dict[str, Any] = {}
    for name, spec in specs.items():
        try:
            out[name] = spec.coerce(given.get(name, spec.default))
        except ValueError as exc:
            raise PluginError(f"plugin {plugin!r}: {exc}") from None
    return out


def check_table(table: Any, object_ids: np.ndarray, plugin: str) -> Table:
    """Validate a plugin's result: a dict of equal-length 1-D columns keyed by ``object_id``.

    A plugin returning something else is reported as that plugin's failure, naming what is
    wrong, instead of producing a CSV with misaligned rows.
    """
    if not isinstance(table, Mapping):
        raise PluginError(f"plugin {plugin!r} returned {type(table).__name__}, not a dict")
    if "object_id" not in table:
        raise PluginError(f"plugin {plugin!r} returned no 'object_id' column")
    out: Table = {}
    for key, column in table.items():
        array = np.asarray(column)
        if array.ndim != 1 or len(array) != len(object_ids):
            raise PluginError(
                f"plugin {plugin!r}: column {key!r} has shape {array.shape}, "
                f"expected ({len(object_ids)},) — one value per object"
            )
        out[str(key)] = array
    if not np.array_equal(out["object_id"].astype(np.int64), object_ids.astype(np.int64)):
        raise PluginError(
            f"plugin {plugin!r}: 'object_id' must list the objects present in the masks "
            "in ascending order"
        )
    return out
