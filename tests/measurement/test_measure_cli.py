"""``multicellpose measure`` end to end on a folder of real images with ``_seg.npy`` labels."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np

from guv_app.cli.main import main


def read_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_measure_writes_merged_per_plugin_and_summary_csvs(good_folder, tmp_path, capsys):
    folder, masks = good_folder
    out = tmp_path / "results.csv"
    code = main(["measure", "--dir", str(folder), "--out", str(out), "--plugins",
                 "shape,intensity,neighbours", "--param", "intensity.background=image",
                 "--param", "neighbours.connectivity=4", "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    total = sum(len(np.unique(m)) - 1 for m in masks.values())
    assert f"measured {total} objects in 3/3 plane(s) of 3 file(s)" in printed
    rows = read_rows(out)
    assert list(rows[0])[:7] == ["image", "series", "t", "z", "object_id", "class_id", "class_name"]
    assert len(rows) == total
    for name, m in masks.items():
        counts = np.bincount(m.ravel())
        mine = [r for r in rows if r["image"] == name]
        assert [int(r["area"]) for r in mine] == counts[np.unique(m)[1:]].tolist()
    for plugin in ("shape", "intensity", "neighbours"):
        assert len(read_rows(tmp_path / f"results_{plugin}.csv")) == total
    assert len(read_rows(tmp_path / "results_summary.csv")) == 3
    assert "ch0_background" in rows[0] and "n_touching" in rows[0]


def test_failures_give_exit_code_1_and_are_listed(mixed_folder, tmp_path, capsys):
    folder, _, _ = mixed_folder
    code = main(["measure", "--dir", str(folder), "--out", str(tmp_path / "r.csv"),
                 "--plugins", "shape"])
    assert code == 1
    err = capsys.readouterr().err
    assert "problem: broken.tif:" in err and "problem: nolabel.png: no label file" in err
    assert len(read_rows(tmp_path / "r.csv")) > 0


def test_usage_errors_exit_2_with_one_line(good_folder, tmp_path, capsys):
    folder, _ = good_folder
    out = str(tmp_path / "r.csv")
    assert main(["measure", "--dir", str(folder), "--out", out, "--plugins", "shapes"]) == 2
    assert "no measurement plugin 'shapes'" in capsys.readouterr().err
    assert main(["measure", "--dir", str(folder), "--out", out, "--param", "ring_width=3"]) == 2
    assert "expected PLUGIN.NAME=VALUE" in capsys.readouterr().err
    assert main(["measure", "--dir", str(folder), "--out", out,
                 "--param", "intensity.ring_width=-1"]) == 2
    assert "below the minimum" in capsys.readouterr().err
    assert main(["measure", "--dir", str(tmp_path / "nope"), "--out", out]) == 2
    assert main(["measure", "--dir", str(folder)]) == 2
    assert not (tmp_path / "r.csv").exists()


def test_console_script_runs_and_lists_plugins(good_folder, tmp_path):
    folder, _ = good_folder
    exe = [sys.executable, "-m", "guv_app.cli.main", "measure"]
    listed = subprocess.run(exe + ["--list-plugins"], capture_output=True, text=True)
    assert listed.returncode == 0
    assert "intensity.ring_width (int, default 5" in listed.stdout
    out = tmp_path / "sub" / "all.csv"
    run = subprocess.run(exe + ["--dir", str(folder), "--out", str(out), "--labels", "seg"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    header = out.read_text().splitlines()[0].split(",")
    for column in ("area", "perimeter", "ch0_mean", "ch0_boundary_mean", "nearest_distance"):
        assert column in header
    for name in ("shape", "intensity", "boundary", "neighbours", "summary"):
        assert (tmp_path / "sub" / f"all_{name}.csv").is_file()
