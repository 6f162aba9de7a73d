"""The inference settings, described once (Cellpose-SAM's defaults): the Analyzer's form,
``multicellpose predict``'s flags and :class:`~guv_app.services.engine.inference.
SegmentParams`' checks come from this table. Torch-free so ``--help`` stays fast."""

from __future__ import annotations

from guv_app.services.params import Param, by_name

INFERENCE_PARAMS: tuple[Param, ...] = (
    Param("diameter", "float", None, "typical object diameter; images are rescaled so "
          "objects match the model's", unit="px", minimum=0, maximum=10000,
          auto="the model's (0 also means this)", step=1, decimals=1),
    Param("flow_threshold", "float", 0.4, "largest flow error an object may have "
          "(0 turns the check off)", minimum=0, maximum=10, step=0.05),
    Param("cellprob_threshold", "float", 0.0, "cell probability threshold (logit); lower "
          "keeps more pixels", minimum=-20, maximum=20, step=0.5, label="cellprob threshold"),
    Param("niter", "int", None, "flow-following iterations", minimum=0, maximum=100000,
          auto="200 scaled by the rescale factor (0 also means this)"),
    Param("min_size", "int", 15, "objects smaller than this are removed", unit="px²",
          minimum=0, maximum=10**8, label="min size"),
    Param("tile_overlap", "float", 0.1, "overlap of neighbouring tiles, as a fraction of "
          "the tile", minimum=0, maximum=0.5, below_max=True, step=0.05),
    Param("batch_size", "int", 8, "tiles per network pass (lower it when memory runs out)",
          minimum=1, maximum=1024),
    Param("dtype", "choice", "bfloat16", "precision of the network's weights and "
          "activations; bfloat16 is Cellpose's default (half the weights' memory, faster "
          "on GPUs and recent CPUs), float32 gives bit-exact upstream float32 results",
          choices=(("bfloat16", "bfloat16"), ("float32", "float32")), label="precision"),
)
INFERENCE = by_name(INFERENCE_PARAMS)
