"""A run under a name in use (saved model or kept checkpoint) is an error in the CLI unless
--resume or --overwrite says what to do; the kept checkpoint is never silently replaced."""

from __future__ import annotations

import signal

from guv_app.cli.main import main
from guv_app.services.training.checkpoint import CHECKPOINT_FILE, read_run_info
from guv_app.services.training.runner import run_dir_for

FAST = ["--base-model", "tiny", "--blocks", "1", "--batch-size", "1",
        "--images-per-epoch", "1", "--device", "cpu", "--test-ratio", "0"]


def _interrupt_after_first_step(mp):
    """Deliver the CLI's own SIGINT handler after the first step (like Ctrl+C)."""
    from guv_app.cli.commands import train as train_cmd

    real = train_cmd.TrainProgress.__call__

    def call(self, event):
        real(self, event)
        if event.kind == "step" and event.step == 1:
            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)

    mp.setattr(train_cmd.TrainProgress, "__call__", call)


def test_cli_name_in_use_needs_resume_or_overwrite(seg_folder, capsys, monkeypatch):
    args = ["train", "--train-dir", str(seg_folder), "--model-name", "run-a", "--epochs", "3",
            *FAST]
    code = main(["train", "--train-dir", str(seg_folder), "--model-name", "run-a",
                 "--resume", "--epochs", "3", *FAST])
    assert code == 2 and "no interrupted run named 'run-a'" in capsys.readouterr().err

    with monkeypatch.context() as mp:
        _interrupt_after_first_step(mp)
        assert main(args) == 130
    ckpt = run_dir_for("run-a") / CHECKPOINT_FILE
    kept = ckpt.read_bytes()
    assert read_run_info(run_dir_for("run-a")).step == 1
    capsys.readouterr()

    assert main(args) == 2  # a new run under that name: refused, checkpoint untouched
    err = capsys.readouterr().err
    assert "interrupted run named 'run-a'" in err and "--resume" in err and "--overwrite" in err
    assert ckpt.read_bytes() == kept

    seen = []
    from guv_app.cli.commands import train as train_cmd

    real = train_cmd.TrainProgress.__call__
    with monkeypatch.context() as mp:
        mp.setattr(train_cmd.TrainProgress, "__call__",
                   lambda self, e: (seen.append((e.kind, e.step)), real(self, e))[1])
        assert main([*args, "--resume"]) == 0
    assert [s for k, s in seen if k == "step"] == [2, 3]  # continued, not restarted
    capsys.readouterr()

    assert main(args) == 2  # the model exists now
    assert "taken by a saved model" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
