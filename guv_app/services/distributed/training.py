"""One fine-tune on one Dask worker, watched and controlled from here.

The worker runs the very same :func:`run_training` as the Ctrl+T dialog and ``multicellpose
train`` (it reads ``train_dir`` itself, so the folder must be reachable from the worker: a
shared file system, or the same computer). From the client:

* progress: every :class:`TrainEvent` (epoch, step, losses, metrics, ETA) and every
  data-preparation step is sent with ``Worker.log_event`` on a per-run topic and handed to
  the caller's callbacks *in the caller's thread*, in order (a sequence number lets the
  final ``get_events`` fill any gap);
* cancel: a Dask ``Event`` named after the run, polled by the training loop every step
  (the loop only calls ``is_set()``) — the run stops within one step and keeps its
  checkpoint on the worker; ``resume=True`` continues from it;
* GPUs: ``gpus=N`` restricts the task to workers started with ``--resources GPU=N``;
* result: the trained model folder's files come back as bytes and land in the local
  registry with their ``meta.json`` (unless the worker already wrote them into this very
  registry, as a worker on this computer does).

Nothing but file names, settings, events and the finished model's files crosses the network.
"""

from __future__ import annotations

import itertools
import json
import logging
import queue
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from guv_app.services.datasets.builder import DatasetOptions
from guv_app.services.distributed.cluster import GPU_RESOURCE
from guv_app.services.progress import Progress
from guv_app.services.training.config import TrainConfig
from guv_app.services.training.events import TrainEvent
from guv_app.services.training.runner import TrainingOutcome
from guv_app.services.training.trainer import ProgressFn

log = logging.getLogger(__name__)

TOPIC_PREFIX = "multicellpose-train-"
POLL_S = 0.1


@dataclass
class WorkerTrainingResult:
    """What the worker sends back: the outcome (without the network) and the model files."""

    outcome: TrainingOutcome
    files: dict[str, bytes] = field(default_factory=dict)
    worker: str = ""


class _EventFlag:
    """``threading.Event``-like view of a Dask ``Event`` (only ``is_set`` is needed)."""

    def __init__(self, name: str) -> None:
        from distributed import Event

        self._event = Event(name)
        self._seen = False

    def is_set(self) -> bool:
        if not self._seen:
            self._seen = self._event.is_set()
        return self._seen


def train_on_worker(train_dir: str, config: TrainConfig, options: DatasetOptions | None,
                    resume: bool, run_id: str) -> WorkerTrainingResult:
    """The task: run the training on this worker, streaming events to ``run_id``'s topic."""
    from distributed import get_worker

    from guv_app.services.training.runner import run_training

    worker = get_worker()
    topic = TOPIC_PREFIX + run_id
    seq = itertools.count()

    def send(kind: str, payload: dict) -> None:
        worker.log_event(topic, {"seq": next(seq), "kind": kind, "data": payload})

    outcome = run_training(
        train_dir, config, options,
        progress=lambda event: send("train", event.to_dict()),
        dataset_progress=lambda d, t, m: send("dataset", {"done": d, "total": t, "msg": m}),
        cancel=_EventFlag(TOPIC_PREFIX + run_id + "-cancel"), resume=resume)
    outcome.result.net = None  # the network stays here; its saved files travel instead
    files = {}
    if outcome.model_dir is not None:
        files = {p.name: p.read_bytes() for p in sorted(Path(outcome.model_dir).iterdir())
                 if p.is_file()}
    return WorkerTrainingResult(outcome, files, worker.address)


class TrainingJob:
    """A training run submitted to a cluster: ``cancel()`` it, ``wait()`` for its outcome."""

    def __init__(self, client, train_dir: str | Path, config: TrainConfig,
                 options: DatasetOptions | None = None, *, resume: bool = False,
                 gpus: int = 0) -> None:
        self.client = client
        self.config = config
        self.run_id = f"{config.model_name}-{uuid.uuid4().hex[:12]}"
        self.topic = TOPIC_PREFIX + self.run_id
        self._inbox: queue.Queue = queue.Queue()
        self._last_seq = -1
        client.subscribe_topic(self.topic, self._inbox.put)
        resources = {GPU_RESOURCE: gpus} if gpus else None
        self.future = client.submit(train_on_worker, str(train_dir), config, options, resume,
                                    self.run_id, pure=False, retries=0, resources=resources,
                                    key=f"train-{self.run_id}")

    def cancel(self) -> None:
        """Ask the worker to stop after the current step (its checkpoint is kept)."""
        from distributed import Event

        Event(self.topic + "-cancel", client=self.client).set()

    def _deliver(self, messages, progress, dataset_progress) -> None:
        for message in sorted(messages, key=lambda m: m["seq"]):
            if message["seq"] <= self._last_seq:
                continue
            self._last_seq = message["seq"]
            data = message["data"]
            if message["kind"] == "train" and progress is not None:
                progress(TrainEvent.from_dict(data))
            elif message["kind"] == "dataset" and dataset_progress is not None:
                dataset_progress(data["done"], data["total"], data["msg"])

    def _drain(self, progress, dataset_progress) -> None:
        messages = []
        while True:
            try:
                messages.append(self._inbox.get_nowait()[1])
            except queue.Empty:
                break
        self._deliver(messages, progress, dataset_progress)

    def wait(self, progress: ProgressFn | None = None,
             dataset_progress: Progress | None = None,
             cancel: threading.Event | None = None) -> TrainingOutcome:
        """Block until the run ends, calling the callbacks here; ``cancel`` (a local flag,
        e.g. set by Ctrl+C or the dialog's button) is forwarded to the worker.

        Raises what the worker raised (``ValueError`` for a taken name or bad data, ...).
        """
        from distributed import wait as dask_wait

        forwarded = False
        try:
            while not self.future.done():
                if cancel is not None and cancel.is_set() and not forwarded:
                    self.cancel()
                    forwarded = True
                self._drain(progress, dataset_progress)
                try:
                    dask_wait(self.future, timeout=POLL_S)
                except TimeoutError:
                    pass
            self._drain(progress, dataset_progress)
            late = [msg for _, msg in self.client.get_events(self.topic)]
            self._deliver(late, progress, dataset_progress)
            remote: WorkerTrainingResult = self.future.result()
        finally:
            try:
                self.client.unsubscribe_topic(self.topic)
            except ValueError:
                pass
        outcome = remote.outcome
        if remote.files:
            outcome.model_dir = install_model(outcome.model_name, remote.files)
        log.info("training %s ran on %s", outcome.model_name, remote.worker)
        return outcome


def install_model(name: str, files: dict[str, bytes]) -> Path:
    """Put a model folder received from a worker into the local registry (atomically).

    When the worker shares this registry (same computer or file system) the folder is
    already there with the same ``meta.json``; nothing is written then.
    """
    from guv_app.services.engine import registry
    from guv_app.services.engine.errors import ModelNameError
    from guv_app.services.engine.meta import ModelMeta

    target = registry.model_dir(name)
    meta_bytes = files[registry.META_FILE]
    existing = target / registry.META_FILE
    if existing.is_file():
        if existing.read_bytes() == meta_bytes:
            return target
        raise ModelNameError(f"a different model named {name!r} appeared in {target.parent} "
                             "while training ran; the trained model was not installed")
    meta = ModelMeta.from_dict(json.loads(meta_bytes))
    others = {k: v for k, v in files.items() if k != registry.META_FILE}
    return registry.save_model(name, meta, files=others)


def train_on_cluster(client, train_dir: str | Path, config: TrainConfig,
                     options: DatasetOptions | None = None, *,
                     progress: ProgressFn | None = None,
                     dataset_progress: Progress | None = None,
                     cancel: threading.Event | None = None, resume: bool = False,
                     gpus: int = 0) -> TrainingOutcome:
    """:func:`run_training` on one worker of ``client``'s cluster, with the same callbacks.

    The name is checked against the local registry before anything is submitted, so a taken
    name fails at once (``ValueError``), as it does locally.
    """
    from guv_app.services.engine import registry

    registry.validate_name(config.model_name)
    if not registry.is_name_free(config.model_name):
        raise ValueError(f"model name {config.model_name!r} is taken; choose another")
    job = TrainingJob(client, train_dir, config, options, resume=resume, gpus=gpus)
    return job.wait(progress, dataset_progress, cancel)
