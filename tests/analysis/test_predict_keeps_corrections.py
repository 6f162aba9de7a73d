"""A forced ``predict`` rerun over a prediction corrected by hand keeps the corrections as
``<name>.bak`` (nothing a person made is overwritten without being kept)."""

from __future__ import annotations

import numpy as np

import cellpose_io
from guv_app.cli.main import main
from guv_app.services.analysis.predictions import (
    pred_path_for,
    read_prediction_info,
    save_edited_prediction,
)

STEM = "fluorescence_573e1480b500"
ARGS = ["--model", "tiny", "--device", "cpu", "--cellprob-threshold", "-2",
        "--flow-threshold", "0", "--min-size", "30"]


def test_forced_rerun_keeps_hand_corrections(small_folder, capsys):
    image = small_folder / f"{STEM}.png"
    assert main(["predict", "--input", str(image), *ARGS]) == 0
    pred = pred_path_for(image)
    fresh = cellpose_io.load_seg(pred).masks
    corrected = np.zeros_like(cellpose_io.load_seg(pred).masks)
    corrected[10:40, 10:40] = 1  # a person's correction
    save_edited_prediction(image, corrected, None, None, None)
    edited = pred.read_bytes()
    assert main(["predict", "--input", str(image), *ARGS]) == 0  # skipped: corrected
    assert pred.read_bytes() == edited and not pred.with_name(pred.name + ".bak").exists()
    assert main(["predict", "--input", str(image), *ARGS, "--force"]) == 0
    assert pred.with_name(pred.name + ".bak").read_bytes() == edited
    assert not read_prediction_info(pred).edited  # a fresh prediction replaced it
    assert np.array_equal(cellpose_io.load_seg(pred).masks, fresh)
