"""Norm runners. BatchNorm (eval) is a per-channel affine, fused with the residual sum when it follows it."""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from models.parts import BatchNorm, LayerNorm
from simulator import kernels
from simulator.parts.base import Context, runs


@runs(BatchNorm)
class BatchNormRun:
    def __init__(self, part: BatchNorm, ctx: Context):
        self.dtype = ctx.dtype
        as_run = lambda a: np.ascontiguousarray(a, dtype=ctx.dtype)  # noqa: E731 (no float64 in float32 loops)
        self.mean, self.weight, self.bias = as_run(part.running_mean), as_run(part.weight), as_run(part.bias)
        self.sd = as_run(np.sqrt(part.running_var + part.eps))

    def apply(self, x: np.ndarray) -> np.ndarray:
        out = np.empty(x.shape, self.dtype)
        affine(x, self.mean, self.sd, self.weight, self.bias, out)
        return out

    def add_and_norm(self, h: np.ndarray, out: np.ndarray, residual: bool) -> np.ndarray:
        if not residual:
            return self.apply(out)
        h = np.array(h, dtype=self.dtype)  # the caller's array is left untouched
        kernels.residual_batch_norm(h, np.ascontiguousarray(out, dtype=self.dtype), self.mean, self.sd,
                                    self.weight, self.bias)
        return h

    def count(self, c, slots: int) -> None:
        c("norm_elements", slots)


@runs(LayerNorm)
class LayerNormRun:
    def __init__(self, part: LayerNorm, ctx: Context):
        self.dtype = ctx.dtype
        self.weight = np.ascontiguousarray(part.weight, dtype=ctx.dtype)
        self.bias = np.ascontiguousarray(part.bias, dtype=ctx.dtype)
        self.eps = part.eps

    def apply(self, x: np.ndarray) -> np.ndarray:
        out = np.empty(x.shape, self.dtype)
        layer_norm(np.ascontiguousarray(x), self.weight, self.bias, self.eps, out)
        return out

    def add_and_norm(self, h: np.ndarray, out: np.ndarray, residual: bool) -> np.ndarray:
        return self.apply(h + out if residual else out)

    def count(self, c, slots: int) -> None:
        c("norm_elements", slots)
        c("norm_reductions", slots)


@njit(cache=True, parallel=True)
def affine(x, mean, sd, weight, bias, out):
    B, L, H = x.shape
    for b in prange(B):
        affine_block(x[b], L, mean, sd, weight, bias, out[b])


@njit(cache=True)
def affine_block(x, n, mean, sd, weight, bias, out):
    """out = (x - mean) / sd * weight + bias per channel, in that order (as BatchNorm in eval mode)."""
    H = x.shape[1]
    for t in range(n):
        for h in range(H):
            out[t, h] = (x[t, h] - mean[h]) / sd[h] * weight[h] + bias[h]


@njit(cache=True, parallel=True)
def layer_norm(x, weight, bias, eps, out):
    B, L, H = x.shape
    for b in prange(B):
        layer_norm_block(x[b], L, weight, bias, eps, out[b])


@njit(cache=True)
def layer_norm_block(x, n, weight, bias, eps, out):
    """LayerNorm over the channels at each step (first n rows): mean and variance summed in channel order."""
    H = x.shape[1]
    zero = out.dtype.type(0)   # every scalar in the run dtype: no float64 arithmetic in float32 runs
    count = out.dtype.type(H)
    eps_ = out.dtype.type(eps)
    for t in range(n):
        mean = zero
        for h in range(H):
            mean += x[t, h]
        mean /= count
        var = zero
        for h in range(H):
            d = x[t, h] - mean
            var += d * d
        var /= count
        sd = np.sqrt(var + eps_)
        for h in range(H):
            out[t, h] = (x[t, h] - mean) / sd * weight[h] + bias[h]
