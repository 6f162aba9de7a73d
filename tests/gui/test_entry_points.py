"""``python -m guv_app.main`` and ``python -m guv_app`` start the app, as users launch it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("module", ["guv_app.main", "guv_app"])
def test_module_entry_starts_the_home_window(module, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen",
           "HOME": str(tmp_path), "MULTICELLPOSE_HOME": str(tmp_path / "mcp"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    out = subprocess.run([sys.executable, "-m", module, "--quit-after-show"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("shown ") and "torch=False" in out.stdout


def test_module_entry_help_names_the_options(tmp_path):
    out = subprocess.run([sys.executable, "-m", "guv_app", "--help"], cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--sample" in out.stdout and "multicellpose-gui" in out.stdout
