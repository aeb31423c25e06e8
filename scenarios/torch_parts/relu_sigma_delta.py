"""relu_sigma_delta activation: a sigma-delta sender with threshold 0 sends exactly ReLU(y), so it trains
as a plain ReLU (models/parts/sigma_delta.py holds the send threshold; the import sets it to 0)."""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from scenarios.torch_parts.registry import register


@register("activation", "relu_sigma_delta")
class ReLUSigmaDelta(nn.Module):
    def __init__(self, cfg):
        super().__init__()

    def forward(self, y):
        return F.relu(y)
