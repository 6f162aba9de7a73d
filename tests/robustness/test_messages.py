"""Refused weights and checkpoints are one line naming the file (never torch's advice to turn
``weights_only`` off); text from users' files is written to CSV spreadsheet-safe."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from cellpose_io.csv_cells import spreadsheet_safe
from guv_app.services.engine.errors import ModelLoadError
from guv_app.services.engine.loading import read_state_dict
from guv_app.services.measurement.tables import csv_text
from guv_app.services.training.checkpoint import load_checkpoint

REFUSED = ("refused {what}: Trying to load unsupported GLOBAL posix.system whose module posix "
           "is blocked (only plain tensors are loaded, for safety)")


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


@pytest.fixture()
def evil(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(2), "x": _Payload()}, path)
    return path


def test_refused_weights_file_is_one_line(evil):
    with pytest.raises(ModelLoadError) as info:
        read_state_dict(evil)
    assert str(info.value) == f"{evil}: " + REFUSED.format(what="weights file")


def test_refused_lora_weights_are_one_line(evil):
    from guv_app.services.engine.finetune import _load_file

    with pytest.raises(ModelLoadError) as info:
        _load_file(evil)
    assert str(info.value) == f"{evil}: " + REFUSED.format(what="weights file")


def test_refused_checkpoint_is_one_line(evil):
    with pytest.raises(ValueError) as info:
        load_checkpoint(evil)
    assert str(info.value) == f"{evil}: " + REFUSED.format(what="checkpoint")


def test_truncated_weights_name_the_file_without_advice(evil, tmp_path):
    cut = tmp_path / "cut.pt"
    cut.write_bytes(evil.read_bytes()[:200])
    with pytest.raises(ModelLoadError) as info:
        read_state_dict(cut)
    text = str(info.value)
    assert text.startswith(f"{cut}: not a readable weights file (")
    assert "weights_only" not in text and "\n" not in text


@pytest.mark.parametrize("text,written", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1+1", "'+1+1"),
    ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("cells.tif", "cells.tif"), ("", ""), ("a=b", "a=b"),
])
def test_spreadsheet_safe_text(text, written):
    assert spreadsheet_safe(text) == written


def test_csv_text_quotes_formulas_but_keeps_numbers():
    table = {"image": np.array(["=cmd|' /C calc'!A0", "ok.tif"], dtype=object),
             "object_id": np.array([1, 2]), "delta": np.array([-1.5, 2.0]),
             "class_name": np.array(["@evil", "-neg"], dtype=object)}
    assert csv_text([table]).splitlines() == [
        "image,object_id,delta,class_name",
        "'=cmd|' /C calc'!A0,1,-1.5,'@evil",
        "ok.tif,2,2.0,'-neg",
    ]
