"""Cancel while the training data is prepared; ``train --dry-run`` prints the folder summary."""

from __future__ import annotations

import shutil
import threading

import numpy as np
from tr_helpers import DSB, STEMS, fast_config, size_classes, snapshot

from guv_app.cli.main import main


def test_cancel_during_data_preparation_stops_before_training(seg_folder):
    from guv_app import paths
    from guv_app.services.engine import registry
    from guv_app.services.training.runner import run_dir_for, run_training

    before = snapshot(seg_folder)
    cancel = threading.Event()
    messages: list[str] = []
    events = []

    def dataset_progress(done, total, message):
        messages.append(message)
        if done >= 1:  # the first file has been read
            cancel.set()

    outcome = run_training(seg_folder, fast_config(model_name="prep-cancel"),
                           progress=events.append, dataset_progress=dataset_progress,
                           cancel=cancel)
    assert outcome.cancelled and outcome.model_dir is None
    assert outcome.result.steps_done == 0 and outcome.n_train == 0
    assert events == []  # training never started
    # stopped per file: the second file was the last one read, no flows were computed
    assert len(messages) == 2 and all(m.startswith("reading ") for m in messages)
    assert registry.is_name_free("prep-cancel")
    assert not run_dir_for("prep-cancel").exists()
    assert not (paths.models_dir() / "prep-cancel").exists()
    assert snapshot(seg_folder) == before


def test_dry_run_prints_summary_and_trains_nothing(seg_folder, capsys):
    import tifffile

    from guv_app.services.engine import registry

    shutil.copy(DSB / "images" / "fluorescence_ff3e512b5fb8.png",
                seg_folder / "unlabelled.png")
    before = snapshot(seg_folder)
    models_before = [m.name for m in registry.list_models()]

    code = main(["train", "--train-dir", str(seg_folder), "--dry-run", "--test-ratio", "0.3"])
    out = capsys.readouterr()
    assert code == 0, out.err
    small = large = 0
    for stem in STEMS:
        classes = size_classes(tifffile.imread(DSB / "masks" / f"{stem}.tif"))
        small += int(np.count_nonzero(classes == 1))
        large += int(np.count_nonzero(classes == 2))
    lines = out.out.splitlines()
    assert lines[0] == (f"{seg_folder}: 3 of 4 image(s) labelled, {small + large} object(s)")
    assert f"  large: {large}" in lines and f"  small: {small}" in lines
    assert any(line.startswith("  skipped unlabelled.png: no labels") for line in lines)
    assert "validation: random 0.3 of the labelled images (seed 0)" in lines
    assert snapshot(seg_folder) == before
    assert [m.name for m in registry.list_models()] == models_before


def test_dry_run_on_missing_folder_and_train_without_name_are_user_errors(tmp_path, capsys):
    assert main(["train", "--train-dir", str(tmp_path / "nope"), "--dry-run"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", "--train-dir", str(tmp_path)]) == 2
    assert "--model-name is required" in capsys.readouterr().err
