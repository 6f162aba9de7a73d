"""Plugins are guests: whatever one does (writes into its inputs, raises SystemExit, hangs,
returns garbage or NaN) costs that plugin's columns only, and bad names never load."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from guv_app.plugins.base import MeasurementPlugin, PluginError
from guv_app.plugins.discovery import discover_plugins, get_plugin
from guv_app.services.measurement.runner import measure_arrays

MASKS = np.zeros((32, 32), np.uint32)
MASKS[2:10, 2:10] = 1
MASKS[12:20, 5:25] = 7
CHANNELS = np.arange(2 * 32 * 32, dtype=np.float32).reshape(2, 32, 32)
RELEASE = threading.Event()


def _plugin(name: str, body):
    cls = type(f"P_{name}", (MeasurementPlugin,), {
        "name": name, "measure": lambda self, channels, masks, classes, params:
        body(channels, masks, classes)})
    return cls()


def _ids(masks):
    return {"object_id": np.unique(masks[masks > 0]).astype(np.int64)}


def _write_masks(channels, masks, classes):
    masks[:] = 0
    return _ids(masks)


def _write_channels(channels, masks, classes):
    channels[0, :, :] = -1
    return _ids(masks)


def _unlock_then_write(channels, masks, classes):
    masks.flags.writeable = True
    masks[0, 0] = 99
    return _ids(masks)


def _raise(exc):
    def body(channels, masks, classes):
        raise exc
    return body


def _recurse(channels, masks, classes):
    return _recurse(channels, masks, classes)


def _hang(channels, masks, classes):
    RELEASE.wait(60)
    return _ids(masks)


def _const(table):
    return lambda channels, masks, classes: table


FAULTS = {
    "writes_masks": (_write_masks, "ValueError: assignment destination is read-only"),
    "writes_channels": (_write_channels, "ValueError: assignment destination is read-only"),
    "unlocks_masks": (_unlock_then_write,
                      "ValueError: cannot set WRITEABLE flag to True of this array"),
    "system_exit": (_raise(SystemExit(3)), "SystemExit: 3"),
    "keyboard_interrupt": (_raise(KeyboardInterrupt()), "KeyboardInterrupt: "),
    "generator_exit": (_raise(GeneratorExit("bye")), "GeneratorExit: bye"),
    "memory_error": (_raise(MemoryError("out of memory")), "MemoryError: out of memory"),
    "recursion": (_recurse, "RecursionError: maximum recursion depth exceeded"),
    "returns_none": (_const(None), "plugin 'returns_none' returned NoneType, not a dict"),
    "no_object_id": (_const({"v": np.zeros(2)}), "plugin 'no_object_id' returned no "
                                                  "'object_id' column"),
    "wrong_length": (_const({"object_id": np.array([1, 7]), "v": np.zeros(3)}),
                     "plugin 'wrong_length': column 'v' has shape (3,), expected (2,) — one "
                     "value per object"),
    "wrong_ids": (_const({"object_id": np.array([7, 1])}),
                  "plugin 'wrong_ids': 'object_id' must list the objects present in the "
                  "masks in ascending order"),
    "hangs": (_hang, "timed out after 0.5 s (abandoned; limit set by plugin_timeout / "
                     "MULTICELLPOSE_PLUGIN_TIMEOUT)"),
}


@pytest.fixture(scope="module", autouse=True)
def _release_hanging_threads():
    yield
    RELEASE.set()


def _reference():
    shape = get_plugin("shape")
    intensity = get_plugin("intensity")
    return measure_arrays(CHANNELS, MASKS, None, ["background"],
                          [(shape, shape.resolve_params()),
                           (intensity, intensity.resolve_params())], "ref.tif")


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_a_faulty_plugin_fails_alone(name):
    """The faulty plugin runs first; the built-ins after it see untouched inputs and give
    the same tables as in a run without it."""
    body, message = FAULTS[name]
    bad = _plugin(name, body)
    shape = get_plugin("shape")
    intensity = get_plugin("intensity")
    masks, channels = MASKS.copy(), CHANNELS.copy()
    start = time.perf_counter()
    result = measure_arrays(channels, masks, None, ["background"],
                            [(bad, {}), (shape, shape.resolve_params()),
                             (intensity, intensity.resolve_params())], "x.tif",
                            plugin_timeout=0.5)
    assert time.perf_counter() - start < 10
    assert result.errors == {name: message} or (
        name == "recursion" and result.errors[name].startswith(message))
    reference = _reference()
    for plugin in ("shape", "intensity"):
        got, want = result.tables[plugin], reference.tables[plugin]
        assert set(got) == set(want)
        for column in want:
            if column != "image":
                np.testing.assert_array_equal(got[column], want[column])
    np.testing.assert_array_equal(masks, MASKS)  # the caller's arrays are never written
    np.testing.assert_array_equal(channels, CHANNELS)


def test_all_nan_and_inf_columns_are_flagged():
    table = {"object_id": np.array([1, 7]), "nan": np.array([np.nan, np.nan]),
             "inf": np.array([np.inf, -np.inf]), "fine": np.array([1.0, np.nan])}
    result = measure_arrays(CHANNELS, MASKS, None, ["background"],
                            [(_plugin("odd", _const(table)), {})], "x.tif")
    assert result.errors == {}
    assert result.warnings == {"odd": "no finite value in column(s) nan, inf"}
    assert set(result.tables["odd"]) >= {"nan", "inf", "fine"}


def test_hanging_plugin_in_a_folder_run_costs_only_its_columns(tmp_path):
    """measure_items with a time limit: the hanging plugin is reported per image and every
    other file is still written."""
    import tifffile

    from cellpose_io import save_seg
    from guv_app.services.measurement.folder import measure_items
    from guv_app.services.measurement.labels import find_items

    for i in range(2):
        tifffile.imwrite(tmp_path / f"im{i}.tif", CHANNELS[0].astype(np.uint16))
        save_seg(tmp_path / f"im{i}.tif", MASKS)
    out = tmp_path / "out" / "r.csv"
    result = measure_items(find_items(tmp_path), out, ["shape", _plugin("stuck", _hang)],
                           plugin_timeout=0.3)
    assert [s.status for s in result.images] == ["done", "done"]
    assert [s.plugin_errors for s in result.images] == [
        {"stuck": FAULTS["hangs"][1].replace("0.5", "0.3")}] * 2
    assert out.with_name("r_shape.csv").read_text().count("\n") == 5  # header + 2 x 2 rows
    assert out.with_name("r_stuck.csv").read_text().startswith("image,object_id")


BAD_NAMES = ["../evil", "a/b", "a\\b", ".hidden", "x" * 65, "two words", "semi;colon",
             "dots..dots", "trailing.", "tab\tname", "-dash-first"]


def test_plugin_names_that_are_not_file_name_parts_are_rejected_at_discovery(
        tmp_path, monkeypatch):
    dist = tmp_path / "hostile_plugins-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hostile-plugins\n"
                                   "Version: 1.0\n")
    lines = ["[test.hostile.plugins]"] + [f"{n} = json:JSONDecoder" for n in BAD_NAMES]
    lines.append("good_name-1.x = json:JSONDecoder")
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = {info.name: info for info in discover_plugins("test.hostile.plugins")}
    assert set(found) == set(BAD_NAMES) | {"good_name-1.x"}
    for name in BAD_NAMES:
        assert found[name].plugin is None
        assert found[name].error == (
            f"PluginError: plugin name {name!r} is not a valid file-name part (use letters, "
            "digits, '_', '-' and inner '.', at most 64 characters)")
    # the valid name passes the name check and fails later for its own reason
    assert "not a valid file-name part" not in found["good_name-1.x"].error


def test_a_plugin_object_with_a_bad_name_is_refused_before_any_image(tmp_path):
    from guv_app.services.measurement.runner import resolve_plugins

    with pytest.raises(PluginError, match=r"plugin name '\.\./x' is not a valid file-name"):
        resolve_plugins([_plugin("../x", _const(None))], None)
    assert not list(Path(tmp_path).iterdir())
