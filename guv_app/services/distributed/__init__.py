"""Run the same services on a Dask cluster: local worker processes, an existing scheduler,
or Slurm/PBS/SGE/LSF through dask-jobqueue.

* :mod:`.config` — where to run (plain dataclasses, YAML for batch queues);
* :mod:`.cluster` — start/reach the cluster and open a ``Client`` (127.0.0.1 by default);
* :mod:`.executor` — the ``concurrent.futures`` executor the batch runner submits items to,
  and the per-worker model-load counts;
* :mod:`.training` — one training run on one worker, progress streamed back, cancel/resume.

``distributed`` is imported only inside these modules, so the CLI and GUI start without it.
"""
