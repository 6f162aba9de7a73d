"""The training service's progress events drawn on the dialog's progress panel.

Kept apart from the controller because it is the one place that reads ``TrainEvent`` /
``Step`` reports: the loss curve (step losses, epoch losses, the interrupted run's epochs
before a resume), the metrics, the progress bar and the log lines. Reports arrive in
batches from the worker (:class:`~guv_app.controllers.task_runner.TaskRunner`), so one
batch is one redraw; step events may be coalesced, every other kind is urgent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from guv_app.controllers import training_format as fmt
from guv_app.controllers.task_runner import Step
from guv_app.services.training.events import TrainEvent

if TYPE_CHECKING:
    from guv_app.views.training.progress_panel import ProgressPanel


def is_urgent(item) -> bool:
    """Everything but a training step is delivered at once (steps may wait for a batch)."""
    return not (isinstance(item, TrainEvent) and item.kind == "step")


def show_events(panel: ProgressPanel, batch: list) -> None:
    """Draw one batch of reports on ``panel`` (the dialog's progress panel): dataset
    preparation steps, step losses (x in epochs), epoch losses and metrics, the status of
    the last event and one log line per epoch or stage."""
    xs: list[float] = []
    ys: list[float] = []
    lines: list[str] = []
    last_ev: TrainEvent | None = None
    for item in batch:
        if isinstance(item, Step):  # building the training set
            panel.set_progress(item.done, item.total,
                               f"Preparing the training data: {item.message} "
                               f"({item.done}/{item.total})")
            continue
        if not isinstance(item, TrainEvent):
            continue
        last_ev = item
        per_epoch = item.n_steps / max(item.n_epochs, 1)
        if item.kind == "step" and item.train_loss is not None:
            xs.append(item.step / max(per_epoch, 1e-9))
            ys.append(float(item.train_loss))
        elif item.kind == "epoch":
            panel.add_epoch(item.epoch + 1, item.train_loss, item.val_loss)
            if item.val_loss is not None or item.metrics is not None:
                panel.set_metrics(fmt.metrics_html(item))
            lines.append(item.line())
        elif item.kind in ("start", "done", "cancelled", "validation", "checkpoint"):
            lines.append(f"{item.kind}: {item.message}" if item.message else item.kind)
    if xs:
        panel.add_step_losses(xs, ys)
    if last_ev is not None:
        text = fmt.status_text(last_ev)
        if last_ev.kind == "done":
            text += " · evaluating and saving…"
        panel.set_progress(last_ev.step, last_ev.n_steps, text)
    panel.append_log(lines)


def show_resumed_curve(panel: ProgressPanel, name: str, curve_of: str) -> None:
    """The curve continues where run ``name`` stopped: keep this session's points (the
    panel shows ``curve_of``'s curve), or draw the interrupted run's epoch losses (another
    session) before new steps arrive."""
    from guv_app.services.training.runner import interrupted_run

    if curve_of == name and panel.n_points()["step"]:
        return
    panel.clear()
    run = interrupted_run(name)
    for row in (run.rows if run is not None else []):
        panel.add_epoch(int(row.get("epoch", 0)), row.get("train_loss"), row.get("val_loss"))
