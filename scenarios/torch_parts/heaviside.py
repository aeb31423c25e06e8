"""heaviside activation (Binary S4D): s = 1[y > 0], arctan surrogate in training."""
from __future__ import annotations

from torch import nn

from scenarios.torch_parts.registry import register
from scenarios.torch_parts.surrogate import spike


@register("activation", "heaviside")
class Heaviside(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.alpha = cfg.surrogate_alpha

    def forward(self, y):
        return spike(y, self.alpha)
