"""Linear mixing runner: spikes or graded values through one H x H matrix, counted by its non-zero weights."""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from models.parts import Linear
from simulator import kernels
from simulator.parts.base import Context, changed, runs
from simulator.parts.mixing import GradedState
from simulator.vector_mix import aligned_rows


@runs(Linear)
class LinearRun:
    def __init__(self, part: Linear, ctx: Context):
        self.dtype, self.graded, self.relu = ctx.dtype, ctx.message == "graded", part.relu
        self.w_rows = aligned_rows(part.weight.T, ctx.dtype)   # row i: what input i adds
        self.bias = np.ascontiguousarray(part.bias, dtype=ctx.dtype)
        self.fan_out = np.count_nonzero(self.w_rows, axis=1).astype(np.int64)
        self.synapses, self.width = int(part.weight.size), int(part.weight.shape[0])

    def new_state(self, batch: int) -> GradedState:
        H = self.w_rows.shape[0]
        held = np.zeros((batch, H), self.dtype) if self.graded else None
        z_held = np.tile(self.bias, (batch, 1)) if self.graded else None
        return GradedState(held, z_held, np.zeros((batch, H), self.dtype))

    def run(self, sent: np.ndarray, y: np.ndarray, st: GradedState, event: bool) -> np.ndarray:
        B, L, H = y.shape
        z = np.empty((B, L, self.width), self.dtype)
        if not self.graded:
            kernels.spikes_mix(sent, self.w_rows, self.bias, event, z)
        elif event:
            kernels.graded_event(np.ascontiguousarray(sent, dtype=self.dtype), self.w_rows, self.bias,
                                 st.held, st.z_held, z)
        else:
            kernels.graded_dense(np.ascontiguousarray(sent, dtype=self.dtype), self.w_rows, self.bias, z)
        if self.relu:
            relu(z)
        return z

    def count(self, c, Lc: int, slots: int, sent, y, events, st: GradedState) -> None:
        if self.graded:
            moved = changed(sent, st.prev)
            c("messages", moved.sum(axis=(1, 2)))
            c("graded_macs", (moved * self.fan_out).sum(axis=(1, 2)))   # only non-zero weights do work
            st.prev = sent[:, -1].copy()
        else:
            c("spike_acs", events @ self.fan_out)
        c("dense_macs", Lc * self.synapses)


@njit(cache=True, parallel=True)
def relu(z):
    B, L, H = z.shape
    for b in prange(B):
        relu_block(z[b], L)


@njit(cache=True)
def relu_block(z, n):
    """z = z if z > 0 else 0, in place, first n rows (the reference's np.where(z > 0, z, 0))."""
    H = z.shape[1]
    for t in range(n):
        for h in range(H):
            if not z[t, h] > 0:
                z[t, h] = 0.0
