"""Per-sample, per-time-block kernels of the parts, for the fused driver (simulator/fused/driver.py).

Each works on ONE sample over a block of n <= TB steps, with (TB, H) scratch rows that stay in L1, and
calls the same per-sample code as the layer-at-a-time kernels (simulator/kernels.py, simulator/parts/), so
fused results are bit-identical to the walker's. Where a piece only calls two block functions in a row, its
generated code calls them itself (simulator/fused/pieces.py): every function level is compiled once more at
start-up.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from simulator.kernels import _spike_block, ternary_gate_dense_block, ternary_gate_event_block
from simulator.parts.activation import gelu_block
from simulator.parts.mixing import product_block
from simulator.parts.norm import layer_norm_block


@njit(cache=True)
def encode_tokens(x, b, t0, n, weight, h):
    H = weight.shape[1]
    for k in range(n):
        tok = x[b, t0 + k]
        for j in range(H):
            h[k, j] = weight[tok, j]


@njit(cache=True)
def heaviside(y, n, out):
    H = y.shape[1]
    for k in range(n):
        for h in range(H):
            out[k, h] = np.int8(1) if y[k, h] > 0 else np.int8(0)


@njit(cache=True)
def residual_batch_norm(h, o, n, mean, sd, weight, bias):
    """h = BatchNorm(h + o) in place, as kernels.residual_batch_norm."""
    H = h.shape[1]
    for k in range(n):
        for j in range(H):
            x = h[k, j] + o[k, j]
            h[k, j] = (x - mean[j]) / sd[j] * weight[j] + bias[j]


@njit(cache=True)
def keep(sent, n, b, t0, out):
    """Copy a block's sent values into the chunk's (B, Lc, H) record, for counting and spike events."""
    H = sent.shape[1]
    for k in range(n):
        for j in range(H):
            out[b, t0 + k, j] = sent[k, j]


@njit(cache=True)
def pool(h, n, b, acc, last):
    """acc[b] += h rows in time order (as kernels.pool_sum); last[b] = the block's final row."""
    H = h.shape[1]
    for k in range(n):
        for j in range(H):
            acc[b, j] += np.float64(h[k, j])
    for j in range(H):
        last[b, j] = np.float64(h[n - 1, j])


@njit(cache=True)
def residual_add(h, o, n):
    """h = h + o (a residual with no norm)."""
    H = h.shape[1]
    for k in range(n):
        for j in range(H):
            h[k, j] = h[k, j] + o[k, j]


@njit(cache=True)
def take(h, o, n):
    """h = o (no residual, no norm)."""
    H = h.shape[1]
    for k in range(n):
        for j in range(H):
            h[k, j] = o[k, j]


@njit(cache=True)
def gsu(s3, y, n, w_rows, bias, nz_index, nz_sign, nz_count, wt_rows, nw, nb, eps, event, q, g, out):
    """GSURun for one block: P = spikes mixing (into q), gate g = y @ Wt, out = GELU(LayerNorm(P * g))."""
    _spike_block(s3, w_rows, bias, 0, 0, n, q, event)
    if event:
        ternary_gate_event_block(y, n, nz_index, nz_sign, nz_count, g)
    else:
        ternary_gate_dense_block(y, n, wt_rows, g)
    product_block(q, g, n, out)
    layer_norm_block(out, n, nw, nb, eps, q)
    gelu_block(q, n, out)
