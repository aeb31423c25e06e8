"""batch and layer norm over the H channels of (B, L, H), and none; held as ``norm`` (keys ``norm.norm.*``)."""
from __future__ import annotations

from torch import nn

from scenarios.torch_parts.registry import register


@register("norm", "batch")
class BatchNorm(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.norm = nn.BatchNorm1d(cfg.d_model)

    def forward(self, x):
        return self.norm(x.transpose(1, 2)).transpose(1, 2)     # BatchNorm1d wants channels second


@register("norm", "layer")
class LayerNorm(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.norm = nn.LayerNorm(cfg.d_model)

    def forward(self, x):
        return self.norm(x)


@register("norm", "none")
class NoNorm(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.norm = nn.Identity()

    def forward(self, x):
        return x
