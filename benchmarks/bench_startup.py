"""Time from launching ``multicellpose-gui`` to its window being shown (goal <= 1.5 s).

Also checks that torch is not imported at start, and compares with a bare PyQt6 window
started the same way (the floor set by Python + Qt on this machine).

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE = (
    "import sys, time; from PyQt6 import QtWidgets, QtCore;"
    "app = QtWidgets.QApplication(sys.argv[:1]); w = QtWidgets.QWidget(); w.show();"
    "QtCore.QTimer.singleShot(0, lambda: (print('shown torch=False', flush=True), app.quit()));"
    "app.exec()"
)


def launch(cmd: list[str], env: dict[str, str]) -> tuple[float, float | None, str]:
    """Seconds until the window is shown, and (Trainer with a file) until the image is."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env)
    line = proc.stdout.readline()
    shown = time.perf_counter() - t0
    more = proc.stdout.readline()
    loaded = time.perf_counter() - t0 if more.startswith("loaded") else None
    proc.wait(timeout=60)
    if not line.startswith("shown"):
        raise RuntimeError(f"{' '.join(cmd)} did not report a shown window: {line!r}")
    return shown, loaded, line.strip() + " " + more.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["MULTICELLPOSE_HOME"] = tempfile.mkdtemp(prefix="mcp_bench_home_")
    exe = shutil.which("multicellpose-gui", path=str(Path(sys.executable).parent))
    gui = [exe] if exe else [sys.executable, "-m", "guv_app.gui_main"]
    cases = {
        "bare PyQt6 window (floor)": [sys.executable, "-c", BARE],
        "multicellpose-gui (home)": gui + ["--quit-after-show"],
        "multicellpose-gui --sample (Trainer)": gui + ["--sample", "--quit-after-show"],
    }
    launch(cases["bare PyQt6 window (floor)"], env)  # warm the file cache
    results = {}
    for name, cmd in cases.items():
        times, loads, lines = [], [], []
        for _ in range(args.repeats):
            t, loaded, line = launch(cmd, env)
            times.append(t)
            if loaded is not None:
                loads.append(loaded)
            lines.append(line)
        results[name] = statistics.median(times)
        torch = any("torch=True" in ln for ln in lines)
        print(f"{name:40s} shown: median {results[name]:.3f} s  (min {min(times):.3f})"
              f"  torch imported: {torch}")
        if loads:
            print(f"{'':40s} image on screen: median {statistics.median(loads):.3f} s")
    floor = results["bare PyQt6 window (floor)"]
    for name in list(cases)[1:]:
        verdict = "meets" if results[name] <= 1.5 else "misses"
        print(f"{name:40s} {results[name]:.3f} s = {results[name] / floor:.2f}x the bare "
              f"window; {verdict} the goal (<= 1.5 s shown)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
