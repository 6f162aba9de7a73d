"""Settings are checked where they are typed (CLI flags, GUI editors, service dataclasses),
from one definition, and ``--help`` shows every default and unit."""

from __future__ import annotations

import argparse

import pytest

from guv_app.cli.main import build_parser, main
from guv_app.services.engine.inference import SegmentParams
from guv_app.services.engine.params import INFERENCE_PARAMS


@pytest.mark.parametrize("field,value", [("diameter", -3.0), ("min_size", -1), ("niter", -5),
                                         ("tile_overlap", 0.5), ("batch_size", 0),
                                         ("flow_threshold", -0.1)])
def test_service_refuses_out_of_range(field, value):
    with pytest.raises(ValueError, match=field.replace("_", " ")):
        SegmentParams(**{field: value})


def test_zero_means_auto_and_defaults_come_from_the_table():
    p = SegmentParams(diameter=0, niter=0)
    assert p.diameter is None and p.niter is None
    for spec in INFERENCE_PARAMS:
        assert getattr(SegmentParams(), spec.name) == spec.default


@pytest.mark.parametrize("flag,value,words", [("--diameter", "-3", "0 <= value <= 10000 px, got -3"),
                                              ("--min-size", "-1", "px²"),
                                              ("--tile-overlap", "0.7", "< 0.5")])
def test_cli_rejects_bad_values_before_any_work(tmp_path, capsys, flag, value, words):
    with pytest.raises(SystemExit) as exc:
        main(["predict", "--model", "tiny", "--input", str(tmp_path), flag, value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert flag in err and words in err and "Traceback" not in err


def test_missing_weights_file_is_an_error_not_a_search(tmp_path, capsys):
    from guv_app.services.engine import weights
    from guv_app.services.engine.errors import WeightsUnavailableError

    with pytest.raises(SystemExit):
        main(["predict", "--model", "cpsam", "--input", str(tmp_path),
              "--weights", str(tmp_path / "cpsam_typo")])
    assert "cpsam_typo: file not found" in capsys.readouterr().err
    with pytest.raises(WeightsUnavailableError, match="cpsam_typo: weights file not found"):
        weights.ensure_cpsam_weights(tmp_path / "cpsam_typo")


def test_crop_size_checked_before_data_preparation(tmp_path, capsys):
    folder = tmp_path / "empty"  # would fail much later (no labels) if bsize passed
    folder.mkdir()
    code = main(["train", "--train-dir", str(folder), "--model-name", "x", "--base-model",
                 "tiny", "--bsize", "128", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "bsize 128 px cannot be used" in err and "256" in err
    code = main(["train", "--train-dir", str(folder), "--model-name", "x", "--base-model",
                 "tiny", "--tile-size", "100", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "tile size 100 px is smaller than the 256 px" in err
    code = main(["train", "--train-dir", str(folder), "--model-name", "x", "--test-ratio",
                 "1.5", "--min-objects", "1"])
    assert code == 2 and "validation share" in capsys.readouterr().err


def test_help_shows_every_default_and_unit():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        text = command.format_help()
        for action in command._actions:
            if not action.option_strings or action.default in (None, False,
                                                               argparse.SUPPRESS):
                continue
            assert action.help, f"{name} {action.option_strings[0]} has no help"
            helptext = command._get_formatter()._expand_help(action)
            assert "default" in helptext, f"{name} {action.option_strings[0]}: {helptext}"
        if name == "predict":
            assert "[px]" in text and "[px²]" in text
        if name == "train":
            assert "--bsize PX" in text and "--lr FLOAT" in text and "--rotate" in text
