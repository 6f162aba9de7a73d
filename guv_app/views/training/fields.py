"""Editable training parameters described as data: one spec per setting, one editor each.

The dialog does not know the training service's types; the controller hands it plain dicts
(``{name: value}``) keyed by the same names as the service's ``TrainConfig`` fields, and
reads them back the same way. Ranges and tooltips live here, next to the editors.
"""

from __future__ import annotations

from dataclasses import dataclass

from PyQt6 import QtWidgets

BIG = 1_000_000


@dataclass(frozen=True)
class FieldSpec:
    """How to edit one setting: ``kind`` is int, float, bool, choice or text."""

    name: str
    label: str
    kind: str
    tooltip: str
    minimum: float = 0
    maximum: float = BIG
    step: float = 1
    decimals: int = 3
    special: str = ""  # text shown at the minimum (e.g. "auto" for 0)
    choices: tuple[tuple[str, str], ...] = ()  # (value, text) for kind "choice"
    editable: bool = False  # choice combo accepts other text (device names)


MODE_CHOICES = (
    ("lora", "LoRA adapters (small, fast)"),
    ("unfreeze", "Unfreeze last blocks"),
    ("head", "Readout heads only"),
)

BASIC_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("mode", "Mode", "choice",
              "LoRA: train small low-rank adapters in the last blocks (few parameters, the "
              "base model stays intact). Unfreeze: train the last blocks' weights directly. "
              "Readout heads only: fastest, least adaptable.", choices=MODE_CHOICES),
    FieldSpec("blocks", "Blocks", "int",
              "How many of the last encoder blocks are adapted or unfrozen (0 = all).",
              0, 64, special="all"),
    FieldSpec("epochs", "Epochs", "int",
              "Passes over the training images. More epochs fit the data better and take "
              "longer; watch the validation loss.", 1, 10000),
)

ADVANCED_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("learning_rate", "Learning rate", "float",
              "Peak learning rate after warm-up (cosine decay after). 'mode default': "
              "2e-4 for LoRA, 5e-5 for unfreezing, 1e-3 for heads only.",
              0, 1, 1e-5, 6, special="mode default"),
    FieldSpec("weight_decay", "Weight decay", "float",
              "AdamW weight decay (regularisation of the trained weights).", 0, 1, 0.001, 4),
    FieldSpec("warmup_steps", "Warm-up steps", "int",
              "Steps of linear warm-up from lr/10 (auto: about 5 % of all steps).",
              0, BIG, special="auto"),
    FieldSpec("min_lr_fraction", "Final LR fraction", "float",
              "The cosine schedule ends at this fraction of the peak learning rate.",
              0, 1, 0.01, 3),
    FieldSpec("batch_size", "Batch size", "int",
              "Crops per training step. Lower it if training runs out of memory.", 1, 64),
    FieldSpec("bsize", "Crop size (bsize)", "int",
              "Side of the random square crops fed to the network, in pixels; a multiple "
              "of 8 that must match the base network (256 for Cellpose-SAM).", 64, 1024, 8),
    FieldSpec("images_per_epoch", "Images per epoch", "int",
              "Training crops drawn per epoch (all: every training region once, at least 8).",
              0, BIG, special="all"),
    FieldSpec("flow_weight", "Flow loss weight", "float",
              "Weight of the flow (dY, dX) loss in the total loss.", 0, 100, 0.1, 3),
    FieldSpec("cellprob_weight", "Cell probability weight", "float",
              "Weight of the cell-probability loss.", 0, 100, 0.1, 3),
    FieldSpec("class_weight", "Class loss weight", "float",
              "Weight of the per-pixel class loss (multi-class head).", 0, 100, 0.1, 3),
    FieldSpec("class_weights", "Per-class weights", "text",
              "'auto' (inverse pixel frequency), 'none', or one number per class including "
              "background, comma-separated (e.g. 0.5, 1, 2)."),
    FieldSpec("lora_rank", "LoRA rank", "int",
              "Rank of the LoRA adapters: higher adapts more, trains more parameters.", 1, 256),
    FieldSpec("lora_alpha", "LoRA alpha", "float",
              "LoRA scaling (alpha / rank multiplies the adapter output).", 0.1, 1024, 1, 2),
    FieldSpec("lora_dropout", "LoRA dropout", "float",
              "Dropout on the LoRA adapter input during training.", 0, 0.9, 0.01, 3),
    FieldSpec("scale_range", "Scale augmentation", "float",
              "Random rescaling of crops by a factor in [1 - r/2, 1 + r/2].", 0, 2, 0.05, 2),
    FieldSpec("rotate", "Rotate and flip", "bool",
              "Random rotations and flips of the training crops."),
    FieldSpec("validate_every", "Validate every (epochs)", "int",
              "Epochs between validation losses and metrics (the last epoch always).", 1, 1000),
    FieldSpec("checkpoint_every", "Checkpoint every (epochs)", "int",
              "Epochs between checkpoints (a cancelled run always writes one).", 1, 1000),
    FieldSpec("seed", "Random seed", "int",
              "Seed for crop order, augmentation and initialisation: the same seed and data "
              "give the same model.", 0, 2**31 - 1),
    FieldSpec("device", "Device", "choice",
              "Where to train: auto picks a GPU (CUDA, Apple MPS) when there is one.",
              choices=(("auto", "auto"), ("cpu", "cpu"), ("cuda", "cuda"), ("mps", "mps")),
              editable=True),
    FieldSpec("save_merged", "Also save merged weights", "bool",
              "Write full merged weights beside the adapter (large; loads in plain Cellpose)."),
)


def make_editor(spec: FieldSpec) -> QtWidgets.QWidget:
    """A widget for ``spec`` named ``field_<name>`` with its range and tooltip set."""
    if spec.kind == "int":
        w: QtWidgets.QWidget = QtWidgets.QSpinBox()
        w.setRange(int(spec.minimum), int(spec.maximum))
        w.setSingleStep(int(spec.step))
        if spec.special:
            w.setSpecialValueText(spec.special)
    elif spec.kind == "float":
        w = QtWidgets.QDoubleSpinBox()
        w.setDecimals(spec.decimals)
        w.setRange(float(spec.minimum), float(spec.maximum))
        w.setSingleStep(float(spec.step))
        if spec.special:
            w.setSpecialValueText(spec.special)
    elif spec.kind == "bool":
        w = QtWidgets.QCheckBox()
    elif spec.kind == "choice":
        w = QtWidgets.QComboBox()
        w.setEditable(spec.editable)
        for value, text in spec.choices:
            w.addItem(text, value)
    elif spec.kind == "text":
        w = QtWidgets.QLineEdit()
    else:  # pragma: no cover - specs are static
        raise ValueError(f"unknown field kind {spec.kind!r}")
    w.setObjectName(f"field_{spec.name}")
    w.setToolTip(spec.tooltip)
    return w


def read_editor(w: QtWidgets.QWidget, spec: FieldSpec):
    """The editor's value as plain Python (int, float, bool or str)."""
    if spec.kind == "int":
        return int(w.value())
    if spec.kind == "float":
        return float(w.value())
    if spec.kind == "bool":
        return bool(w.isChecked())
    if spec.kind == "choice":
        data = w.currentData()
        text = w.currentText().strip()
        if spec.editable and w.currentIndex() >= 0 and text != w.itemText(w.currentIndex()):
            return text
        return str(data) if data is not None else text
    return w.text().strip()


def write_editor(w: QtWidgets.QWidget, spec: FieldSpec, value) -> None:
    """Show ``value`` in the editor (out-of-range numbers are clamped by Qt)."""
    if spec.kind == "int":
        w.setValue(int(value))
    elif spec.kind == "float":
        w.setValue(float(value))
    elif spec.kind == "bool":
        w.setChecked(bool(value))
    elif spec.kind == "choice":
        i = w.findData(str(value))
        if i >= 0:
            w.setCurrentIndex(i)
        elif spec.editable:
            w.setEditText(str(value))
    else:
        if isinstance(value, list | tuple):
            value = ", ".join(f"{float(v):g}" for v in value)
        w.setText(str(value))
