"""The console entry's start-up: heavy imports with the collector paused, then frozen."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

from guv_app.cli.main import main
from guv_app.cli.startup import preload

ROOT = Path(__file__).resolve().parents[1]


def test_preload_imports_and_restores_the_collector_without_freezing():
    frozen = gc.get_freeze_count()
    preload(["json", "no_such_module_for_multicellpose"])  # the missing one is left alone
    assert "json" in sys.modules and gc.isenabled()
    assert gc.get_freeze_count() == frozen  # freezing is the console entry's alone
    gc.disable()
    try:
        preload(["json"])
        assert not gc.isenabled()  # a caller's disabled collector stays disabled
    finally:
        gc.enable()


def test_frozen_preload_exempts_the_engine_imports_from_collection():
    script = ("import gc, sys\n"
              "from guv_app.cli.startup import ENGINE_MODULES, preload\n"
              "before = gc.get_freeze_count()\n"
              "preload(ENGINE_MODULES, freeze=True)\n"
              "print(before, gc.get_freeze_count(), gc.isenabled(),"
              " all(m in sys.modules for m in ENGINE_MODULES))\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out[0] == "0" and int(out[1]) > 100_000  # torch alone leaves ~10^6 objects
    assert out[2:] == ["True", "True"]


def test_console_entry_exits_with_the_commands_code_and_message(tmp_path, capsys):
    argv = ["predict", "--model", "tiny", "--input", str(tmp_path / "missing.tif"),
            "--out", str(tmp_path / "out")]
    code = main(argv)
    line = capsys.readouterr().err.strip()
    proc = subprocess.run([sys.executable, "-m", "guv_app.cli.main", *argv], cwd=ROOT,
                          capture_output=True, text=True)
    assert code != 0 and proc.returncode == code
    assert proc.stderr.strip().splitlines()[-1] == line and "missing.tif" in line


def test_ctrl_c_while_the_engine_modules_load_is_a_clean_interrupt(tmp_path):
    """Ctrl-C during the console entry's ~3 s of torch imports: one line and exit code 130
    (a command's own interrupt), not a traceback from the preload."""
    import os
    import signal
    import time

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "guv_app.cli.main", "predict", "--model", "tiny",
         "--input", str(tmp_path / "missing.tif"), "--out", str(tmp_path / "out")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    maps = Path(f"/proc/{proc.pid}/maps")
    while time.monotonic() < deadline:  # torch's C library is mapped: the preload is running
        try:
            if "libtorch_cpu" in maps.read_text():
                break
        except OSError:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "multicellpose: interrupted"
