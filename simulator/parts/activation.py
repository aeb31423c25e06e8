"""Activation runners: their own kernels (the reference's numpy versions are what these are checked against)."""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from models.parts import GELU, Heaviside, Ternary
from simulator.parts.base import Context, runs


class Stateless:
    """An activation that keeps nothing between steps: its state is None."""

    def new_state(self, batch: int) -> None:
        return None


@runs(Heaviside)
class HeavisideRun(Stateless):
    def __init__(self, part: Heaviside, ctx: Context):
        pass

    def run(self, y: np.ndarray, state=None):
        s = (y > 0).astype(np.int8)
        return s, s

    def count(self, c, slots: int, events, state=None) -> None:
        c("spikes", events.sum(axis=1))


@runs(Ternary)
class TernaryRun(Stateless):
    def __init__(self, part: Ternary, ctx: Context):
        self.ratio = ctx.dtype(part.ratio)   # in the run dtype, so the threshold is computed in it

    def run(self, y: np.ndarray, state=None):
        s = np.empty(y.shape, np.int8)
        ternary_spikes(y, self.ratio, s)
        return s, s

    def count(self, c, slots: int, events, state=None) -> None:
        c("spikes", events.sum(axis=1))
        c("max_reductions", slots)


@runs(GELU)
class GELURun(Stateless):
    def __init__(self, part: GELU, ctx: Context):
        pass

    def run(self, y: np.ndarray, state=None):
        out = np.empty_like(y)
        gelu_erf(y, out)
        return out, None

    def count(self, c, slots: int, events, state=None) -> None:
        c("gelu", slots)


@njit(cache=True, parallel=True)
def ternary_spikes(y, ratio, out):
    B, L, H = y.shape
    for b in prange(B):
        ternary_block(y[b], L, ratio, out[b])


@njit(cache=True)
def ternary_block(y, n, ratio, out):
    """out = 1[y > delta] - 1[-y > delta] with delta = ratio * max_h |y| at each step (first n rows)."""
    H = y.shape[1]
    for t in range(n):
        m = abs(y[t, 0])
        for h in range(1, H):
            a = abs(y[t, h])
            if a > m:
                m = a
        delta = ratio * m
        for h in range(H):
            v = y[t, h]
            out[t, h] = np.int8(v - delta > 0) - np.int8(-v - delta > 0)


@njit(cache=True, parallel=True)
def gelu_erf(x, out):
    B, L, H = x.shape
    for b in prange(B):
        gelu_block(x[b], L, out[b])


@njit(cache=True)
def gelu_block(x, n, out):
    """Exact GELU, x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), from libm's erf (first n rows)."""
    H = x.shape[1]
    f = out.dtype.type             # constants in the run dtype (the same values in float64)
    root2, half, one = f(math.sqrt(2.0)), f(0.5), f(1.0)
    for t in range(n):
        for h in range(H):
            v = x[t, h]
            out[t, h] = half * v * (one + math.erf(v / root2))
