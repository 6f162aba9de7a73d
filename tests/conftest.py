"""Shared test set-up: offscreen Qt, isolated app home and settings, data paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Must be set before any QApplication exists (Qt aborts without a display otherwise).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LANG", "C.UTF-8")
os.environ.setdefault("OMP_NUM_THREADS", "2")

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own MULTICELLPOSE_HOME: registry, settings and caches."""
    home = tmp_path_factory.mktemp("mcp_home")
    monkeypatch.setenv("MULTICELLPOSE_HOME", str(home))
    monkeypatch.setenv("CELLPOSE_LOCAL_MODELS_PATH", str(home / "cellpose_models"))
    yield home


@pytest.fixture
def data_dir() -> Path:
    return DATA
