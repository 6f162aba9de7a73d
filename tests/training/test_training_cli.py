"""``multicellpose train`` / ``evaluate`` end to end on real labelled images (tiny backbone)."""

from __future__ import annotations

import csv
import re

from tr_helpers import CLASS_NAMES

from guv_app.cli.main import main

FAST = ["--base-model", "tiny", "--blocks", "1", "--epochs", "1", "--batch-size", "1",
        "--images-per-epoch", "1", "--device", "cpu"]


def test_train_then_continue_then_evaluate(seg_folder, tmp_path, capsys):
    from guv_app.services.engine import registry

    code = main(["train", "--train-dir", str(seg_folder), "--test-ratio", "0.34",
                 "--model-name", "cli-a", *FAST])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "model cli-a saved" in out.out and "AP@0.5" in out.out
    assert "epoch: epoch 1/1" in out.err  # one plain line per epoch when not on a tty
    # tqdm's one format: a final bar line with count, elapsed time and rate
    assert re.search(r"training: 100%.*\| (\d+)/\1 \[\d+:\d\d<", out.err), out.err
    assert re.search(r"preparing data: 100%.*\| (\d+)/\1 ", out.err), out.err
    # continue from the fine-tune: its class list is kept, parent recorded
    args = ["train", "--train-dir", str(seg_folder), "--test-ratio", "0",
            "--model-name", "cli-b", *FAST]
    args[args.index("tiny")] = "cli-a"
    assert main([*args, "--mode", "unfreeze"]) == 0
    meta_b = registry.get_model_meta("cli-b")
    assert meta_b.parent == "cli-a" and meta_b.class_names == CLASS_NAMES
    capsys.readouterr()

    report = tmp_path / "ap.csv"
    code = main(["evaluate", "--model", "cli-b", "--dir", str(seg_folder), "--out", str(report),
                 "--device", "cpu"])
    out = capsys.readouterr()
    assert code == 0, out.err
    rows = list(csv.DictReader(open(report)))
    assert [r["image"] for r in rows][-1] == "mean" and len(rows) == 4
    assert all(0.0 <= float(r["ap@0.5"]) <= 1.0 for r in rows)
    assert "ap@0.75" in out.out
    assert re.search(r"evaluate: 100%.*\| 3/3 \[", out.err), out.err


def test_user_errors_are_one_line_exit_2(tmp_path, seg_folder, capsys):
    code = main(["train", "--train-dir", str(tmp_path / "missing"), "--model-name", "x", *FAST])
    err = capsys.readouterr().err
    assert code == 2 and "does not exist" in err and "Traceback" not in err
    code = main(["train", "--train-dir", str(seg_folder), "--model-name", "tiny", *FAST])
    assert code == 2 and "taken" in capsys.readouterr().err
    code = main(["train", "--train-dir", str(seg_folder), "--model-name", "y", "--bsize", "100",
                 *FAST])
    assert code == 2 and "bsize" in capsys.readouterr().err
