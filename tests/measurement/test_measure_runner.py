"""One image through the measurement service: key columns, classes, plugin failures."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from guv_app.plugins.base import MeasurementPlugin, ParamSpec, PluginError
from guv_app.services.measurement.runner import (
    MeasurementError,
    measure_arrays,
    resolve_plugins,
)


class Raises(MeasurementPlugin):
    name = "raises"

    def measure(self, channels, masks, classes, params):
        raise ZeroDivisionError("plugin bug")


class Misaligned(MeasurementPlugin):
    name = "misaligned"
    params_schema = (ParamSpec("rows", "int", 1, minimum=0),)

    def measure(self, channels, masks, classes, params):
        return {"object_id": np.arange(params["rows"]), "x": np.zeros(params["rows"])}


@pytest.fixture
def stardist(data_dir):
    image = tifffile.imread(data_dir / "labelled/stardist/img2d.tif")
    masks = tifffile.imread(data_dir / "labelled/stardist/mask2d.tif").astype(np.uint32)
    return image[np.newaxis], masks


def test_every_table_carries_image_object_and_class_columns(stardist):
    channels, masks = stardist
    classes = np.zeros(masks.max() + 1, np.int32)
    ids = np.unique(masks)[1:]
    classes[ids[::2]] = 1
    classes[ids[1::2]] = 2
    plugins = resolve_plugins(["shape", "intensity", "boundary", "neighbours"],
                              {"intensity": {"background": "image"}})
    result = measure_arrays(channels, masks, classes, ["background", "nucleus", "mitotic"],
                            plugins, image="img2d.tif")
    assert result.errors == {}
    assert result.n_objects == 125
    for name, table in result.tables.items():
        assert list(table)[:4] == ["image", "object_id", "class_id", "class_name"], name
        assert table["object_id"].tolist() == ids.tolist()
        assert set(table["image"]) == {"img2d.tif"}
        assert table["class_id"].tolist() == classes[ids].tolist()
        assert table["class_name"][0] == "nucleus" and table["class_name"][1] == "mitotic"
    assert result.tables["shape"]["area"].tolist() == np.bincount(masks.ravel())[ids].tolist()
    assert "ch0_background" in result.tables["intensity"]


def test_unassigned_and_unnamed_classes(stardist):
    channels, masks = stardist
    classes = np.zeros(masks.max() + 1, np.int32)
    first = np.unique(masks)[1]
    classes[first] = 5
    result = measure_arrays(channels, masks, classes, ["background", "a"],
                            resolve_plugins(["shape"], None))
    names = result.tables["shape"]["class_name"]
    assert names[0] == "class_5" and set(names[1:]) == {"unassigned"}
    no_classes = measure_arrays(channels, masks, None, [], resolve_plugins(["shape"], None))
    assert set(no_classes.tables["shape"]["class_id"]) == {0}


def test_failing_plugins_are_recorded_and_the_others_still_run(stardist):
    channels, masks = stardist
    plugins = resolve_plugins([Raises(), "shape", Misaligned()], {"misaligned": {"rows": 3}})
    result = measure_arrays(channels, masks, None, [], plugins, image="x.tif")
    assert set(result.tables) == {"shape"}
    assert result.errors["raises"] == "ZeroDivisionError: plugin bug"
    assert "column 'object_id' has shape (3,), expected (125,)" in result.errors["misaligned"]


def test_bad_plugin_names_and_params_fail_before_any_work():
    with pytest.raises(PluginError, match="no measurement plugin 'shapes'"):
        resolve_plugins(["shapes"], None)
    with pytest.raises(PluginError, match="ring_width"):
        resolve_plugins(["intensity"], {"intensity": {"ring_width": "0"}})
    with pytest.raises(PluginError, match="not run: \\['shape'\\]"):
        resolve_plugins(["intensity"], {"shape": {"x": 1}})


def test_channels_not_matching_masks_is_a_measurement_error(stardist):
    channels, masks = stardist
    with pytest.raises(MeasurementError, match="img.tif: channels must be"):
        measure_arrays(channels[:, :100], masks, None, [], resolve_plugins(["shape"], None),
                       image="img.tif")
