"""``multicellpose predict`` on a folder of real images with the tiny backbone."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

import cellpose_io  # noqa: E402
from guv_app.cli.main import main  # noqa: E402

DSB = Path(__file__).resolve().parents[1] / "data" / "labelled" / "dsb2018" / "images"
NAMES = ["fluorescence_00071198d059.png", "fluorescence_573e1480b500.png"]


@pytest.fixture
def folder(tmp_path) -> Path:
    images = tmp_path / "images"
    images.mkdir()
    for name in NAMES:
        shutil.copy(DSB / name, images / name)
    (images / "notes.txt").write_text("not an image")
    return images


def test_predict_folder_writes_pred_seg_files(folder, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["predict", "--model", "tiny", "--input", str(folder), "--out", str(out),
                 "--flow-threshold", "0"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "segmented 2 of 2 plane(s) of 2 file(s)" in captured.out
    assert "2/2" in captured.err  # tqdm bar
    written = sorted(p.name for p in out.iterdir())
    assert written == [n.replace(".png", "_pred_seg.npy") for n in NAMES] + \
        ["predictions_index.csv"]
    for name in NAMES:
        seg = cellpose_io.load_seg(out / name.replace(".png", "_pred_seg.npy"))
        image = cellpose_io.read_image(folder / name).plane()
        assert seg.masks.shape == image.shape[1:]
        assert seg.masks.max() > 0
        assert len(seg.classes) == seg.masks.max() + 1
        assert seg.class_names == ["background"]


def test_predict_single_file_beside_image_and_bad_input(folder, capsys):
    image = folder / NAMES[0]
    assert main(["predict", "--model", "tiny", "--input", str(image),
                 "--flow-threshold", "0"]) == 0
    assert (folder / NAMES[0].replace(".png", "_pred_seg.npy")).exists()
    capsys.readouterr()
    assert main(["predict", "--model", "no-such-model", "--input", str(image)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such-model" in err[0]
    assert main(["predict", "--model", "tiny", "--input", str(folder / "missing")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["predict", "--model", "tiny", "--input", str(image), "--channels", "a"]) == 2
    assert "--channels" in capsys.readouterr().err
    assert main(["predict", "--model", "tiny", "--input", str(image), "--channels", "7"]) == 1
    err = capsys.readouterr().err
    assert "channel(s) [7]" in err and NAMES[0] in err


def test_predict_reports_corrupt_file_and_goes_on(folder, tmp_path, capsys):
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    out = tmp_path / "out"
    code = main(["predict", "--model", "tiny", "--input", str(folder), "--out", str(out),
                 "--flow-threshold", "0"])
    captured = capsys.readouterr()
    assert code == 1
    assert "broken.png" in captured.err
    assert "segmented 2 of 3 plane(s) of 3 file(s)" in captured.out
    assert len(list(out.glob("*_pred_seg.npy"))) == 2
    assert np.load(next(out.glob("*_pred_seg.npy")), allow_pickle=True).item()["masks"].any()


def test_predict_rerun_skips_same_settings_and_force_reruns(folder, tmp_path, capsys):
    """The CLI writes the same prediction metadata as the Analyzer, so reruns are skipped."""
    out = tmp_path / "out"
    args = ["predict", "--model", "tiny", "--input", str(folder), "--out", str(out),
            "--flow-threshold", "0"]
    assert main(args) == 0
    first = {p.name: p.stat().st_mtime_ns for p in out.glob("*_pred_seg.npy")}
    capsys.readouterr()
    assert main(args) == 0
    summary = capsys.readouterr().out
    assert "segmented 0 of 2 plane(s)" in summary and "2 skipped" in summary
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*_pred_seg.npy")} == first
    assert main(args + ["--cellprob-threshold", "-1"]) == 0
    changed = {p.name: p.stat().st_mtime_ns for p in out.glob("*_pred_seg.npy")}
    assert all(changed[name] != first[name] for name in first)
    capsys.readouterr()
    assert main(args + ["--cellprob-threshold", "-1", "--force"]) == 0
    assert "segmented 2 of 2" in capsys.readouterr().out
