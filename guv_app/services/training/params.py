"""The training settings, described once: ``TrainConfig``'s defaults and checks, the Ctrl+T
dialog's editors (Basic and Advanced tabs) and ``multicellpose train``'s flags all come from
this table. Torch-free."""

from __future__ import annotations

from guv_app.services.params import Param, by_name

BIG = 1_000_000
MODE_CHOICES = (
    ("lora", "LoRA adapters (small, fast)"),
    ("unfreeze", "Unfreeze last blocks"),
    ("head", "Readout heads only"),
)

BASIC_PARAMS: tuple[Param, ...] = (
    Param("mode", "choice", "lora",
          "LoRA: train small low-rank adapters in the last blocks (few parameters, the base "
          "model stays intact). Unfreeze: train the last blocks' weights directly. Readout "
          "heads only: fastest, least adaptable.", choices=MODE_CHOICES, label="Mode"),
    Param("blocks", "int", 4, "How many of the last encoder blocks are adapted or unfrozen",
          minimum=0, maximum=64, special="all", label="Blocks"),
    Param("epochs", "int", 100, "Passes over the training images. More epochs fit the data "
          "better and take longer; watch the validation loss", minimum=1, maximum=10000,
          label="Epochs"),
)

ADVANCED_PARAMS: tuple[Param, ...] = (
    Param("learning_rate", "float", 0.0, "Peak learning rate after warm-up (cosine decay "
          "after); 0 = the mode's default: 2e-4 for LoRA, 5e-5 for unfreezing, 1e-3 for "
          "heads only", minimum=0, maximum=1, step=1e-5, decimals=6, special="mode default",
          label="Learning rate", cli_flag="--lr"),
    Param("weight_decay", "float", 0.01, "AdamW weight decay (regularisation of the trained "
          "weights)", minimum=0, maximum=1, step=0.001, decimals=4, label="Weight decay"),
    Param("warmup_steps", "int", 0, "Steps of linear warm-up from lr/10 (0 = about 5 % of "
          "all steps)", minimum=0, maximum=BIG, special="auto", label="Warm-up steps"),
    Param("min_lr_fraction", "float", 0.05, "The cosine schedule ends at this fraction of "
          "the peak learning rate", minimum=0, maximum=1, step=0.01, decimals=3,
          label="Final LR fraction"),
    Param("batch_size", "int", 2, "Crops per training step; lower it if training runs out "
          "of memory", minimum=1, maximum=64, label="Batch size"),
    Param("bsize", "int", 256, "Side of the random square crops fed to the network; must be "
          "the network's crop size (256 for every backbone)", unit="px", minimum=64,
          maximum=1024, step=8, label="Crop size (bsize)"),
    Param("images_per_epoch", "int", 0, "Training crops drawn per epoch (0 = every training "
          "region once, at least 8)", minimum=0, maximum=BIG, special="all",
          label="Images per epoch"),
    Param("flow_weight", "float", 1.0, "Weight of the flow (dY, dX) loss in the total loss",
          minimum=0, maximum=100, step=0.1, decimals=3, label="Flow loss weight"),
    Param("cellprob_weight", "float", 1.0, "Weight of the cell-probability loss", minimum=0,
          maximum=100, step=0.1, decimals=3, label="Cell probability weight"),
    Param("class_weight", "float", 1.0, "Weight of the per-pixel class loss (multi-class "
          "head)", minimum=0, maximum=100, step=0.1, decimals=3, label="Class loss weight"),
    Param("class_weights", "text", "auto", "'auto' (inverse pixel frequency), 'none', or one "
          "number per class including background, comma-separated (e.g. 0.5, 1, 2)",
          label="Per-class weights"),
    Param("lora_rank", "int", 8, "Rank of the LoRA adapters: higher adapts more, trains more "
          "parameters", minimum=1, maximum=256, label="LoRA rank"),
    Param("lora_alpha", "float", 16.0, "LoRA scaling (alpha / rank multiplies the adapter "
          "output)", minimum=0.1, maximum=1024, step=1, decimals=2, label="LoRA alpha"),
    Param("lora_dropout", "float", 0.05, "Dropout on the LoRA adapter input during training",
          minimum=0, maximum=0.9, step=0.01, decimals=3, label="LoRA dropout"),
    Param("scale_range", "float", 0.5, "Random rescaling of crops by a factor in "
          "[1 - r/2, 1 + r/2]", minimum=0, maximum=2, step=0.05, decimals=2,
          label="Scale augmentation"),
    Param("rotate", "bool", True, "Random rotations and flips of the training crops",
          label="Rotate and flip"),
    Param("validate_every", "int", 5, "Epochs between validation losses and metrics (the "
          "last epoch always)", minimum=1, maximum=1000, label="Validate every (epochs)"),
    Param("checkpoint_every", "int", 1, "Epochs between checkpoints (a cancelled run always "
          "writes one)", minimum=1, maximum=1000, label="Checkpoint every (epochs)"),
    Param("seed", "int", 0, "Seed for crop order, augmentation and initialisation: the same "
          "seed and data give the same model", minimum=0, maximum=2**31 - 1,
          label="Random seed"),
    Param("device", "choice", "auto", "Where to train: auto picks a GPU (CUDA, Apple MPS) "
          "when there is one", choices=(("auto", "auto"), ("cpu", "cpu"), ("cuda", "cuda"),
                                        ("mps", "mps")), editable=True, label="Device"),
    Param("activation_checkpointing", "bool", False, "Keep only each trained block's input "
          "and recompute the block during the backward pass: less memory per "
          "step (vit_l, LoRA on the last 4 blocks, batch 2: peak 3.3 -> 2.8 GB), a little "
          "slower (those blocks run forward twice)",
          label="Activation checkpointing", cli_flag="--checkpointing"),
    Param("save_merged", "bool", False, "Write full merged weights beside the adapter "
          "(large; loads in plain Cellpose)", label="Also save merged weights"),
)

TRAIN_PARAMS = BASIC_PARAMS + ADVANCED_PARAMS
TRAIN = by_name(TRAIN_PARAMS)
