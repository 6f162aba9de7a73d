"""The promote summary (one function for the CLI and the Analyzer) states every fact of a
real promote: promoted, merged (mode and what the first merge did), kept, unpredicted,
failed (first message) and the label files kept as .bak; the CLI keeps its per-file lines
and exit code."""

from __future__ import annotations

from promote_cases import FAILURE, merge_text, promote_experiment

from guv_app.cli.main import main
from guv_app.services.analysis.promote import promote, promote_summary


def test_summary_names_every_case_of_a_real_promote(tmp_path):
    images = promote_experiment(tmp_path)
    result = promote(list(images.values()),
                     overwrite=[images["b_merged"], images["e_failed"]], mode="add")
    assert promote_summary(result) == (
        f"2 promoted, 1 merged into their labels (add): {merge_text('b_merged')}, "
        "1 kept their labels, 1 without prediction, 1 label file(s) of before kept as .bak, "
        f"1 failed: {FAILURE}")
    assert promote_summary(result, kept_hint="--labels to change").count(
        "1 kept their labels (--labels to change), ") == 1
    nothing = promote([images["d_unpredicted"]])
    assert promote_summary(nothing) == "0 promoted, 1 without prediction"


def test_cli_prints_per_file_lines_then_the_summary(tmp_path, capsys):
    images = promote_experiment(tmp_path)
    assert main(["promote", "--input", str(tmp_path), "--labels", "add"]) == 1
    out, err = capsys.readouterr()
    assert err.splitlines() == [f"e_failed.png: {FAILURE}"]
    assert out.splitlines() == [
        f"b_merged.png: {merge_text('b_merged')}",
        f"c_kept.png: {merge_text('c_kept')}",
        f"promote: 3 promoted, 2 merged into their labels (add): {merge_text('b_merged')}, "
        "1 without prediction, 2 label file(s) of before kept as .bak, 1 failed: " + FAILURE,
    ]
    failed_labels = images["e_failed"].with_name("e_failed_seg.npy")
    assert failed_labels.exists() and not failed_labels.with_suffix(".npy.bak").exists()
