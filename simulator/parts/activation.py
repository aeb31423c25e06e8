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
    """out = 1[y > delta] - 1[-y > delta] with delta = ratio * max_h |y| at each (sample, step)."""
    B, L, H = y.shape
    for b in prange(B):
        for t in range(L):
            m = abs(y[b, t, 0])
            for h in range(1, H):
                a = abs(y[b, t, h])
                if a > m:
                    m = a
            delta = ratio * m
            for h in range(H):
                v = y[b, t, h]
                out[b, t, h] = np.int8(v - delta > 0) - np.int8(-v - delta > 0)


@njit(cache=True, parallel=True)
def gelu_erf(x, out):
    """Exact GELU, x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), from libm's erf."""
    B, L, H = x.shape
    root2 = math.sqrt(2.0)
    for b in prange(B):
        for t in range(L):
            for h in range(H):
                v = x[b, t, h]
                out[b, t, h] = 0.5 * v * (1.0 + math.erf(v / root2))
