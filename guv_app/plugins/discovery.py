"""Find measurement plugins: built-ins and third-party ones alike, via one entry point group.

A package registers a plugin in its ``pyproject.toml``::

    [project.entry-points."multicellpose.plugins"]
    myplugin = "my_package.module:MyPlugin"

The entry point may name a :class:`MeasurementPlugin` subclass (instantiated without
arguments) or a ready instance. A plugin that fails to import, to instantiate or to follow
the interface is listed as broken with the reason instead of stopping the app.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from guv_app.plugins.base import MeasurementPlugin, ParamSpec, PluginError, check_plugin_name

log = logging.getLogger(__name__)

GROUP = "multicellpose.plugins"
BUILTIN_ORDER = ("shape", "intensity", "boundary", "neighbours")


@dataclass
class PluginInfo:
    """One entry point of the group: the loaded plugin, or why it could not be used."""

    name: str
    value: str  # "module:attr" as registered
    distribution: str | None
    plugin: MeasurementPlugin | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.plugin is not None and self.error is None


def _instantiate(ep: EntryPoint) -> MeasurementPlugin:
    check_plugin_name(ep.name)  # before importing anything of the plugin
    obj = ep.load()
    plugin = obj() if isinstance(obj, type) else obj
    name = getattr(plugin, "name", None)
    if name != ep.name:
        raise PluginError(f"declares name {name!r} but is registered as {ep.name!r}")
    if not callable(getattr(plugin, "measure", None)):
        raise PluginError("has no measure() method")
    schema = getattr(plugin, "params_schema", ())
    if not all(isinstance(spec, ParamSpec) for spec in schema):
        raise PluginError("params_schema must be a sequence of ParamSpec")
    return plugin


def _load(ep: EntryPoint) -> PluginInfo:
    dist = getattr(ep, "dist", None)
    info = PluginInfo(ep.name, ep.value, dist.name if dist is not None else None)
    try:
        info.plugin = _instantiate(ep)
    except Exception as exc:  # noqa: BLE001 - any failure in third-party code marks it broken
        info.error = f"{type(exc).__name__}: {exc}"
        log.warning("measurement plugin %r (%s) is broken: %s", ep.name, ep.value, info.error)
    return info


def discover_plugins(group: str = GROUP) -> list[PluginInfo]:
    """Every plugin registered in ``group``: built-ins first, then the others by name.

    Two distributions registering the same name: the first one wins and the second is listed
    as broken (duplicate), so the choice is visible rather than silent.
    """
    found: dict[str, PluginInfo] = {}
    extra: list[PluginInfo] = []
    for ep in entry_points(group=group):
        if ep.name in found:
            if found[ep.name].value != ep.value:
                extra.append(PluginInfo(ep.name, ep.value, getattr(ep.dist, "name", None),
                                        error=f"duplicate name; {found[ep.name].value} is used"))
            continue
        found[ep.name] = _load(ep)
    rank = {name: i for i, name in enumerate(BUILTIN_ORDER)}
    ordered = sorted(found.values(), key=lambda p: (rank.get(p.name, len(rank)), p.name))
    return ordered + extra


def available_plugins(plugins: Sequence[PluginInfo] | None = None) -> list[str]:
    """Names of the working plugins, in discovery order."""
    plugins = discover_plugins() if plugins is None else plugins
    return [p.name for p in plugins if p.ok]


def get_plugin(name: str, plugins: Sequence[PluginInfo] | None = None) -> MeasurementPlugin:
    """The working plugin called ``name``; :class:`PluginError` says why not otherwise."""
    plugins = discover_plugins() if plugins is None else plugins
    for info in plugins:
        if info.name == name and info.ok:
            return info.plugin  # type: ignore[return-value]
    for info in plugins:
        if info.name == name:
            raise PluginError(f"measurement plugin {name!r} is broken: {info.error}")
    raise PluginError(
        f"no measurement plugin {name!r}; available: {', '.join(available_plugins(plugins))}"
    )
