"""One folder where most items are broken differently: every batch marks each bad item with
its reason and goes on, every listed input is accounted for, and the dry run lists exactly
what the training-set build uses and skips."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from corpus_folder import add_region_files, build_corpus

ROOT = Path(__file__).resolve().parents[2]
LIMIT = ("declares 60000x60000 pixels (3,600,000,000 per plane), above the limit of "
         "1,073,741,824 (set MULTICELLPOSE_MAX_IMAGE_PIXELS to change it); not decoded")
FORGED = "unsafe or corrupt pickle: dtype |V8 with a forged description (fields, size or flags)"
CUT = "truncated pickle payload (the save was cut short or the file was damaged)"
DEEP = ("unreadable (RecursionError: maximum recursion depth exceeded while getting the repr "
        "of an object)")
TWINS = ("twin.png, twin.tif would share the label files twin_seg.npy / twin_pred_seg.npy; "
         "rename one so each image has its own")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "guv_app.cli.main", *args],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    folder = tmp_path_factory.mktemp("measure") / "images"
    build_corpus(folder)
    out = folder.parent / "out" / "results.csv"
    proc = _cli("measure", "--dir", str(folder), "--out", str(out), "--quiet")
    return folder, out, proc


def test_measure_marks_each_bad_item_and_writes_the_rest(measured):
    folder, out, proc = measured
    assert proc.returncode == 1
    with open(out.with_name("results_summary.csv"), newline="") as fh:
        summary = {row["image"]: (row["status"], row["error"], row["n_objects"])
                   for row in csv.DictReader(fh)}
    assert summary == {
        "'=cmd.tif": ("done", "", "3"),
        "bomb.tif": ("failed", f"{folder / 'bomb.tif'}: {LIMIT}", ""),
        "cut.tif": ("failed", f"{folder / 'cut_seg.npy'}: {CUT}", ""),
        "deep.tif": ("failed", f"{folder / 'deep_seg.npy'}: {DEEP}", ""),
        "forged.tif": ("failed", f"{folder / 'forged_seg.npy'}: {FORGED}", ""),
        "good.tif": ("done", "", "3"),
        "hugeid.tif": ("done", "", "3"),
        "mismatch.tif": ("failed", f"{folder / 'mismatch.tif'}: image is 64x64 but labels "
                                   "mismatch_seg.npy are 32x32", ""),
        "nolabels.tif": ("skipped", "no label file", ""),
        "plain.npy": ("done", "", "8"),
        "ref.tif": ("done", "", "8"),
        "twin.png": ("skipped", TWINS, ""),
        "twin.tif": ("skipped", TWINS, ""),
    }
    assert proc.stdout.strip() == (f"measured 25 objects in 5/13 plane(s) of 13 file(s); "
                                   f"wrote {out}")
    assert proc.stderr.count("  problem: ") == 8


def test_measured_csv_is_spreadsheet_safe_and_keeps_huge_ids(measured):
    _folder, out, _proc = measured
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_image: dict[str, list[dict]] = {}
    for row in rows:
        by_image.setdefault(row["image"], []).append(row)
    assert set(by_image) == {"'=cmd.tif", "good.tif", "hugeid.tif", "plain.npy", "ref.tif"}
    assert [r["class_name"] for r in by_image["'=cmd.tif"]] == ["'=HYPERLINK(1)"] * 3
    assert [r["object_id"] for r in by_image["hugeid.tif"]] == ["1", "2", "3"]
    assert [r["area"] for r in by_image["hugeid.tif"]] == [r["area"] for r in by_image["good.tif"]]
    strip = [{k: v for k, v in r.items() if k != "image"} for r in by_image["plain.npy"]]
    assert strip == [{k: v for k, v in r.items() if k != "image"} for r in by_image["ref.tif"]]


@pytest.fixture(scope="module")
def training_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train") / "images"
    build_corpus(folder)
    add_region_files(folder)
    return folder


EXPECTED_SKIPS = {
    "nolabels.tif": "no labels (no nolabels_seg.npy and no nolabels_masks.*)",
    "twin.png": "another image is also called twin.*; they would share twin_seg.npy -- "
                "rename one so each has its own labels",
    "twin.tif": "another image is also called twin.*; they would share twin_seg.npy -- "
                "rename one so each has its own labels",
    "bomb.tif": f"unreadable image ({LIMIT})",
    "cut.tif": f"unreadable labels cut_seg.npy ({CUT})",
    "deep.tif": f"unreadable labels deep_seg.npy ({DEEP})",
    "forged.tif": f"unreadable labels forged_seg.npy ({FORGED})",
    "mismatch.tif": "shape mismatch: image 64x64, labels 32x32",
    "regdeep.tif": "unreadable region file regdeep_regions.geojson (not valid GeoJSON (nested "
                   "too deeply))",
    "regjson.tif": "unreadable region file regjson_regions.geojson (not valid JSON (Expecting "
                   "property name enclosed in double quotes: line 1 column 2 (char 1)))",
    "regoutside.tif": "region file regoutside_regions.geojson has no region inside the image",
    "regroi.tif": "unreadable region file regroi_regions.roi (not a readable ImageJ ROI file "
                  "(ValueError: ImageJ ROI data too short: 14 < 64 bytes))",
    "regzip.tif": "unreadable region file regzip_regions.zip (not a readable ImageJ ROI file "
                  "(BadZipFile: File is not a zip file))",
}


def test_dry_run_lists_every_input(training_folder):
    proc = _cli("train", "--train-dir", str(training_folder), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"{training_folder}: 5 of 18 image(s) labelled, 25 object(s)"
    assert lines[1:3] == ["  =HYPERLINK(1): 3", "  unassigned: 22"]
    skipped = dict(line[len("  skipped "):].split(": ", 1) for line in lines
                   if line.startswith("  skipped "))
    assert skipped == EXPECTED_SKIPS
    assert "Traceback" not in proc.stderr


def test_dry_run_counts_what_training_uses(training_folder):
    """The training-set build (real reads, flows) skips exactly the same files for the same
    reasons and uses exactly the images the dry run counted."""
    from guv_app.services.datasets.builder import DatasetOptions, build_training_set
    from guv_app.services.datasets.summary import summarize_folder

    options = DatasetOptions(use_flow_cache=False, test_ratio=0.0)
    summary = summarize_folder(training_folder, options)
    built = build_training_set(training_folder, options)
    assert {(s.path.name, s.reason) for s in built.skipped} == set(EXPECTED_SKIPS.items())
    assert dict(summary.skipped) == EXPECTED_SKIPS
    assert sorted(Path(f.image).name for f in built.files) == sorted(
        p.name for p in summary.labelled) == ["=cmd.tif", "good.tif", "hugeid.tif",
                                              "plain.npy", "ref.tif"]
    assert sum(s.n_objects for s in built.train) == summary.n_objects == 25


def test_evaluate_skips_the_forged_label_file(tmp_path):
    """``evaluate`` (tiny model) used to die with SIGSEGV on the forged file; now it is one
    skipped line and the other image is scored."""
    import shutil

    bad = ROOT / "tests" / "data" / "bad_inputs"
    for name in ("forged.tif", "forged_seg.npy"):
        shutil.copy(bad / name, tmp_path / name)
    for name in ("ref.tif", "ref_seg.npy"):
        shutil.copy(bad / "npy_image" / name, tmp_path / name)
    proc = _cli("evaluate", "--model", "tiny", "--dir", str(tmp_path), "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert (f"skipped {tmp_path / 'forged.tif'}: unreadable labels forged_seg.npy ({FORGED})"
            in proc.stderr)
    rows = [line.split(",")[:2] for line in proc.stdout.splitlines()]
    assert ["ref.tif", "8"] in rows and not any(r[0] == "forged.tif" for r in rows)
