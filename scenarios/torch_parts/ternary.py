"""ternary activation (the GSU's spikes): 1[y - d > 0] - 1[-y - d > 0], d = ratio x max_h |y|."""
from __future__ import annotations

from torch import nn

from scenarios.torch_parts.registry import register
from scenarios.torch_parts.surrogate import spike


def ternary_spike(y, frac=0.15, alpha=2.0):
    """d per (sample, t); detached: it acts as a constant in the surrogate gradient."""
    d = frac * y.abs().amax(dim=-1, keepdim=True).detach()
    return spike(y - d, alpha) - spike(-y - d, alpha)


@register("activation", "ternary")
class Ternary(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ratio, self.alpha = cfg.gsu_threshold, cfg.surrogate_alpha

    def forward(self, y):
        return ternary_spike(y, self.ratio, self.alpha)
