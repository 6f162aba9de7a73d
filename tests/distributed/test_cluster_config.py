"""Cluster settings: YAML/CLI config, one-line errors, and batch-queue job scripts rendered by
dask-jobqueue itself (no Slurm/PBS/SGE/LSF needed)."""

from __future__ import annotations

import pytest

from guv_app.services.distributed.config import (
    ClusterConfig,
    ClusterConfigError,
    JobQueueConfig,
    TLSFiles,
    check_address,
    load_jobqueue_config,
)

YAML = """\
queue: gpu
account: lab42
cores: 8
memory: 32GB
gpus: 1
walltime: "02:00:00"
job_extra: ["--constraint=a100"]
job_script_prologue: ["source /shared/venvs/mcp/bin/activate"]
interface: lo
max_jobs: 20
tls: false
"""


def test_yaml_config_is_read_into_the_dataclass(tmp_path):
    path = tmp_path / "slurm.yaml"
    path.write_text(YAML)
    jq = load_jobqueue_config(path)
    assert (jq.queue, jq.account, jq.cores, jq.memory, jq.gpus, jq.walltime) == (
        "gpu", "lab42", 8, "32GB", 1, "02:00:00")
    assert jq.job_extra == ["--constraint=a100"] and jq.max_jobs == 20 and jq.min_jobs == 0


@pytest.mark.parametrize("text, needle", [
    ("queue: gpu\nwallclock: 1h\n", "unknown key(s) wallclock"),
    ("queue: [unclosed\n", "not valid YAML"),
    ("- a\n- b\n", "expected a mapping"),
    ("cores: 0\n", "cores must be at least 1"),
    ("job_extra: --exclusive\n", "lists of strings"),
    ("min_jobs: 5\nmax_jobs: 2\n", "min_jobs <= max_jobs"),
])
def test_bad_yaml_config_gives_one_line_naming_the_file(tmp_path, text, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ClusterConfigError) as info:
        load_jobqueue_config(path)
    message = str(info.value)
    assert needle in message and "\n" not in message
    assert str(path) in message or "cluster config" in message


def test_missing_yaml_file_is_named(tmp_path):
    with pytest.raises(ClusterConfigError, match="missing.yaml: cannot read"):
        load_jobqueue_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "tls://head.example.org:8786"])
def test_good_scheduler_addresses(address):
    assert check_address(address) == address


@pytest.mark.parametrize("address", ["127.0.0.1:8786", "http://x:1", "tcp://host", "tcp://:1",
                                     "tcp://h:port"])
def test_bad_scheduler_addresses_are_refused(address):
    with pytest.raises(ClusterConfigError, match="expected tcp://HOST:PORT"):
        check_address(address)


def test_tls_scheduler_needs_existing_certificates(tmp_path):
    from guv_app.services.distributed.cluster import open_client

    with pytest.raises(ClusterConfigError, match="needs certificates"):
        with open_client(ClusterConfig(kind="scheduler", address="tls://127.0.0.1:8786")):
            pass
    config = ClusterConfig(kind="scheduler", address="tls://127.0.0.1:8786",
                           tls=TLSFiles(str(tmp_path / "ca.pem"), str(tmp_path / "me.pem")))
    with pytest.raises(ClusterConfigError, match="ca.pem: TLS CA file not found"):
        config.tls.check()


def test_local_cluster_needs_a_worker():
    with pytest.raises(ClusterConfigError, match="at least 1 worker"):
        ClusterConfig(kind="local", workers=0)
    with pytest.raises(ClusterConfigError, match="unknown cluster kind"):
        ClusterConfig(kind="kubernetes")


def _job_script(kind: str, jq: JobQueueConfig) -> str:
    from guv_app.services.distributed.cluster import jobqueue_cluster

    cluster = jobqueue_cluster(kind, jq)
    try:
        return cluster.job_script()
    finally:
        cluster.close()


def test_slurm_job_script_carries_every_setting(tmp_path):
    path = tmp_path / "slurm.yaml"
    path.write_text(YAML)
    script = _job_script("slurm", load_jobqueue_config(path))
    lines = script.splitlines()
    assert lines[0].startswith("#!")
    for directive in ("#SBATCH -p gpu", "#SBATCH -A lab42", "#SBATCH -n 1",
                      "#SBATCH --cpus-per-task=8", "#SBATCH -t 02:00:00",
                      "#SBATCH --constraint=a100", "#SBATCH --gres=gpu:1"):
        assert directive in lines, (directive, script)
    assert "#SBATCH --mem=30G" in lines  # 32 GB in Slurm's GiB notation
    assert "source /shared/venvs/mcp/bin/activate" in lines
    worker = next(line for line in lines if "distributed.cli.dask_worker" in line)
    assert "--resources GPU=1" in worker and "--nthreads 8" in worker
    assert "--interface lo" in worker


@pytest.mark.parametrize("kind, directive", [
    ("pbs", "#PBS -l ngpus=2"), ("sge", "#$ -l gpu=2"), ("lsf", '#BSUB -gpu "num=2"'),
])
def test_other_batch_systems_ask_for_gpus_their_way(kind, directive):
    jq = JobQueueConfig(queue="q", gpus=2, walltime="00:30:00", interface="lo", tls=False)
    script = _job_script(kind, jq)
    assert directive in script.splitlines(), script
    assert "--resources GPU=2" in script
    if kind == "lsf":
        assert "#BSUB -W 00:30" in script  # LSF takes HH:MM


def test_tls_without_cryptography_is_a_clear_error():
    try:
        import cryptography  # noqa: F401
    except ImportError:
        with pytest.raises(ClusterConfigError, match="needs the 'cryptography' package"):
            _job_script("slurm", JobQueueConfig(interface="lo", tls=True))
    else:
        script = _job_script("slurm", JobQueueConfig(interface="lo", tls=True))
        assert "--tls-ca-file" in script and "tls://" in script


def test_default_tls_follows_what_is_installed():
    try:
        import cryptography  # noqa: F401
    except ImportError:
        script = _job_script("slurm", JobQueueConfig(interface="lo"))
        assert "--tls-" not in script and "tcp://" in script
    else:
        assert "--tls-ca-file" in _job_script("slurm", JobQueueConfig(interface="lo"))
