"""benchmarks/gpu_bench.py exits cleanly, measuring nothing, where there is no CUDA device."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_bench_without_cuda_says_so_and_exits_0():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_bench.py")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # no table, no partial figures
    lines = [line for line in proc.stderr.splitlines() if line.startswith("gpu_bench:")]
    assert len(lines) == 1 and "no CUDA device" in lines[0] and "nothing measured" in lines[0]
    assert "Traceback" not in proc.stderr
