"""The shared ``--workers/--scheduler/--cluster`` options: clear one-line errors, YAML + flag
overrides rendered into a real Slurm job script, and ``train --workers 1`` end to end."""

from __future__ import annotations

import pytest
from dask_data import labelled_folder

from guv_app.cli.main import build_parser, main

TRAIN = ["train", "--train-dir", "{dir}", "--model-name", "m"]


def _train_args(folder, *extra: str) -> list[str]:
    return [a.replace("{dir}", str(folder)) for a in TRAIN] + list(extra)


@pytest.mark.parametrize("extra, needle", [
    (["--gpus", "1"], "--gpus needs --workers, --scheduler or --cluster"),
    (["--queue", "gpu"], "need --cluster"),
    (["--scheduler", "127.0.0.1:8786"], "expected tcp://HOST:PORT"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--scheduler", "tls://127.0.0.1:8786"], "needs certificates"),
    (["--scheduler", "tls://127.0.0.1:8786", "--tls-ca-file", "ca.pem"], "go together"),
    (["--scheduler", "tls://127.0.0.1:8786", "--tls-ca-file", "nope-ca.pem", "--tls-cert",
      "nope.pem"], "nope-ca.pem: TLS CA file not found"),
    (["--cluster", "slurm", "--cores", "0"], "cores must be at least 1"),
])
def test_bad_cluster_options_give_one_line(tmp_path, capsys, extra, needle):
    assert main(_train_args(tmp_path, *extra)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if "error:" in line]
    assert len(errors) == 1 and needle in errors[0], err


def test_where_options_are_exclusive(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(_train_args(tmp_path, "--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"))
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_yaml_and_flags_make_the_slurm_job_script(tmp_path):
    from guv_app.cli.cluster_options import cluster_config
    from guv_app.services.distributed.cluster import jobqueue_cluster

    path = tmp_path / "slurm.yaml"
    path.write_text("queue: cpu\ncores: 4\nmemory: 8GB\njob_extra: ['--exclusive']\n"
                    "interface: lo\nwalltime: '00:20:00'\n")
    args = build_parser().parse_args(_train_args(
        tmp_path, "--cluster", "slurm", "--cluster-config", str(path), "--queue", "gpu",
        "--gpus", "1", "--job-extra=--constraint=a100", "--max-jobs", "3"))
    config = cluster_config(args)
    assert config.kind == "slurm" and config.jobqueue.max_jobs == 3
    cluster = jobqueue_cluster("slurm", config.jobqueue)
    try:
        lines = cluster.job_script().splitlines()
    finally:
        cluster.close()
    for line in ("#SBATCH -p gpu", "#SBATCH --exclusive", "#SBATCH --constraint=a100",
                 "#SBATCH --gres=gpu:1", "#SBATCH -t 00:20:00", "#SBATCH --cpus-per-task=4"):
        assert line in lines, (line, lines)
    assert not any("#SBATCH -p cpu" == x for x in lines)  # the flag won over the file


def test_train_on_a_local_worker_from_the_cli(data_dir, tmp_path, capsys, _isolated_home):
    from guv_app.services.engine.registry import get_model_meta

    folder = labelled_folder(data_dir, tmp_path / "labels")
    code = main(["train", "--train-dir", str(folder), "--model-name", "cli-worker",
                 "--base-model", "tiny", "--epochs", "1", "--images-per-epoch", "2",
                 "--batch-size", "1", "--blocks", "1", "--device", "cpu",
                 "--test-ratio", "0.34", "--workers", "1"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "running on 1 local worker process(es)" in err
    assert "epoch: epoch 1/1" in err and "done:" in err  # events streamed from the worker
    assert f"model cli-worker saved to {_isolated_home / 'models' / 'cli-worker'}" in out
    assert get_model_meta("cli-worker").extra["training"]["steps_done"] == 2


def test_gpus_with_local_workers_make_them_offer_the_gpu_resource(tmp_path):
    from guv_app.cli.cluster_options import cluster_config

    args = build_parser().parse_args(_train_args(tmp_path, "--workers", "2", "--gpus", "1"))
    config = cluster_config(args)
    assert (config.kind, config.workers, config.gpus_per_worker) == ("local", 2, 1)
    assert config.workers_write  # local workers write their outputs themselves
    args = build_parser().parse_args(_train_args(tmp_path, "--scheduler",
                                                 "tcp://127.0.0.1:8786"))
    assert not cluster_config(args).workers_write
    args = build_parser().parse_args(_train_args(tmp_path, "--scheduler",
                                                 "tcp://127.0.0.1:8786", "--shared-fs"))
    assert cluster_config(args).workers_write
