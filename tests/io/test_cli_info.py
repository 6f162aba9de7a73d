"""``multicellpose info`` opens every sample file and prints what the reader sees."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from guv_app.cli.main import main

FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"
NOT_IMAGES = {".txt", ".inf", ".raw"}  # readme, dax sidecar, detached nrrd data
SAMPLES = sorted(p for p in FORMATS.rglob("*") if p.is_file() and p.suffix not in NOT_IMAGES)
AXES = {
    "cluster.nd2": "TZCYX", "PR2729_frameOrderCombinedScanTypes.lif": "TZCYX",
    "BallBinary30x30x30.nrrd": "ZYX", "BallBinary30x30x30_gz.nrrd": "ZYX",
    "BallBinary30x30x30.nhdr": "ZYX", "test.dax": "TYX", "s_1_t_1_c_1_z_1.ome.tiff": "YX",
    "ome-artificial_multi-channel.ome.tiff": "CYX", "s_1_t_1_c_1_z_1.czi": "YX",
    "BBBC022_IXMtest_A02_s9_3ch_imagej.tif": "CYX", "skimage_multipage.tif": "ZYX",
    "skimage_multipage_rgb.tif": "ZCYX",
}


def _field(out: str, name: str) -> str:
    for line in out.splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name!r} line in:\n{out}")


def test_every_sample_is_listed():
    assert {p.name for p in SAMPLES} == set(AXES)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_info_prints_axes_of_every_sample(path, capsys):
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert _field(out, "axes") == AXES[path.name]
    assert _field(out, "file") == str(path)
    assert _field(out, "dtype")
    shape = [int(n) for n in _field(out, "shape").split(" x ")]
    assert len(shape) == len(AXES[path.name])


def test_info_details_for_nd2_and_lif(capsys):
    assert main(["info", str(FORMATS / "nd2/cluster.nd2")]) == 0
    out = capsys.readouterr().out
    assert _field(out, "shape") == "3 x 10 x 2 x 31 x 38"
    assert _field(out, "dtype") == "uint16"
    assert _field(out, "channels") == "5-FAM/pH 9.0, FM 4-64/2% CHAPS"
    assert _field(out, "pixel size").startswith("0.167809 x 0.167809 um")
    lif = FORMATS / "lif/PR2729_frameOrderCombinedScanTypes.lif"
    assert main(["info", str(lif), "--series", "2"]) == 0
    out = capsys.readouterr().out
    assert _field(out, "series") == "2 of 4 (TileScan_001 tile 3/4)"
    assert "  3: TileScan_001 tile 4/4" in out


def test_info_json(capsys):
    assert main(["info", "--json", str(FORMATS / "czi/s_1_t_1_c_1_z_1.czi")]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["axes"] == "YX" and info["shape"] == [325, 475]
    assert info["channel_names"] == ["Bright"] and info["pixel_size"][0] == pytest.approx(1.0833, abs=1e-4)


@pytest.mark.parametrize("args, words", [
    (["missing.tif"], ["missing.tif", "not found"]),
    ([str(FORMATS / "dax/test.inf")], ["test.inf", "unsupported file type"]),
    ([str(FORMATS / "nd2/cluster.nd2"), "--series", "3"], ["series 3 does not exist"]),
])
def test_info_errors_are_one_line_and_nonzero(args, words, capsys):
    assert main(["info", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("multicellpose info: error: ")
    for word in words:
        assert word in lines[0]


def _console_script() -> str:
    exe = Path(sys.executable).parent / "multicellpose"
    found = str(exe) if exe.exists() else shutil.which("multicellpose")
    if not found:
        pytest.fail("the multicellpose console script is not installed (pip install -e .)")
    return found


def _blocks(out: str) -> list[str]:
    return [block for block in out.strip().split("\n\n") if block]


def test_several_files_report_each_and_fail_at_the_end(tmp_path, capsys):
    bad = tmp_path / "bad.tif"
    bad.write_text("not an image")
    good = FORMATS / "tiff/skimage_multipage.tif"
    assert main(["info", str(good), str(bad), str(good)]) == 2
    captured = capsys.readouterr()
    assert [_field(b, "axes") for b in _blocks(captured.out)] == ["ZYX", "ZYX"]
    assert captured.err.count("\n") == 1 and "bad.tif" in captured.err


def test_console_script_opens_every_sample(tmp_path):
    script = _console_script()
    env = dict(os.environ, LANG="C.UTF-8")
    result = subprocess.run([script, "info", *map(str, SAMPLES)], capture_output=True,
                            text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    blocks = _blocks(result.stdout)
    assert [Path(_field(b, "file")).name for b in blocks] == [p.name for p in SAMPLES]
    for block in blocks:
        assert _field(block, "axes") == AXES[Path(_field(block, "file")).name], block
    garbage = tmp_path / "broken.nd2"
    garbage.write_bytes(b"\x00" * 64)
    result = subprocess.run([script, "info", str(garbage)], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "broken.nd2" in result.stderr and "not a valid Nikon ND2" in result.stderr
