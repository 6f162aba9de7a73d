"""The small parts: batching with a fake clock, error messages, settings <-> config, fields,
merging a prediction's classes, and a worker that fails never stays "running"."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest


def test_batcher_groups_fast_items_and_flushes_urgent_ones():
    from guv_app.controllers.task_runner import Batcher

    now = [0.0]
    out: list[list] = []
    b = Batcher(out.append, 0.05, urgent=lambda item: item == "epoch", clock=lambda: now[0])
    for i in range(1000):  # 1000 steps within 0.1 s
        now[0] = i * 1e-4
        b(i)
    b("epoch")
    assert [x for batch in out for x in batch] == [*range(1000), "epoch"]
    assert len(out) <= 4  # at most one delivery per 50 ms of (fake) time, plus the urgent
    now[0] = 10.0
    b("late")
    assert out[-1] == ["late"]
    b.flush()
    assert b.n_emits == len(out)


def test_describe_error_one_readable_line():
    from guv_app.controllers.training_errors import describe_error
    from guv_app.services.engine.errors import ModelNotFoundError, WeightsUnavailableError

    oom = describe_error(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB\n..."))
    assert oom.startswith("Out of memory.") and "batch size" in oom and "\n" not in oom
    assert describe_error(MemoryError()).startswith("Out of memory.")
    assert describe_error(WeightsUnavailableError("cpsam weights not found")).startswith(
        "Pretrained weights are missing: cpsam weights not found")
    assert describe_error(ModelNotFoundError("no model named 'x'")) == "no model named 'x'"
    assert describe_error(ValueError("a\n  b")) == "a b"
    weird = describe_error(KeyError("boom"))
    assert weird.startswith("Unexpected error (KeyError)")
    assert len(describe_error(ValueError("x" * 5000))) <= 600


def test_every_training_parameter_has_an_editor(qtbot):
    from guv_app.controllers.training_label_set import label_set_specs
    from guv_app.controllers.training_settings import default_values
    from guv_app.controllers.training_values import config_from_values, field_specs
    from guv_app.services.training.config import TrainConfig
    from guv_app.services.training.params import ADVANCED_PARAMS, BASIC_PARAMS, TRAIN_PARAMS
    from guv_app.views.training.dialog import TrainingDialog

    d = TrainingDialog(basic_fields=field_specs(BASIC_PARAMS),
                       advanced_fields=field_specs(ADVANCED_PARAMS) + label_set_specs())
    qtbot.addWidget(d)
    d.basic.set_base_models(["cpsam", "tiny"])
    fields = {f.name for f in dataclasses.fields(TrainConfig)} - {"extra"}
    values = d.values()
    assert fields <= set(values)
    for name in fields - {"model_name", "base_model"}:
        w = d.findChild(type(d.advanced.editors.get(name) or d.basic.editors[name]),
                        f"field_{name}")
        assert w is not None and w.toolTip(), name
    # one definition: each editor's range and help are the CLI flag's
    for p in TRAIN_PARAMS:
        w = d.advanced.editors.get(p.name) or d.basic.editors[p.name]
        assert p.help.split(";")[0] in w.toolTip(), p.name
        if p.kind in ("int", "float"):
            assert (w.minimum(), w.maximum()) == pytest.approx((p.minimum, p.maximum)), p.name
            assert getattr(TrainConfig(), p.name) == p.default
    # the service's defaults survive a round trip through the widgets
    defaults = default_values()
    d.set_values(defaults)
    back = d.values()
    for k, v in defaults.items():
        assert back[k] == pytest.approx(v) if isinstance(v, float) else back[k] == v, k
    cfg, opts = config_from_values({**back, "model_name": "m", "class_weights": "1, 2 3"})
    assert cfg.class_weights == [1.0, 2.0, 3.0] and opts.test_ratio == pytest.approx(0.2)
    assert opts.label_channel is None and opts.input_channels == "same"  # the shared set
    d.advanced.editors["label_channel"].setValue(1)
    assert config_from_values({**d.values(), "model_name": "m"})[1].network_channels == [1]
    assert cfg.to_dict() == TrainConfig(**{**TrainConfig().to_dict(), "model_name": "m",
                                          "class_weights": [1.0, 2.0, 3.0]}).to_dict()


def test_config_errors_are_messages(tmp_path):
    from guv_app.controllers.training_values import config_from_values

    with pytest.raises(ValueError, match="bsize must be a multiple of 8"):
        config_from_values({"bsize": 100})
    with pytest.raises(ValueError, match="per-class weights"):
        config_from_values({"class_weights": "1, lots"})
    with pytest.raises(ValueError, match="validation folder does not exist"):
        config_from_values({"val_mode": "folder", "val_folder": str(tmp_path / "nope")})
    _, opts = config_from_values({"val_mode": "folder", "val_folder": str(tmp_path)})
    assert opts.test_dir == tmp_path


def test_suggested_names_are_free_and_safe(tmp_path):
    from guv_app import paths
    from guv_app.controllers.training_names import suggest_name

    folder = tmp_path / "my images (2024)"
    assert suggest_name(folder, "tiny") == "my_images_2024-tiny"
    (paths.models_dir() / "my_images_2024-tiny").mkdir()
    assert suggest_name(folder, "tiny") == "my_images_2024-tiny-2"


def test_merge_prediction_classes_by_name():
    from guv_app.controllers.training_attach import merge_classes

    names, colors, classes = merge_classes(
        ["background", "large", "small"], [(0, 0, 0), (1, 1, 1), (2, 2, 2)],
        ["background", "small", "dead"], [(0, 0, 0), (9, 9, 9), (7, 7, 7)],
        np.array([0, 1, 2, 1, 0]))
    assert names == ["background", "large", "small", "dead"]
    assert colors[3] == (7, 7, 7) and colors[2] == (2, 2, 2)
    assert classes.tolist() == [0, 2, 3, 2, 0]


def test_failing_job_reports_and_the_runner_is_free_again(qtbot):
    from guv_app.controllers.task_runner import TaskRunner

    runner = TaskRunner()
    seen: list = []
    runner.progress.connect(seen.extend)

    def bad(report, cancel: threading.Event):
        report("first")
        raise RuntimeError("CUDA out of memory")

    with qtbot.waitSignal(runner.failed, timeout=10_000) as sig:
        runner.start(bad)
        with pytest.raises(RuntimeError, match="already running"):
            runner.start(bad)
    assert sig.args[0].startswith("Out of memory.") and not runner.running
    assert seen == ["first"]

    def until_cancelled(report, cancel: threading.Event):
        n = 0
        while not cancel.wait(0.001):
            n += 1
            report(n)
        return n

    with qtbot.waitSignal(runner.finished, timeout=10_000) as sig:
        runner.start(until_cancelled)
        qtbot.waitUntil(lambda: len(seen) > 5, timeout=10_000)
        runner.cancel()
    assert sig.args[0] >= 5 and runner.wait(10)
    assert seen[1:] == list(range(1, sig.args[0] + 1))  # every item, in order


def test_service_progress_arrives_batched_and_the_last_step_is_never_lost(qtbot):
    """What prediction and measurement use: a service's progress(done, total, message)
    becomes Step items, delivered in a few batches, the final 1000/1000 included; a
    failure gives the same one-line text on every path."""
    from guv_app.controllers.task_runner import Step, TaskRunner, last_step, step_reporter
    from guv_app.controllers.training_errors import describe_error

    runner = TaskRunner()
    batches: list[list] = []
    runner.progress.connect(batches.append)

    def fast_loop(report, cancel: threading.Event):
        progress = step_reporter(report)
        for i in range(1, 1001):
            progress(i, 1000, f"image {i}")
        return "done"

    with qtbot.waitSignal(runner.finished, timeout=10_000) as sig:
        runner.start(fast_loop)
    assert sig.args[0] == "done" and runner.wait(10)
    items = [item for batch in batches for item in batch]
    assert items == [Step(i, 1000, f"image {i}") for i in range(1, 1001)]
    assert len(batches) < 100  # not one signal per call
    assert last_step(batches[-1]) == Step(1000, 1000, "image 1000")

    missing = FileNotFoundError(2, "No such file or directory", "/data/plate1/a.tif")

    def broken(report, cancel: threading.Event):
        raise missing

    with qtbot.waitSignal(runner.failed, timeout=10_000) as sig:
        runner.start(broken)
    assert sig.args[0] == describe_error(missing) and "/data/plate1/a.tif" in sig.args[0]
    assert runner.wait(10)
