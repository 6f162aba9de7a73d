"""One progress display for every CLI command, through tqdm.

tqdm gives the rate and ETA users know from other tools; without a terminal (Slurm, PBS and
nohup logs) it still prints, only less often, so a log shows how far a job got.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm

from guv_app.services.progress import Progress

#: Seconds between redraws on a terminal and between lines in a log file.
TTY_INTERVAL_S = 0.2
LOG_INTERVAL_S = 10.0


@contextmanager
def cli_progress(desc: str, unit: str = "image") -> Iterator[Progress]:
    """Yield a :data:`~guv_app.services.progress.Progress` that draws a tqdm bar on stderr.

    The bar's total follows the ``total`` of the latest call, so a service may report its
    item count late. The bar is closed (final line written) when the block ends.
    """
    tty = sys.stderr.isatty()
    bar = tqdm(
        desc=desc,
        unit=unit,
        file=sys.stderr,
        dynamic_ncols=tty,
        mininterval=TTY_INTERVAL_S if tty else LOG_INTERVAL_S,
        disable=False,
    )

    def progress(done: int, total: int, message: str) -> None:
        if bar.total != total:
            bar.total = total
        if message:
            bar.set_postfix_str(message, refresh=False)
        bar.update(max(done - bar.n, 0))

    try:
        yield progress
    finally:
        bar.close()
