"""Layer rules and lint run as tests, so CI fails when they break."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    exe = Path(sys.executable).parent / name
    found = str(exe) if exe.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed in the test environment")
    return found


def test_import_layers_hold():
    result = subprocess.run(
        [_tool("lint-imports"), "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_clean():
    result = subprocess.run(
        [_tool("ruff"), "check", "--quiet", str(ROOT)], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_app_does_not_import_torch_or_qt():
    code = (
        "import sys, guv_app, guv_app.paths, cellpose_io, guv_app.cli.main;"
        "guv_app.cli.main.build_parser();"
        "bad = [m for m in ('torch', 'cellpose', 'PyQt6') if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"imported at start: {out.stdout.strip()}"
