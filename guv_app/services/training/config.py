"""Training hyper-parameters: one dataclass shared by the GUI dialog and ``multicellpose train``.

Defaults aim at a first LoRA fine-tune of Cellpose-SAM on a few dozen labelled images: they
are what the CLI uses when a flag is left out, and what the dialog shows first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from guv_app.services.engine.finetune import FINETUNE_KINDS

MODES = FINETUNE_KINDS  # what trains is what a saved fine-tune says it is (meta weights kind)
DEFAULT_LR = {"lora": 2e-4, "unfreeze": 5e-5, "head": 1e-3}


@dataclass
class TrainConfig:
    base_model: str = "cpsam"
    model_name: str = ""
    mode: str = "lora"  # "lora" | "unfreeze" | "head"
    blocks: int = 4  # last N encoder blocks adapted/unfrozen (0 = all)
    lora_rank: int = 8
    lora_alpha: float = 16.0
    lora_dropout: float = 0.05
    epochs: int = 100
    batch_size: int = 2
    bsize: int = 256  # random crop size fed to the network
    images_per_epoch: int = 0  # 0 = every training region once per epoch (at least 8)
    learning_rate: float = 0.0  # 0 = DEFAULT_LR[mode]
    weight_decay: float = 0.01
    warmup_steps: int = 0  # 0 = about 5 % of all steps; warm-up starts at lr/10, not 0
    min_lr_fraction: float = 0.05  # cosine decay ends at this fraction of the peak LR
    flow_weight: float = 1.0
    cellprob_weight: float = 1.0
    class_weight: float = 1.0
    class_weights: str | list[float] = "auto"  # "auto" (inverse pixel frequency) | "none" | list
    scale_range: float = 0.5  # scale augmentation: x in [1 - r/2, 1 + r/2]
    rotate: bool = True  # random rotation + flips
    validate_every: int = 5  # epochs between validation loss + pixel metrics
    checkpoint_every: int = 1  # epochs between checkpoints
    seed: int = 0
    device: str = "auto"
    save_merged: bool = False  # also write merged full weights (large)
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        for name in ("epochs", "batch_size", "bsize", "validate_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.bsize % 8:
            raise ValueError(f"bsize must be a multiple of 8 (patch size), got {self.bsize}")
        if self.learning_rate < 0 or self.weight_decay < 0:
            raise ValueError("learning_rate and weight_decay must be non-negative")

    @property
    def lr(self) -> float:
        return self.learning_rate or DEFAULT_LR[self.mode]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
