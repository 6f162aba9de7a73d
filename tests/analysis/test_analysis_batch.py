"""Batch prediction: files beside images, rerun skipping, failures, cancel, progress."""

from __future__ import annotations

import dataclasses
import os
import pickle
import threading

import numpy as np

import cellpose_io
from guv_app.services.analysis.batch import list_images, predict_folder, predict_images
from guv_app.services.analysis.predictions import (
    KEY_CREATED,
    KEY_EDITED,
    KEY_HASH,
    KEY_MODEL,
    label_path_for,
    pred_path_for,
    prediction_state,
    save_edited_prediction,
    settings_hash,
)


def test_folder_run_writes_predictions_not_labels(small_folder, params):
    progress = []
    result = predict_folder(small_folder, "tiny", params,
                            progress=lambda d, t, m: progress.append((d, t, m)))
    assert progress[-1][:2] == (2, 2) and "2 done" in progress[-1][2]
    assert [d for d, _, _ in progress] == sorted(d for d, _, _ in progress)
    assert pickle.loads(pickle.dumps(result)) == result  # plain data for Dask
    assert [s.status for s in result.planes] == ["done", "done"], result.planes
    for status, image in zip(result.planes, list_images(small_folder), strict=True):
        pred = pred_path_for(image)
        assert pred.name.endswith("_pred_seg.npy") and status.file == str(pred)
        assert not label_path_for(image).exists()  # training labels untouched
        seg = cellpose_io.load_seg(pred)
        assert seg.masks.shape == cellpose_io.read_image(image).plane().shape[1:]
        assert seg.max_id == status.n_objects > 0
        assert seg.extra[KEY_MODEL] == "tiny"
        assert seg.extra[KEY_HASH] == settings_hash("tiny", params) == result.settings
        assert seg.extra[KEY_EDITED] is False or seg.extra[KEY_EDITED] == np.False_


def test_rerun_skips_same_settings_and_reruns_changed(small_folder, params):
    first = predict_folder(small_folder, "tiny", params)
    assert first.count("done") == 2
    stamps = {s.file: cellpose_io.load_seg(s.file).extra[KEY_CREATED]
              for s in first.planes}
    mtimes = {p: os.stat(p).st_mtime_ns for p in stamps}

    again = predict_folder(small_folder, "tiny", params)
    assert [s.status for s in again.planes] == ["skipped", "skipped"]
    assert all("same" in s.reason or "these parameters" in s.reason for s in again.planes)
    assert {p: os.stat(p).st_mtime_ns for p in stamps} == mtimes
    assert {p: cellpose_io.load_seg(p).extra[KEY_CREATED] for p in stamps} == stamps

    # device and batch size do not change the result: still skipped
    moved = dataclasses.replace(params, batch_size=2)
    assert predict_folder(small_folder, "tiny", moved).count("skipped") == 2

    changed = dataclasses.replace(params, cellprob_threshold=-1.5)
    third = predict_folder(small_folder, "tiny", changed)
    assert [s.status for s in third.planes] == ["done", "done"]
    for s in third.planes:
        assert cellpose_io.load_seg(s.file).extra[KEY_HASH] == settings_hash("tiny", changed)

    forced = predict_folder(small_folder, "tiny", changed, force=True)
    assert forced.count("done") == 2


def test_corrupt_image_is_reported_and_the_rest_finish(small_folder, params):
    bad = small_folder / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 20)
    seen = []
    result = predict_folder(small_folder, "tiny", params, on_image=seen.append)
    by_name = {s.image.split("/")[-1]: s for s in result.planes}
    assert by_name["broken.png"].status == "failed"
    assert "broken.png" in by_name["broken.png"].reason
    assert not pred_path_for(bad).exists()
    others = [s for n, s in by_name.items() if n != "broken.png"]
    assert [s.status for s in others] == ["done", "done"]
    assert not result.cancelled and len(result.failures) == 1
    assert sorted(s.image for s in seen) == sorted(s.image for s in result.planes)


def test_hand_edited_prediction_survives_a_parameter_change(small_folder, params):
    first = predict_folder(small_folder, "tiny", params)
    target = first.planes[0]
    seg = cellpose_io.load_seg(target.file)
    edited = np.zeros_like(seg.masks)
    edited[10:40, 10:40] = 1
    save_edited_prediction(target.image, edited, None, None, None)
    assert prediction_state(target.image, first.settings) == "edited"
    assert prediction_state(first.planes[1].image, first.settings) == "current"

    changed = dataclasses.replace(params, min_size=20)
    rerun = predict_folder(small_folder, "tiny", changed)
    assert [s.status for s in rerun.planes] == ["skipped", "done"]
    assert "by hand" in rerun.planes[0].reason
    assert np.array_equal(cellpose_io.load_seg(target.file).masks, edited)
    kept = cellpose_io.load_seg(target.file).extra
    assert kept[KEY_MODEL] == "tiny" and kept[KEY_HASH] == first.settings

    forced = predict_images([target.image], "tiny", changed, force=True)
    assert forced.planes[0].status == "done"
    assert prediction_state(target.image, settings_hash("tiny", changed)) == "current"


def test_cancel_stops_the_batch_and_marks_the_rest(small_folder, params):
    cancel = threading.Event()
    progress = []

    def stop_after_first(status):
        cancel.set()

    result = predict_folder(small_folder, "tiny", params, cancel=cancel,
                            on_image=stop_after_first,
                            progress=lambda d, t, m: progress.append((d, t, m)))
    assert [s.status for s in result.planes] == ["done", "cancelled"]
    assert result.cancelled
    assert not pred_path_for(result.planes[1].image).exists()
    dones = [d for d, _, _ in progress]
    assert dones == sorted(dones) and all(t == 2 for _, t, _ in progress)
    assert any("ETA" in m for _, _, m in progress)
    assert progress[-1][2] == "cancelled"


def test_unknown_model_fails_every_image_with_the_reason(small_folder, params):
    result = predict_folder(small_folder, "no-such-model", params)
    assert [s.status for s in result.planes] == ["failed", "failed"]
    assert all("no-such-model" in s.reason for s in result.planes)
