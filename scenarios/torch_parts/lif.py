"""lif activation (SpikingSSMs-style): leaky integrate-and-fire over time, as models/parts/lif.py."""
from __future__ import annotations

import math

from torch import nn
import torch

from scenarios.torch_parts.registry import register


class LIFSpike(torch.autograd.Function):
    """v_t = beta v_{t-1} + y_t (v_{-1} = 0), s_t = 1[v_t > thr], then v_t -= thr (soft) or v_t = 0 (hard)
    where s_t = 1.

    Forward is the exact recurrence (same float operations as the simulator's reference). Backward: arctan
    surrogate dS/dv at v_t - thr and the reset detached (as snnTorch), so
    dL/dv_t = dL/ds_t * surr(v_t - thr) + beta * r_t * dL/dv_{t+1}, r_t = 1 (soft) or 1 - s_t (hard), and
    dL/dy_t = dL/dv_t.
    """

    @staticmethod
    def forward(ctx, y, beta, thr, hard, alpha):
        B, L, H = y.shape
        v = y.new_zeros(B, H)
        s = torch.empty_like(y)
        vs = torch.empty_like(y)
        for t in range(L):
            v = beta * v + y[:, t]
            vs[:, t] = v
            fired = v > thr
            s[:, t] = fired.to(y.dtype)
            v = torch.where(fired, torch.zeros_like(v) if hard else v - thr, v)
        ctx.save_for_backward(vs, s)
        ctx.beta, ctx.thr, ctx.hard, ctx.alpha = beta, thr, hard, alpha
        return s

    @staticmethod
    def backward(ctx, grad):
        vs, s = ctx.saved_tensors
        a, beta = ctx.alpha, ctx.beta
        gs = grad * (a / 2) / (1 + (math.pi / 2 * a * (vs - ctx.thr)) ** 2)
        keep = beta * (1 - s) if ctx.hard else None
        out = torch.empty_like(gs)
        acc = torch.zeros_like(gs[:, 0])
        for t in range(gs.shape[1] - 1, -1, -1):
            acc = gs[:, t] + (keep[:, t] * acc if ctx.hard else beta * acc)
            out[:, t] = acc
        return out, None, None, None, None


def lif_spike(y, beta=0.9, thr=1.0, reset="soft", alpha=2.0):
    if reset not in ("soft", "hard"):
        raise ValueError(f"unknown LIF reset {reset!r}; use soft or hard")
    return LIFSpike.apply(y, float(beta), float(thr), reset == "hard", alpha)


@register("activation", "lif")
class LIF(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        if cfg.lif_reset not in ("soft", "hard"):     # refused when built, not at the first forward
            raise ValueError(f"unknown LIF reset {cfg.lif_reset!r}; use soft or hard")
        self.beta, self.thr, self.reset = cfg.lif_beta, cfg.lif_threshold, cfg.lif_reset
        self.alpha = cfg.surrogate_alpha

    def forward(self, y):
        return lif_spike(y, self.beta, self.thr, self.reset, self.alpha)
