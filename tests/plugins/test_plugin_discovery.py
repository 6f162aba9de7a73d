"""Plugins are found through the ``multicellpose.plugins`` entry point group, built-in or not.

A third-party distribution is simulated by a real ``*.dist-info`` folder with an
``entry_points.txt`` on ``sys.path`` — exactly what ``pip install`` leaves behind.
"""

from __future__ import annotations

import sys
import textwrap
from importlib.metadata import entry_points

import numpy as np
import pytest

from guv_app.plugins.base import MeasurementPlugin, PluginError
from guv_app.plugins.discovery import (
    BUILTIN_ORDER,
    GROUP,
    available_plugins,
    discover_plugins,
    get_plugin,
)

MODULE = "mcp_thirdparty_plugin_for_tests"

PLUGIN_SOURCE = '''
import numpy as np
from guv_app.plugins.base import MeasurementPlugin, ParamSpec


class CountPixels(MeasurementPlugin):
    name = "pixelcount"
    description = "pixels per object times a factor"
    params_schema = (ParamSpec("factor", "float", 1.0, minimum=0),)

    def measure(self, channels, masks, classes, params):
        counts = np.bincount(masks.ravel())
        ids = np.flatnonzero(counts)[1:] if counts[0] else np.flatnonzero(counts)
        return {"object_id": ids, "scaled_area": counts[ids] * params["factor"]}


class Instantiable:
    def __init__(self):
        raise RuntimeError("needs a licence server")
'''


@pytest.fixture
def third_party(tmp_path, monkeypatch):
    (tmp_path / f"{MODULE}.py").write_text(PLUGIN_SOURCE)
    dist = tmp_path / "mcp_thirdparty-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mcp-thirdparty\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent(f"""\
        [{GROUP}]
        pixelcount = {MODULE}:CountPixels
        missing = mcp_module_that_does_not_exist:Plugin
        wrongname = {MODULE}:CountPixels
        crashes = {MODULE}:Instantiable
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop(MODULE, None)


def test_builtins_are_registered_as_entry_points_of_the_installed_package():
    registered = {ep.name: ep.value for ep in entry_points(group=GROUP)}
    for name in BUILTIN_ORDER:
        assert registered[name].startswith(f"guv_app.plugins.{name}:")
    infos = discover_plugins()
    assert [i.name for i in infos[:4]] == list(BUILTIN_ORDER)
    assert all(i.ok and i.distribution == "multicellpose" for i in infos[:4])
    assert all(isinstance(i.plugin, MeasurementPlugin) for i in infos[:4])


def test_third_party_plugin_is_found_and_works(third_party):
    infos = {i.name: i for i in discover_plugins()}
    info = infos["pixelcount"]
    assert info.ok and info.distribution == "mcp-thirdparty"
    plugin = get_plugin("pixelcount")
    masks = np.array([[0, 3, 3], [5, 5, 5]], dtype=np.uint32)
    table = plugin.measure(np.zeros((1, 2, 3)), masks, np.zeros(6, np.int32),
                           plugin.resolve_params({"factor": "2"}))
    assert table["object_id"].tolist() == [3, 5]
    assert table["scaled_area"].tolist() == [4.0, 6.0]
    assert "pixelcount" in available_plugins()


def test_broken_plugins_are_listed_with_their_error_not_fatal(third_party):
    infos = {i.name: i for i in discover_plugins()}
    assert not infos["missing"].ok
    assert "ModuleNotFoundError" in infos["missing"].error
    assert "mcp_module_that_does_not_exist" in infos["missing"].error
    assert "registered as 'wrongname'" in infos["wrongname"].error
    assert "RuntimeError: needs a licence server" == infos["crashes"].error
    assert {"missing", "wrongname", "crashes"}.isdisjoint(available_plugins())
    with pytest.raises(PluginError, match="'missing' is broken: ModuleNotFoundError"):
        get_plugin("missing")
    # the working ones are still usable
    assert get_plugin("shape").name == "shape"


def test_unknown_plugin_error_lists_the_available_ones():
    with pytest.raises(PluginError, match=r"no measurement plugin 'areas'; available: shape, "):
        get_plugin("areas")
