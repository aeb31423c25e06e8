"""ReLU sigma-delta activation runner: the last value sent per (sample, channel) persists across chunks."""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from models.parts import ReLUSigmaDelta
from simulator.parts.base import Context, runs


@runs(ReLUSigmaDelta)
class ReLUSigmaDeltaRun:
    def __init__(self, part: ReLUSigmaDelta, ctx: Context):
        self.dtype = ctx.dtype
        self.vth = ctx.dtype(part.delta_threshold)

    def new_state(self, batch: int) -> list:
        return [None]    # the held values (B, H), made at the first chunk (H is known there)

    def run(self, y: np.ndarray, st: list):
        if st[0] is None:
            st[0] = np.zeros((y.shape[0], y.shape[2]), self.dtype)
        sent = np.empty_like(y)
        relu_sigma_delta(y, self.vth, st[0], sent)
        return sent, None

    def count(self, c, slots: int, events, st) -> None:
        # Nothing here: the messages are the steps where the held value changes, and the mixing that
        # receives them counts exactly those (messages and their synaptic work). ReLU and the change test
        # belong to the channel neuron's update, which the SSM counts.
        pass


@njit(cache=True, parallel=True)
def relu_sigma_delta(y, vth, held, out):
    """Every sample through sigma_delta_block over all its steps."""
    B, L, H = y.shape
    for b in prange(B):
        sigma_delta_block(y[b], L, vth, held[b], out[b])


@njit(cache=True)
def sigma_delta_block(y, n, vth, held, out):
    """a = max(y, 0); send a when a != held and |a - held| >= vth; out = the held value; first n rows of one
    sample, held (H,) updated in place."""
    H = y.shape[1]
    zero = held.dtype.type(0)     # in the run dtype: no float64 arithmetic in float32 runs
    for h in range(H):
        m = held[h]
        for t in range(n):
            v = y[t, h]
            a = v if v > zero else zero
            d = a - m
            if d != zero and abs(d) >= vth:
                m = a
            out[t, h] = m
        held[h] = m
