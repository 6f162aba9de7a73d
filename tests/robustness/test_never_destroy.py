"""Nothing a user made is lost: read-only files stay, unreadable predictions are kept aside,
twins never share a label file, temp files of killed saves are cleaned up."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from cellpose_io import load_seg, save_seg
from cellpose_io.atomic import ReadOnlyFileError, clean_stale_temps, set_aside, temp_files_for
from guv_app.controllers.trainer_autosave import SaveJob, write_job
from guv_app.services.analysis.predictions import (
    pred_path_for,
    read_prediction_info,
    save_edited_prediction,
    save_prediction,
)

MASKS = np.zeros((16, 16), np.uint16)
MASKS[2:6, 2:6] = 1
OTHER = np.zeros((16, 16), np.uint16)
OTHER[8:12, 8:12] = 1


def _readonly_message(path) -> str:
    return (f"{path}: the file is read-only; not replaced (make it writable to save over it, "
            "or save elsewhere)")


def test_save_never_replaces_a_read_only_label_file(tmp_path):
    seg = save_seg(tmp_path / "a.tif", MASKS)
    before = seg.read_bytes()
    seg.chmod(0o444)
    with pytest.raises(ReadOnlyFileError) as info:
        save_seg(tmp_path / "a.tif", OTHER)
    assert str(info.value) == _readonly_message(seg)
    assert isinstance(info.value, PermissionError)
    assert seg.read_bytes() == before and temp_files_for(seg) == []


def test_autosave_never_replaces_a_read_only_label_file(tmp_path):
    seg = save_seg(tmp_path / "a.tif", MASKS)
    before = seg.read_bytes()
    seg.chmod(0o400)
    job = SaveJob(tmp_path / "a.tif", OTHER, np.array([0, 0], np.int32), ["background"],
                  [(0, 0, 0)], 2, 1)
    with pytest.raises(PermissionError, match="is read-only; not replaced"):
        write_job(job)
    assert seg.read_bytes() == before
    seg.chmod(0o644)  # writable again: saving works
    write_job(job)
    assert np.array_equal(load_seg(seg).masks, OTHER)


@pytest.mark.parametrize("content", [b"", b"garbage", b"\x93NUMPY\x01\x00\x10\x00{'descr'"])
def test_unreadable_prediction_is_kept_aside_not_overwritten(tmp_path, content):
    image = tmp_path / "cells.tif"
    pred = pred_path_for(image)
    pred.write_bytes(content)
    save_prediction(image, MASKS, None, None, None, model="tiny", params={"a": 1})
    kept = pred.with_name(pred.name + ".unreadable")
    assert kept.read_bytes() == content
    assert read_prediction_info(pred).n_objects == 1
    pred.write_bytes(content + b"second")  # a second broken file never replaces the first
    save_edited_prediction(image, OTHER, None, None, None)
    assert kept.read_bytes() == content
    assert pred.with_name(pred.name + ".unreadable.1").read_bytes() == content + b"second"
    assert read_prediction_info(pred).edited


def test_readable_prediction_is_replaced_without_copies(tmp_path):
    image = tmp_path / "cells.tif"
    save_prediction(image, MASKS, None, None, None, model="tiny", params={})
    save_prediction(image, OTHER, None, None, None, model="tiny", params={})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cells_pred_seg.npy"]


def test_images_differing_only_in_extension_never_share_a_label_file(tmp_path):
    (tmp_path / "cells.tif").write_bytes(b"II*\0")
    (tmp_path / "cells.png").write_bytes(b"\x89PNG")
    for image in ("cells.png", "cells.tif"):
        with pytest.raises(ValueError) as info:
            save_seg(tmp_path / image, MASKS)
        other = "cells.tif" if image == "cells.png" else "cells.png"
        assert str(info.value) == (
            f"{tmp_path / image}: {image} and {other} would share the label file "
            "cells_seg.npy; rename one of the images so each keeps its own labels")
        with pytest.raises(ValueError, match="would share the label file cells_pred_seg.npy"):
            save_prediction(tmp_path / image, MASKS, None, None, None, model="m", params={})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cells.png", "cells.tif"]
    out = tmp_path / "elsewhere"  # an explicit output folder is the user's own choice
    save_prediction(tmp_path / "cells.png", MASKS, None, None, None, model="m", params={},
                    out_dir=out)
    assert [p.name for p in out.iterdir()] == ["cells_pred_seg.npy"]


def test_temp_files_of_killed_saves_are_removed_by_the_next_save(tmp_path):
    seg = tmp_path / "a_seg.npy"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        stale = {
            "dead_pid": seg.with_name(f".a_seg.npy.{dead.pid}.x1.tmp"),
            "legacy_name": seg.with_name(".a_seg.npy.k2j3h4.tmp"),
            "own_pid_old": seg.with_name(f".a_seg.npy.{os.getpid()}.zz.tmp"),
        }
        live = seg.with_name(f".a_seg.npy.{sleeper.pid}.y2.tmp")
        old_live = seg.with_name(f".a_seg.npy.{sleeper.pid}.y3.tmp")
        other_file = seg.with_name(".b_seg.npy.1.x.tmp")
        for path in [*stale.values(), live, old_live, other_file]:
            path.write_bytes(b"\0" * 1000)
            path.chmod(0o600)
        two_hours_ago = time.time() - 7200
        os.utime(old_live, (two_hours_ago, two_hours_ago))
        save_seg(tmp_path / "a.tif", MASKS)
        assert sorted(p.name for p in temp_files_for(seg)) == [live.name]
        assert other_file.exists()  # another file's temp is not this save's business
        assert np.array_equal(load_seg(seg).masks, MASKS)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert clean_stale_temps(seg) == [live]  # its process is gone now
    assert temp_files_for(seg) == []


def test_set_aside_never_overwrites(tmp_path):
    path = tmp_path / "x_seg.npy"
    names = []
    for k in range(3):
        path.write_bytes(bytes([k]))
        names.append(set_aside(path).name)
    assert names == ["x_seg.npy.unreadable", "x_seg.npy.unreadable.1", "x_seg.npy.unreadable.2"]
    assert [(tmp_path / n).read_bytes() for n in names] == [b"\0", b"\1", b"\2"]


def test_predict_keeps_an_unreadable_prediction_and_refuses_twins(tmp_path):
    """End to end with the tiny model: the damaged prediction is kept aside byte for byte,
    the twins fail with the reason, the exit code says something failed."""
    import tifffile
    from PIL import Image as PILImage

    rng = np.random.default_rng(0)
    img = rng.normal(200, 20, (64, 64))
    img[10:25, 10:25] += 1500
    for name in ("a.tif", "b.tif"):
        tifffile.imwrite(tmp_path / name, img.astype(np.uint16))
    PILImage.fromarray(img.clip(0, 255).astype(np.uint8)).save(tmp_path / "b.png")
    damaged = b"hours of corrections, damaged"
    (tmp_path / "a_pred_seg.npy").write_bytes(damaged)
    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-m", "guv_app.cli.main", "predict", "--model", "tiny", "--input",
         str(tmp_path), "--device", "cpu"], capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(root)})
    assert proc.returncode == 1, proc.stderr
    assert (tmp_path / "a_pred_seg.npy.unreadable").read_bytes() == damaged
    assert read_prediction_info(tmp_path / "a_pred_seg.npy").model == "tiny"
    for image, other in (("b.png", "b.tif"), ("b.tif", "b.png")):
        assert (f"cannot save prediction: {tmp_path / image}: {image} and {other} would "
                "share the label file b_pred_seg.npy; rename one of the images so each keeps "
                "its own labels") in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.tif", "a_pred_seg.npy", "a_pred_seg.npy.unreadable", "b.png", "b.tif",
        "predictions_index.csv"]
