"""Text for the training dialog: progress lines, metrics, the final summary, cancel notes."""

from __future__ import annotations

import html
import math

from guv_app.services.training.events import PixelMetrics, TrainEvent


def fmt_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "?"
    s = int(round(max(seconds, 0.0)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def status_text(ev: TrainEvent) -> str:
    text = (f"Epoch {min(ev.epoch + 1, ev.n_epochs)}/{ev.n_epochs} · step {ev.step}/"
            f"{ev.n_steps} · {fmt_duration(ev.elapsed_s)} elapsed")
    if ev.eta_s is not None and ev.kind not in ("done", "cancelled"):
        text += f" · ETA {fmt_duration(ev.eta_s)}"
    return text


def _num(v: float | None) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def metrics_html(ev: TrainEvent) -> str:
    m: PixelMetrics | None = ev.metrics
    parts = [f"<b>Validation after epoch {ev.epoch + 1}</b>: loss {_num(ev.val_loss)}"]
    if m is not None:
        parts += [f"F1 {_num(m.f1)}", f"IoU {_num(m.iou)}", f"precision {_num(m.precision)}",
                  f"recall {_num(m.recall)}", f"pixel accuracy {_num(m.accuracy)}"]
        if m.class_accuracy is not None:
            parts.append(f"class accuracy {_num(m.class_accuracy)}")
    return " · ".join(parts)


def summary_html(outcome) -> str:
    """Success: where the model is, AP at 0.5/0.75/0.9, per-class accuracy, time."""
    name = html.escape(outcome.model_name)
    lines = [f"<b>Model “{name}” trained and added to the model list.</b>"]
    metrics = outcome.metrics
    if metrics is not None and metrics.mean_ap:
        aps = " · ".join(f"AP@{t:g} <b>{_num(v)}</b>"
                         for t, v in zip(metrics.thresholds, metrics.mean_ap, strict=False))
        lines.append(f"Validation ({outcome.n_val} region(s)): {aps}")
        if metrics.per_class_accuracy:
            acc = ", ".join(f"{html.escape(k)} {_num(v)}"
                            for k, v in metrics.per_class_accuracy.items())
            lines.append(f"Per-class accuracy of matched objects: {acc}")
        elif metrics.class_accuracy is None:
            lines.append("Per-class accuracy: no matched objects with a class yet")
    else:
        lines.append("No validation images: AP not computed.")
    t = outcome.timings
    total = sum(v for v in t.values() if isinstance(v, int | float))
    steps = outcome.result.steps_done
    lines.append(
        f"Time {fmt_duration(total)} (data {fmt_duration(t.get('dataset_s'))}, training "
        f"{fmt_duration(t.get('train_s'))}, evaluation {fmt_duration(t.get('evaluate_s'))}); "
        f"{outcome.result.epochs_done} epoch(s), {steps} step(s), {outcome.n_train} training "
        f"region(s).")
    if outcome.model_dir is not None:
        lines.append(f"Saved in {html.escape(str(outcome.model_dir))}")
    return "<br>".join(lines)


def cancel_html(outcome) -> str:
    """What a cancelled run kept: no model in the list, the checkpoint of the last step."""
    r = outcome.result
    lines = [f"<b>Training cancelled</b> after {r.steps_done} step(s) "
             f"({r.epochs_done} complete epoch(s)). No model was added to the model list."]
    if r.steps_done:
        lines.append(f"Kept: a checkpoint of the run at step {r.steps_done} in "
                     f"{html.escape(str(r.checkpoint))}.")
    else:
        lines.append("Nothing was kept (cancelled before the first step).")
    lines.append("Your labels were not changed.")
    return "<br>".join(lines)
