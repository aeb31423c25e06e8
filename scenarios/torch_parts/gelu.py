"""gelu activation (the S4D baseline): graded, not spiking."""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from scenarios.torch_parts.registry import register


@register("activation", "gelu")
class GELU(nn.Module):
    def __init__(self, cfg):
        super().__init__()

    def forward(self, y):
        return F.gelu(y)
