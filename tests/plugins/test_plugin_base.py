"""ParamSpec validation, parameter resolution and table checks of the plugin interface."""

from __future__ import annotations

import numpy as np
import pytest

from guv_app.plugins.base import ParamSpec, PluginError, check_table, resolve_params


def test_int_param_coerces_strings_and_enforces_range():
    spec = ParamSpec("width", "int", 5, minimum=1, maximum=10)
    assert spec.coerce("7") == 7
    assert spec.coerce(3.0) == 3
    with pytest.raises(ValueError, match="below the minimum"):
        spec.coerce(0)
    with pytest.raises(ValueError, match="above the maximum"):
        spec.coerce("11")
    with pytest.raises(ValueError, match="not an int"):
        spec.coerce("2.5")


def test_float_bool_choice_and_str_params():
    assert ParamSpec("sigma", "float", 1.0).coerce("0.25") == 0.25
    with pytest.raises(ValueError, match="not finite"):
        ParamSpec("sigma", "float", 1.0).coerce("nan")
    flag = ParamSpec("on", "bool", False)
    assert flag.coerce("yes") is True and flag.coerce("0") is False and flag.coerce(True) is True
    with pytest.raises(ValueError, match="not a boolean"):
        flag.coerce("maybe")
    choice = ParamSpec("connectivity", "choice", 8, choices=(4, 8))
    assert choice.coerce("4") == 4 and choice.coerce(8) == 8
    with pytest.raises(ValueError, match="not one of"):
        choice.coerce(6)
    assert ParamSpec("label", "str", "x").coerce(12) == "12"


def test_a_schema_with_an_invalid_default_is_rejected():
    with pytest.raises(ValueError):
        ParamSpec("width", "int", 0, minimum=1)
    with pytest.raises(ValueError, match="type"):
        ParamSpec("width", "integer", 1)
    with pytest.raises(ValueError, match="choices"):
        ParamSpec("mode", "choice", "a")


def test_resolve_params_fills_defaults_and_names_unknown_or_bad_values():
    schema = [ParamSpec("a", "int", 1), ParamSpec("b", "choice", "x", choices=("x", "y"))]
    assert resolve_params(schema, {"b": "y"}, plugin="p") == {"a": 1, "b": "y"}
    with pytest.raises(PluginError, match=r"plugin 'p': unknown parameter\(s\) \['c'\]"):
        resolve_params(schema, {"c": 1}, plugin="p")
    with pytest.raises(PluginError, match="parameter 'a'"):
        resolve_params(schema, {"a": "many"}, plugin="p")


def test_check_table_rejects_misaligned_or_unkeyed_tables():
    ids = np.array([1, 4, 9])
    good = {"object_id": ids, "v": np.arange(3.0)}
    assert set(check_table(good, ids, "p")) == {"object_id", "v"}
    with pytest.raises(PluginError, match="not a dict"):
        check_table([1, 2, 3], ids, "p")
    with pytest.raises(PluginError, match="no 'object_id'"):
        check_table({"v": np.arange(3)}, ids, "p")
    with pytest.raises(PluginError, match="column 'v' has shape"):
        check_table({"object_id": ids, "v": np.arange(2)}, ids, "p")
    with pytest.raises(PluginError, match="ascending"):
        check_table({"object_id": ids[::-1]}, ids, "p")
