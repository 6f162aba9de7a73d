"""The installed czifile is one the CZI reader was tested with (pyproject pins), and the
reader picks the API that version has."""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

import czifile
import pytest
from packaging.requirements import Requirement

from cellpose_io.readers.czi import _legacy_api

ROOT = Path(__file__).resolve().parents[2]


def test_installed_czifile_is_within_the_pinned_tested_range():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = [Requirement(d) for d in deps if d.startswith("czifile")]
    env = {"python_version": f"{sys.version_info.major}.{sys.version_info.minor}"}
    active = [r for r in pins if r.marker is None or r.marker.evaluate(env)]
    assert len(active) == 1, pins
    installed = version("czifile")
    assert active[0].specifier.contains(installed), f"czifile {installed} not in {active[0]}"
    assert _legacy_api(czifile) == installed.startswith("2019.")
