"""Loss = flow MSE + cellprob BCE + class cross-entropy, each with its own weight.

Same scaling as upstream Cellpose (flows x5, MSE halved; BCE with logits on cellprob) so the
pretrained readout starts from the loss it was trained on. The class term ignores pixels of
objects without a class (-1) and can weight classes (auto: inverse pixel frequency).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LossParts:
    total: object  # torch scalar (keeps the graph)
    flow: float
    cellprob: float
    classes: float


def compute_loss(y, flows, cellprob, classes, *, flow_weight: float = 1.0,
                 cellprob_weight: float = 1.0, class_weight: float = 1.0,
                 class_weights=None) -> LossParts:
    """``y`` (B, n_cls+3, H, W) network output; targets as torch tensors on y's device."""
    import torch
    import torch.nn.functional as F

    flow_loss = F.mse_loss(y[:, -3:-1], 5.0 * flows) / 2.0
    cp_loss = F.binary_cross_entropy_with_logits(y[:, -1], cellprob)
    total = flow_weight * flow_loss + cellprob_weight * cp_loss
    cls_value = 0.0
    if y.shape[1] > 3 and class_weight > 0 and (classes >= 0).any():
        cls_loss = F.cross_entropy(y[:, :-3], classes, weight=class_weights, ignore_index=-1)
        if torch.isfinite(cls_loss):
            total = total + class_weight * cls_loss
            cls_value = float(cls_loss.detach())
    return LossParts(total, float(flow_loss.detach()), float(cp_loss.detach()), cls_value)
