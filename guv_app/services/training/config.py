"""Training hyper-parameters: one dataclass shared by the GUI dialog and ``multicellpose train``.

Defaults aim at a first LoRA fine-tune of Cellpose-SAM on a few dozen labelled images: they
are what the CLI uses when a flag is left out, and what the dialog shows first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from guv_app.services.engine.finetune import FINETUNE_KINDS
from guv_app.services.params import check_values
from guv_app.services.training.params import TRAIN as _T
from guv_app.services.training.params import TRAIN_PARAMS

MODES = FINETUNE_KINDS  # what trains is what a saved fine-tune says it is (meta weights kind)
DEFAULT_LR = {"lora": 2e-4, "unfreeze": 5e-5, "head": 1e-3}


@dataclass
class TrainConfig:
    """Every training setting; defaults, ranges and help live in
    :mod:`guv_app.services.training.params` (shared with the dialog and the CLI)."""

    base_model: str = "cpsam"
    model_name: str = ""
    mode: str = _T["mode"].default  # "lora" | "unfreeze" | "head"
    blocks: int = _T["blocks"].default  # last N encoder blocks adapted/unfrozen (0 = all)
    lora_rank: int = _T["lora_rank"].default
    lora_alpha: float = _T["lora_alpha"].default
    lora_dropout: float = _T["lora_dropout"].default
    epochs: int = _T["epochs"].default
    batch_size: int = _T["batch_size"].default
    bsize: int = _T["bsize"].default  # px, random crop size fed to the network
    images_per_epoch: int = _T["images_per_epoch"].default  # 0 = every region once (>= 8)
    learning_rate: float = _T["learning_rate"].default  # 0 = DEFAULT_LR[mode]
    weight_decay: float = _T["weight_decay"].default
    warmup_steps: int = _T["warmup_steps"].default  # 0 = about 5 % of all steps
    min_lr_fraction: float = _T["min_lr_fraction"].default  # cosine decay ends here
    flow_weight: float = _T["flow_weight"].default
    cellprob_weight: float = _T["cellprob_weight"].default
    class_weight: float = _T["class_weight"].default
    class_weights: str | list[float] = "auto"  # "auto" (inverse pixel frequency) | "none" | list
    scale_range: float = _T["scale_range"].default  # scale augmentation: [1 - r/2, 1 + r/2]
    rotate: bool = _T["rotate"].default  # random rotation + flips
    validate_every: int = _T["validate_every"].default  # epochs between validations
    checkpoint_every: int = _T["checkpoint_every"].default  # epochs between checkpoints
    seed: int = _T["seed"].default
    device: str = _T["device"].default
    save_merged: bool = _T["save_merged"].default  # also write merged full weights (large)
    activation_checkpointing: bool = _T["activation_checkpointing"].default  # less memory
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        check_values(self, [p for p in TRAIN_PARAMS if p.name != "class_weights"])
        if self.bsize % 8:
            raise ValueError(f"bsize must be a multiple of 8 (patch size), got {self.bsize}")

    @property
    def lr(self) -> float:
        return self.learning_rate or DEFAULT_LR[self.mode]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
