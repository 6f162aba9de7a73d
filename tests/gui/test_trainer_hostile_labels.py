"""The Trainer opening an image whose ``_seg.npy`` is forged (issue 15's bad_inputs file):
one message naming the file, no labels, nothing crashes, nothing is overwritten."""

from __future__ import annotations

import shutil
from pathlib import Path

from trainer_helpers import open_trainer

BAD = Path(__file__).resolve().parents[1] / "data" / "bad_inputs"


def test_forged_label_file_shows_message_and_starts_without_labels(
        qtbot, tmp_path, wait_exposed):
    for name in ("forged.tif", "forged_seg.npy"):
        shutil.copy(BAD / name, tmp_path / name)
    before = (tmp_path / "forged_seg.npy").read_bytes()
    ctl = open_trainer(qtbot, wait_exposed, size=None)
    ctl.files.set_autosave(False)
    assert ctl.files.open_path(tmp_path / "forged.tif")
    box = ctl.window.message_box
    assert box is not None
    assert box.text() == (
        "The labels forged_seg.npy cannot be read (unsafe or corrupt pickle: dtype |V8 with a "
        "forged description (fields, size or flags)); starting empty. The file is kept; "
        "saving moves it aside first.")
    box.close()
    assert ctl.doc.max_id == 0
    import cellpose_io

    assert ctl.doc.masks.shape == cellpose_io.read_image(tmp_path / "forged.tif").plane_shape[1:]
    assert (tmp_path / "forged_seg.npy").read_bytes() == before
    ctl.files.autosaver.shutdown()


def test_opening_an_image_removes_temp_files_of_killed_saves(qtbot, tmp_path, wait_exposed):
    import numpy as np

    import cellpose_io

    shutil.copy(BAD / "npy_image" / "ref.tif", tmp_path / "ref.tif")
    seg = cellpose_io.save_seg(tmp_path / "ref.tif", np.zeros((128, 128), np.uint16))
    dead = seg.with_name(f".{seg.name}.999999999.abc.tmp")  # no such pid: a killed save
    dead.write_bytes(b"\0" * 4096)
    ctl = open_trainer(qtbot, wait_exposed, size=None)
    ctl.files.set_autosave(False)
    assert ctl.files.open_path(tmp_path / "ref.tif")
    assert not dead.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ref.tif", "ref_seg.npy"]
    ctl.files.autosaver.shutdown()
