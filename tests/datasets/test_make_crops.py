"""Random crops of a real multi-frame file for annotation (make-crops)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import tifffile

from guv_app.cli.main import main
from guv_app.services.datasets import make_crops

DAX = Path(__file__).resolve().parents[1] / "data" / "formats" / "dax"


def test_crops_are_sized_seeded_and_never_overwrite(tmp_path):
    src = tmp_path / "in"
    shutil.copytree(DAX, src)
    a = make_crops(src, 64, 3, tmp_path / "a", seed=7)
    b = make_crops(src, 64, 3, tmp_path / "b", seed=7)
    assert [p.name for p in a.written] == [p.name for p in b.written]
    assert len(a.written) == 3 and a.skipped == []
    for p in a.written:
        crop = tifffile.imread(p)
        assert crop.shape == (64, 64)
        t, y, x = (int(p.stem.split("_")[i][1:]) for i in (1, 3, 4))
        from cellpose_io import read_image

        plane = read_image(src / "test.dax").plane(t=t)[0]
        np.testing.assert_array_equal(crop, plane[y : y + 64, x : x + 64])
    again = make_crops(src, 64, 3, tmp_path / "a", seed=7)
    assert not set(again.written) & set(a.written)
    assert len(list((tmp_path / "a").glob("*.tif"))) == 6


def test_cli_make_crops_reports_count(tmp_path, capsys):
    src = tmp_path / "in"
    shutil.copytree(DAX, src)
    (src / "broken.tif").write_bytes(b"junk")
    code = main(["make-crops", "--input", str(src), "--size", "32", "--per-image", "2",
                 "--out", str(tmp_path / "out"), "--seed", "1"])
    out = capsys.readouterr()
    assert code == 0
    assert "2 crop(s) written" in out.out and "broken.tif" in out.err
