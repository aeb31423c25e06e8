"""Mixing runners: spikes or graded values into the block's output, with the shared synaptic kernels."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from models.parts import GLU, GSU
from simulator import kernels
from simulator.parts.activation import gelu_erf
from simulator.parts.base import Context, changed, runs
from simulator.parts.norm import layer_norm
from simulator.vector_mix import aligned_rows


@dataclass
class GradedState:
    held: np.ndarray | None    # (B, H) receiver's last value of each input (event engine)
    z_held: np.ndarray | None  # (B, m) receiver's last sum
    prev: np.ndarray           # (B, H) last graded value sent, for counting messages


@runs(GLU)
class GLURun:
    """z = W s + b (H -> 2H), out = z[:H] * sigmoid(z[H:]); spikes through the fused spike-GLU kernel."""

    def __init__(self, part: GLU, ctx: Context):
        self.dtype, self.graded = ctx.dtype, ctx.message == "graded"
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
        if not self.graded:
            return kernels.spikes_glu(sent, self.w_rows, self.bias, event, np.empty((B, L, H), self.dtype))
        z = np.empty((B, L, self.width), self.dtype)
        sent = np.ascontiguousarray(sent, dtype=self.dtype)
        if event:
            kernels.graded_event(sent, self.w_rows, self.bias, st.held, st.z_held, z)
        else:
            kernels.graded_dense(sent, self.w_rows, self.bias, z)
        return kernels.glu(z)

    def count(self, c, Lc: int, slots: int, sent, y, events, st: GradedState) -> None:
        if self.graded:
            moved = changed(sent, st.prev)
            c("messages", moved.sum(axis=(1, 2)))
            c("graded_macs", (moved * self.fan_out).sum(axis=(1, 2)))
            st.prev = sent[:, -1].copy()
        else:
            c("spike_acs", events @ self.fan_out)
        c("sigmoid", slots)
        c("multiply", slots)
        c("dense_macs", Lc * self.synapses)


@runs(GSU)
class GSURun:
    """P = s @ W + b from the spikes, gate g = y @ Wt (ternary weights, sparse in the event engine),
    out = GELU(LayerNorm(P * g))."""

    def __init__(self, part: GSU, ctx: Context):
        self.dtype = ctx.dtype
        arr = lambda a: np.ascontiguousarray(a, dtype=ctx.dtype)  # noqa: E731
        self.w_rows, self.bias = aligned_rows(part.weight, ctx.dtype), arr(part.bias)
        wt = part.ternary_weight()
        self.wt_rows = arr(wt)
        self.nz_count = np.count_nonzero(wt, axis=1).astype(np.int64)
        self.nz_index = np.zeros((wt.shape[0], max(1, self.nz_count.max())), np.int64)
        self.nz_sign = np.zeros_like(self.nz_index, dtype=np.int8)
        for i in range(wt.shape[0]):
            cols = np.nonzero(wt[i])[0]
            self.nz_index[i, :cols.size] = cols
            self.nz_sign[i, :cols.size] = wt[i, cols]
        self.fan_out = np.count_nonzero(self.w_rows, axis=1).astype(np.int64)
        self.norm_weight, self.norm_bias, self.norm_eps = arr(part.norm_weight), arr(part.norm_bias), part.norm_eps
        self.synapses, self.width = 2 * int(part.weight.size), int(part.weight.shape[0])

    def new_state(self, batch: int) -> GradedState:
        return GradedState(None, None, np.zeros((batch, self.w_rows.shape[0]), self.dtype))

    def run(self, sent: np.ndarray, y: np.ndarray, st: GradedState, event: bool) -> np.ndarray:
        B, L, H = y.shape
        P = np.empty((B, L, H), self.dtype)
        g = np.empty((B, L, H), self.dtype)
        kernels.spikes_mix(sent, self.w_rows, self.bias, event, P)
        if event:
            kernels.ternary_gate_event(y, self.nz_index, self.nz_sign, self.nz_count, g)
        else:
            kernels.ternary_gate_dense(y, self.wt_rows, g)
        gated = np.empty((B, L, H), self.dtype)
        product(P, g, gated)
        normed = np.empty((B, L, H), self.dtype)
        layer_norm(gated, self.norm_weight, self.norm_bias, self.norm_eps, normed)
        gelu_erf(normed, gated)
        return gated

    def count(self, c, Lc: int, slots: int, sent, y, events, st: GradedState) -> None:
        c("spike_acs", events @ self.fan_out)
        moved = changed(y, st.prev)                 # the gate reads the graded y
        c("messages", moved.sum(axis=(1, 2)))
        c("graded_acs", (moved * self.nz_count).sum(axis=(1, 2)))
        st.prev = y[:, -1].copy()
        for f in ("gelu", "multiply", "norm_elements", "norm_reductions"):
            c(f, slots)
        c("dense_macs", Lc * self.synapses)


@njit(cache=True, parallel=True)
def product(a, b, out):
    B, L, H = a.shape
    for i in prange(B):
        product_block(a[i], b[i], L, out[i])


@njit(cache=True)
def product_block(a, b, n, out):
    for t in range(n):
        for h in range(a.shape[1]):
            out[t, h] = a[t, h] * b[t, h]
