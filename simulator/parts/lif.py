"""LIF activation runner: the membrane per (sample, channel) is state that persists across chunks."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from models.parts import LIF
from simulator.parts.base import Context, runs


@dataclass
class LIFState:
    v: np.ndarray        # (B, H) membrane
    updates: np.ndarray  # (B,) neuron updates of the last chunk, for count()


@runs(LIF)
class LIFRun:
    def __init__(self, part: LIF, ctx: Context):
        self.dtype = ctx.dtype
        self.beta, self.vth = ctx.dtype(part.beta), ctx.dtype(part.v_threshold)   # computed in the run dtype
        self.hard = part.reset == "hard"

    def new_state(self, batch: int) -> LIFState:
        return LIFState(None, np.zeros(batch, np.int64))

    def run(self, y: np.ndarray, st: LIFState):
        if st.v is None:
            st.v = np.zeros((y.shape[0], y.shape[2]), self.dtype)
        s = np.empty(y.shape, np.int8)
        st.updates = np.zeros(y.shape[0], np.int64)
        lif(y, self.beta, self.vth, self.hard, st.v, s, st.updates)
        return s, s

    def count(self, c, slots: int, events, st: LIFState) -> None:
        # A neuron at rest (v = 0) with no input stays at rest: an event-driven chip does not update it.
        c("channel_updates", st.updates)
        c("spikes", events.sum(axis=1))


@njit(cache=True, parallel=True)
def lif(y, beta, vth, hard, v, out, updates):
    """Every sample through lif_block over all its steps."""
    B, L, H = y.shape
    for b in prange(B):
        lif_block(y[b], L, beta, vth, hard, v[b], out[b], updates, b)


@njit(cache=True)
def lif_block(y, n, beta, vth, hard, v, out, updates, b):
    """v = beta v + y; spike when v > vth, then v = 0 (hard) or v - vth (soft), for the first n rows of one
    sample. v (H,) updated in place; updates[b] counts the steps a neuron was not at rest with zero input
    (the same in both engines)."""
    H = y.shape[1]
    zero = v.dtype.type(0)     # in the run dtype: a literal 0.0 would make x float64 in float32 runs
    count = 0
    for h in range(H):
        x = v[h]
        for t in range(n):
            drive = y[t, h]
            if x == 0.0 and drive == 0.0:
                out[t, h] = 0      # beta * 0 + 0 = 0 <= vth: nothing changes
                continue
            count += 1
            x = beta * x + drive
            if x > vth:
                out[t, h] = 1
                x = zero if hard else x - vth
            else:
                out[t, h] = 0
        v[h] = x
    updates[b] += count
