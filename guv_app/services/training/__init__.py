"""Fine-tuning Cellpose-SAM with classes: LoRA (peft) / unfrozen blocks / head only.

Entry points: :func:`guv_app.services.training.runner.run_training` (dataset -> train ->
evaluate -> registry), :func:`.trainer.train_network` (the loop alone),
:func:`.evaluate.evaluate_folder`. Configuration in :class:`.config.TrainConfig`, progress
as :class:`.events.TrainEvent`. torch/peft/cellpose are imported inside functions.
"""

from guv_app.services.training.config import TrainConfig
from guv_app.services.training.events import PixelMetrics, TrainEvent

__all__ = ["PixelMetrics", "TrainConfig", "TrainEvent"]
