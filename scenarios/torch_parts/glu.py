"""glu mixing: Linear H -> 2H, then GLU (first half times sigmoid of the second)."""
from __future__ import annotations

from torch import nn

from scenarios.torch_parts.registry import register


@register("mixing", "glu")
class GLUMixing(nn.Sequential):
    MOUNT = "output_linear"          # keys layer.output_linear.0.*, the paper's

    def __init__(self, cfg):
        H = cfg.d_model
        super().__init__(nn.Linear(H, 2 * H), nn.GLU(dim=-1))

    def forward(self, a, y=None):
        return super().forward(a)
