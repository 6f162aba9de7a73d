"""SIGKILL at random moments of save and autosave: the label file on disk is always the old
or the new version, complete, and the next save leaves no temp file behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cellpose_io import load_seg, save_seg
from cellpose_io.atomic import temp_files_for

ROOT = Path(__file__).resolve().parents[2]
SIZE = 1024

CHILD = r"""
import sys
import numpy as np
from pathlib import Path
mode, image = sys.argv[1], Path(sys.argv[2])
SIZE = int(sys.argv[3])

def version(k):
    masks = np.zeros((SIZE, SIZE), np.uint16)
    masks[:, : SIZE // 2] = 1 + k % 2       # the version is readable from the pixels
    masks[SIZE // 2 :, SIZE // 2 :] = 3
    return masks

if mode == "autosave":
    from guv_app.controllers.trainer_autosave import Autosaver, SaveJob
    saver = Autosaver()
    def save(k):
        saver.submit(SaveJob(image, version(k), np.array([0, 1, 2, 0], np.int32),
                             ["background", "a", "b"], [(0, 0, 0), (1, 2, 3), (4, 5, 6)],
                             k, 1))
        saver.wait()
else:
    import cellpose_io
    def save(k):
        cellpose_io.save_seg(image, version(k), np.array([0, 1, 2, 0], np.int32),
                             ["background", "a", "b"])
k = 0
while True:
    save(k)
    if k == 0:
        print("ready", flush=True)
    k += 1
"""


def _versions() -> list[np.ndarray]:
    out = []
    for k in range(2):
        masks = np.zeros((SIZE, SIZE), np.uint16)
        masks[:, : SIZE // 2] = 1 + k
        masks[SIZE // 2:, SIZE // 2:] = 3
        out.append(masks)
    return out


def _kill_during_saves(mode: str, image: Path, rng: random.Random) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, mode, str(image), str(SIZE)], stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT),
                                        "QT_QPA_PLATFORM": "offscreen"})
    try:
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.25))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)


@pytest.mark.parametrize("mode,trials", [("save", 36), ("autosave", 18)])
def test_sigkill_never_leaves_a_broken_file(tmp_path, mode, trials):
    rng = random.Random(1234 + trials)
    image = tmp_path / "cells.tif"
    seg = image.with_name("cells_seg.npy")
    versions = _versions()
    left_behind = 0
    for trial in range(trials):
        _kill_during_saves(mode, image, rng)
        data = load_seg(seg)  # never raises: the old or the new file, complete
        assert any(np.array_equal(data.masks, v) for v in versions), f"trial {trial}"
        assert data.classes.tolist() == [0, 1, 2, 0]
        assert oct(seg.stat().st_mode & 0o777) != oct(0o600)  # not a temp file's mode
        left_behind += len(temp_files_for(seg))
        save_seg(image, versions[trial % 2], np.array([0, 1, 2, 0]), ["background", "a", "b"])
        assert temp_files_for(seg) == []
        assert np.array_equal(load_seg(seg).masks, versions[trial % 2])
    # the kills did land inside saves (a temp file was there to clean up) in some trials
    assert left_behind >= 1
