"""gsu mixing (the Gated Spiking Unit): P = s @ GSU + bias, gate g = y @ ternary(GSU), GELU(LayerNorm(P g))."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from scenarios.torch_parts.registry import register


def ternary_weight(w, frac=0.15):
    """1[w - d > 0] - 1[-w - d > 0], d = frac * max |w|; straight-through gradient."""
    d = frac * w.abs().max().detach()
    wt = (w - d > 0).to(w.dtype) - (-w - d > 0).to(w.dtype)
    return w + (wt - w).detach()


@register("mixing", "gsu")
class GSUMixing(nn.Module):
    MOUNT = None     # the paper keeps these on the layer itself: layer.GSU, layer.GSU_bias, layer.norm.*

    def __init__(self, cfg):
        super().__init__()
        H = cfg.d_model
        self.ratio = cfg.gsu_threshold
        self.GSU = nn.Parameter(torch.randn(H, H) / math.sqrt(H))
        self.GSU_bias = nn.Parameter(torch.zeros(H))
        self.norm = nn.LayerNorm(H)

    def forward(self, s, y):
        P = s @ self.GSU + self.GSU_bias                         # row vector times W
        g = y @ ternary_weight(self.GSU, self.ratio)             # gate from real-valued y
        return F.gelu(self.norm(P * g))
