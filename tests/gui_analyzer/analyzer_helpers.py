"""Helpers for the Analyzer GUI tests (a unique module name: test folders share sys.path)."""

from __future__ import annotations

from pathlib import Path

DSB = Path(__file__).resolve().parents[1] / "data" / "labelled" / "dsb2018"


def tiny_settings(ctl) -> None:
    """The seeded ``tiny`` model finds objects on these images with these settings."""
    inf = ctl.window.inference
    inf.model.setCurrentIndex(inf.model.findText("tiny"))
    inf.cellprob_threshold.setValue(-2.0)
    inf.flow_threshold.setValue(0.0)
    inf.min_size.setValue(30)
