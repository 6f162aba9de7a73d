"""Constants of the training-dialog tests (a unique module name: test folders share
sys.path)."""

from __future__ import annotations

from pathlib import Path

DSB = Path(__file__).resolve().parents[1] / "data" / "labelled" / "dsb2018"
STEMS = ("fluorescence_00071198d059", "fluorescence_573e1480b500",
         "fluorescence_ff3e512b5fb8")
CLASS_NAMES = ["background", "small", "large"]
CLASS_COLORS = [(0, 0, 0), (230, 159, 0), (86, 180, 233)]

# A run that takes seconds on a CPU: tiny backbone, 2 epochs of 2 steps, 1 validation image.
FAST = {
    "base_model": "tiny", "mode": "lora", "blocks": 1, "epochs": 2, "batch_size": 2,
    "images_per_epoch": 4, "bsize": 256, "validate_every": 1, "device": "cpu",
    "val_mode": "split", "val_ratio": 0.34, "val_seed": 0,
}


def answer_question(qtbot, window, choice: str) -> str:
    """Click ``choice`` on the Trainer window's pending question (a real mouse click) and
    return the question's text."""
    from PyQt6 import QtCore

    qtbot.waitUntil(lambda: window.question_box is not None, timeout=3000)
    box = window.question_box
    text = box.text()
    button = next(b for b in box.buttons() if b.text().replace("&", "") == choice)
    qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)
    return text
