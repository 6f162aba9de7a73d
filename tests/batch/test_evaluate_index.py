"""evaluate scores a predict run's indexed predictions exactly as it scores the model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import tifffile

from cellpose_io import save_seg
from guv_app.cli.main import main

pytest.importorskip("torch")
DSB = Path(__file__).resolve().parents[1] / "data" / "labelled" / "dsb2018"
NAMES = ("fluorescence_573e1480b500", "histology_color_4cbd6c37f3a5")


def test_evaluate_predictions_equals_evaluate_model(tmp_path, capsys):
    folder = tmp_path / "labelled"
    folder.mkdir()
    for name in NAMES:
        shutil.copy(DSB / "images" / f"{name}.png", folder / f"{name}.png")
        save_seg(folder / f"{name}.png", tifffile.imread(DSB / "masks" / f"{name}.tif"))
    out = tmp_path / "run"
    settings = ["--cellprob-threshold", "-2", "--flow-threshold", "0", "--device", "cpu"]
    assert main(["predict", "--model", "tiny", "--input", str(folder), "--out", str(out),
                 *settings]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--model", "tiny", "--dir", str(folder), *settings]) == 0
    by_model = capsys.readouterr().out
    assert main(["evaluate", "--predictions", str(out), "--dir", str(folder)]) == 0
    by_index = capsys.readouterr().out
    assert by_index == by_model and by_model.count("\n") == 4  # header, 2 images, mean
    # without predictions for an image: it is skipped with the reason
    (out / f"{NAMES[0]}_pred_seg.npy").unlink()
    assert main(["evaluate", "--predictions", str(out), "--dir", str(folder)]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("\n") == 3 and f"{NAMES[0]}.png: no prediction" in captured.err
    assert main(["evaluate", "--dir", str(folder)]) == 2
