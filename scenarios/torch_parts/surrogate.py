"""1[x > 0] with the arctan surrogate gradient: the spike of heaviside, ternary and lif."""
from __future__ import annotations

import math

import torch


class ATanSpike(torch.autograd.Function):
    """Heaviside 1[x > 0] forward; arctan surrogate gradient (snnTorch ATan form)."""

    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        a = ctx.alpha
        return grad * (a / 2) / (1 + (math.pi / 2 * a * x) ** 2), None


def spike(x, alpha=2.0):
    return ATanSpike.apply(x, alpha)
