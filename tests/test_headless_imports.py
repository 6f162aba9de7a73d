"""Every module outside controllers/views imports on a machine without Qt (a cluster node).

napari's "headless" job, in one subprocess: a meta-path finder refuses every Qt binding and
Qt helper, then each non-Qt module of the project is imported. import-linter checks the
import statements; this checks what actually runs at import time (plugins, lazy imports
that happen at module level, packages' ``__init__``).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT = ("qtpy", "superqt", "PySide2", "PySide6", "PyQt5", "PyQt6", "pyqtgraph", "pytestqt")
HEADLESS = ("cellpose_io", "guv_app.services", "guv_app.plugins", "guv_app.cli")

SCRIPT = textwrap.dedent(
    """
    import importlib, importlib.abc, pkgutil, sys

    QT = set(sys.argv[1].split(","))

    class NoQt(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in QT:
                raise ImportError(f"Qt is blocked: {name}")
            return None

    sys.meta_path.insert(0, NoQt())
    failed, count = [], 0
    names = ["guv_app", "guv_app.paths"]
    for root in sys.argv[2].split(","):
        pkg = importlib.import_module(root)
        names.append(root)
        names += [m.name for m in pkgutil.walk_packages(pkg.__path__, root + ".")]
    for name in names:
        try:
            importlib.import_module(name)
            count += 1
        except Exception as exc:
            failed.append(f"{name}: {type(exc).__name__}: {exc}")
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in QT)
    print(count)
    print("\\n".join(failed + [f"Qt module loaded: {m}" for m in leaked]))
    """
)


def test_every_non_qt_module_imports_with_qt_blocked(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, ",".join(QT), ",".join(HEADLESS)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    count, *problems = out.stdout.strip().split("\n")
    problems = [p for p in problems if p]
    assert not problems, "\n".join(problems)
    assert int(count) > 100  # the walk really found the modules


def test_the_blocker_blocks(tmp_path):
    code = SCRIPT.replace("for root in sys.argv[2]",
                          "names.append('guv_app.controllers.task_runner')\nfor root in sys.argv[2]")
    out = subprocess.run(
        [sys.executable, "-c", code, ",".join(QT), "cellpose_io"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert "guv_app.controllers.task_runner: ImportError: Qt is blocked: PyQt6" in out.stdout
