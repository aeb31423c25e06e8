"""Mixing parts (glu, gsu, linear) in integer fixed point.

Weights: `weight_bits` signed with one shared power-of-two exponent per matrix; biases at the accumulator's
scale. Synaptic sums are exact int64: a spike adds its row, a graded input adds row * value. The event engine
skips silent inputs and, for graded inputs, moves the held sum by row * (change) only for inputs that changed;
integer sums do not depend on order, so both engines compute the same sums. The sum is committed (rounded,
saturated) only where a value is stored or sent: the GLU's linear half and the GSU's factors at the state
width, every output at the message width. Sigmoid and GELU are lookup tables (simulator/fixed_point.Table).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from models.parts import GLU, GSU, Linear
from models.parts.activation import gelu
from models.parts.mixing import sigmoid
from simulator.fixed_point import commit, limits, lut, make_table, quantise, rshift, weight_frac
from simulator.kernels import TB   # the walker's block of steps (any block gives the same integers)
from simulator.parts.base import Context, runs
from simulator.parts.fixed_activation import apply_table, apply_table_block
from simulator.parts.fixed_norm import layer_norm_int, layer_norm_int_block, norm_affine
from simulator.parts.linear import LinearRun
from simulator.parts.mixing import GLURun, GSURun

SIGMOID_DOMAIN = 4   # the sigmoid table covers [-16, 16); outside it reads its end values (|error| < 2e-7)
GELU_DOMAIN = 3


@dataclass
class FixedGradedState:
    held: np.ndarray | None    # (B, H) receiver's last value of each input (event engine)
    z_held: np.ndarray | None  # (B, m) receiver's sum
    prev: np.ndarray           # (B, H) last value sent, for counting messages
    sats: np.ndarray | None = None   # (B,) saturations of the last chunk


class _Synapses:
    """Quantised rows (what input i adds) and bias, the synaptic sum in both engines."""

    @staticmethod
    def input_rows(part) -> np.ndarray:
        """What each input adds (rows), for the sender's message exponents."""
        return part.weight.T

    def _weights(self, rows: np.ndarray, bias: np.ndarray, ctx: Context):
        fx = ctx.fixed
        p = fx.precision
        self.fx, self.prec = fx, p
        if fx.sent_exp is not None:            # the sender's per-channel message exponents (sigma-delta)
            rows = rows * np.ldexp(1.0, fx.sent_exp)[:, None]
        self.f_w = weight_frac(rows, p.weight_bits)
        self.q_rows = quantise(rows, self.f_w, p.weight_rounding, p.weight_bits)
        self.graded = ctx.message == "graded"
        self.f_z = self.f_w + (fx.f_sent if self.graded else 0)    # frac of the synaptic sum
        self.q_bias = quantise(bias, self.f_z, p.weight_rounding)
        self.fan_out = np.count_nonzero(self.q_rows, axis=1).astype(np.int64)

    def new_state(self, batch: int) -> FixedGradedState:
        H = self.q_rows.shape[0]
        return FixedGradedState(np.zeros((batch, H), np.int64), np.tile(self.q_bias, (batch, 1)),
                                np.zeros((batch, H), np.int64))

    def _sum(self, sent: np.ndarray, st: FixedGradedState, event: bool) -> np.ndarray:
        B, L, _ = sent.shape
        z = np.empty((B, L, self.q_rows.shape[1]), np.int64)
        if self.graded and event:
            graded_event_int(sent, self.q_rows, st.held, st.z_held, z)
        else:
            mix_int(sent, self.q_rows, self.q_bias, event, z)
        return z

    def count(self, c, Lc, slots, sent, y, events, st) -> None:
        super().count(c, Lc, slots, sent, y, events, st)
        c("saturations", st.sats)


@runs(GLU, "fixed")
class FixedGLURun(_Synapses, GLURun):
    """z = W s + b; out = commit(zl * sigmoid_table(z[H:])), zl = z[:H] committed at the state width."""

    def __init__(self, part: GLU, ctx: Context):
        super().__init__(part, Context(dtype=np.float64, disc=ctx.disc, message=ctx.message))
        self._weights(part.weight.T, part.bias, ctx)
        p, fx = self.prec, self.fx
        self.f_zl = fx.frac("mixing.z", p.state_bits)
        self.f_sig = p.coef_bits
        self.table = make_table(sigmoid, SIGMOID_DOMAIN, p.lut_bits, self.f_z, self.f_sig, p.rounding, False)
        self.dtype = np.int64

    def run(self, sent, y, st: FixedGradedState, event: bool) -> np.ndarray:
        z = self._sum(sent, st, event)
        B, L, m = z.shape
        out = np.empty((B, L, m // 2), np.int64)
        st.sats = np.zeros(B, np.int64)
        t, p, fx = self.table, self.prec, self.fx
        s_lo, s_hi = limits(p.state_bits)
        m_lo, m_hi = limits(p.message_bits)
        glu_int(z, t.values, t.k, t.offset, t.f_in, t.f_out, self.f_z - self.f_zl,
                self.f_zl + self.f_sig - fx.f_out, fx.mode, s_lo, s_hi, m_lo, m_hi, p.saturate, out, st.sats)
        return out

    @staticmethod
    def internal_ranges(part: GLU, disc: str, probe: dict) -> dict:
        z = probe["sent"].astype(np.float64) @ part.weight.T + part.bias
        return {"mixing.z": float(np.abs(z).max())}


@runs(Linear, "fixed")
class FixedLinearRun(_Synapses, LinearRun):
    """z = W s + b, ReLU if set, committed at the message width."""

    def __init__(self, part: Linear, ctx: Context):
        super().__init__(part, Context(dtype=np.float64, disc=ctx.disc, message=ctx.message))
        self._weights(part.weight.T, part.bias, ctx)
        self.dtype = np.int64

    def run(self, sent, y, st: FixedGradedState, event: bool) -> np.ndarray:
        z = self._sum(sent, st, event)
        out = np.empty(z.shape, np.int64)
        st.sats = np.zeros(z.shape[0], np.int64)
        lo, hi = limits(self.prec.message_bits)
        relu_commit(z, self.relu, self.f_z - self.fx.f_out, self.fx.mode, lo, hi, self.prec.saturate, out, st.sats)
        return out

    @staticmethod
    def internal_ranges(part, disc: str, probe: dict) -> dict:
        return {}


@runs(GSU, "fixed")
class FixedGSURun(GSURun):
    """P = s @ W + b (int), g = y @ Wt (ternary weights: adds and subtracts of y's integers), both committed at
    the state width; P * g rescaled to the LayerNorm's width (at most 24 bits, so its sums of squares fit int64);
    integer LayerNorm (floor mean, floor variance, integer square root); GELU table; committed message."""

    def __init__(self, part: GSU, ctx: Context):
        super().__init__(part, Context(dtype=np.float64, disc=ctx.disc, message=ctx.message))
        fx = ctx.fixed
        p = fx.precision
        self.fx, self.prec = fx, p
        self.f_w = weight_frac(part.weight, p.weight_bits)
        self.q_rows = quantise(part.weight, self.f_w, p.weight_rounding, p.weight_bits)
        self.q_bias = quantise(part.bias, self.f_w, p.weight_rounding)
        self.wt_int = self.wt_rows.astype(np.int64)
        self.ln_bits = min(p.state_bits, 24)     # P, g and P*g: so that sums of squares stay within int64
        self.f_p = fx.frac("mixing.P", self.ln_bits)
        self.f_g = fx.frac("mixing.g", self.ln_bits)
        self.f_n = fx.frac("mixing.prod", self.ln_bits)
        self.norm = norm_affine(part.norm_weight, part.norm_bias, part.norm_eps, self.f_n, p)
        self.table = make_table(gelu, GELU_DOMAIN, p.lut_bits, self.norm.f_out, fx.f_out, p.rounding, True)
        self.fan_out = np.count_nonzero(self.q_rows, axis=1).astype(np.int64)
        self.dtype = np.int64

    def new_state(self, batch: int) -> FixedGradedState:
        return FixedGradedState(None, None, np.zeros((batch, self.q_rows.shape[0]), np.int64))

    def run(self, sent, y, st: FixedGradedState, event: bool) -> np.ndarray:
        B, L, H = y.shape
        P = np.empty((B, L, H), np.int64)
        g = np.empty((B, L, H), np.int64)
        mix_int(sent, self.q_rows, self.q_bias, event, P)
        if event:
            ternary_gate_int_event(y, self.nz_index, self.nz_sign, self.nz_count, g)
        else:
            mix_int(y, self.wt_int, np.zeros(H, np.int64), False, g)
        p, fx = self.prec, self.fx
        st.sats = np.zeros(B, np.int64)
        x = np.empty((B, L, H), np.int64)
        s_lo, s_hi = n_lo, n_hi = limits(self.ln_bits)
        gsu_product(P, g, self.f_w - self.f_p, fx.f_y - self.f_g, self.f_p + self.f_g - self.f_n, fx.mode, s_lo,
                    s_hi, n_lo, n_hi, p.saturate, x, st.sats)
        normed = np.empty((B, L, H), np.int64)
        a = self.norm
        layer_norm_int(x, a.eps_q, a.f_unit, a.q_weight, a.q_bias, fx.mode, normed)
        out = np.empty((B, L, H), np.int64)
        t = self.table
        m_lo, m_hi = limits(p.message_bits)
        apply_table(normed, t.values, t.k, t.offset, t.f_in, t.f_out, t.above_identity, fx.mode, m_lo, m_hi,
                    p.saturate, out, st.sats)
        return out

    def count(self, c, Lc, slots, sent, y, events, st) -> None:
        super().count(c, Lc, slots, sent, y, events, st)
        c("saturations", st.sats)

    @staticmethod
    def internal_ranges(part: GSU, disc: str, probe: dict) -> dict:
        P = probe["sent"].astype(np.float64) @ part.weight + part.bias
        g = probe["y"] @ part.ternary_weight()
        return {"mixing.P": float(np.abs(P).max()), "mixing.g": float(np.abs(g).max()),
                "mixing.prod": float(np.abs(P * g).max())}


# Each kernel below runs its per-sample block function (first n rows of one sample) under prange; the fused
# driver (simulator/fused/) calls the same block functions per time block, so both give the same bits.
@njit(cache=True, parallel=True)
def mix_int(a, rows, bias, event, z):
    """z[b, t] = bias + sum_i a[b, t, i] * rows[i] in int64; event: zero inputs skipped (they add 0)."""
    B, L, _ = a.shape
    for b in prange(B):
        for t0 in range(0, L, TB):      # blocks of steps, as the fused driver's
            mix_int_block(a[b, t0:], min(TB, L - t0), rows, bias, event, z[b, t0:])
    return z


@njit(cache=True)
def mix_int_block(a, n, rows, bias, event, z):
    """Input-major (row i stays in cache over the block's steps); integer sums do not depend on the order. A
    +1 or -1 input (a spike) adds or subtracts its row: the same as the product."""
    H = a.shape[1]
    m = rows.shape[1]
    for t in range(n):
        for j in range(m):
            z[t, j] = bias[j]
    for i in range(H):
        for t in range(n):
            v = np.int64(a[t, i])
            if v == 1:
                for j in range(m):
                    z[t, j] += rows[i, j]
            elif v == -1:
                for j in range(m):
                    z[t, j] -= rows[i, j]
            elif v != 0 or not event:
                for j in range(m):
                    z[t, j] += rows[i, j] * v


@njit(cache=True, parallel=True)
def graded_event_int(a, rows, held, z_held, z):
    """Sigma-delta receiver in integers: an input that changed moves the held sum by rows[i] * (new - old);
    exact, so it equals the full sum. held (B, H) and z_held (B, m) persist across chunks."""
    for b in prange(a.shape[0]):
        graded_event_int_block(a[b], a.shape[1], rows, held[b], z_held[b], z[b])
    return z


@njit(cache=True)
def graded_event_int_block(a, n, rows, held, z_held, z):
    H = a.shape[1]
    m = rows.shape[1]
    for t in range(n):
        for i in range(H):
            d = a[t, i] - held[i]
            if d != 0:
                held[i] = a[t, i]
                for j in range(m):
                    z_held[j] += rows[i, j] * d
        for j in range(m):
            z[t, j] = z_held[j]


@njit(cache=True)
def synapse_block(a, n, rows, bias, graded, event, held, z_held, z):
    """_Synapses._sum for one sample's block: the held sum (graded inputs, event engine) or the full sum."""
    if graded and event:
        graded_event_int_block(a, n, rows, held, z_held, z)
    else:
        mix_int_block(a, n, rows, bias, event, z)


@njit(cache=True, parallel=True)
def ternary_gate_int_event(y, nz_index, nz_sign, nz_count, g):
    for b in prange(y.shape[0]):
        ternary_gate_int_block(y[b], y.shape[1], nz_index, nz_sign, nz_count, g[b])
    return g


@njit(cache=True)
def ternary_gate_int_block(y, n, nz_index, nz_sign, nz_count, g):
    H = y.shape[1]
    m = g.shape[1]
    for t in range(n):
        for j in range(m):
            g[t, j] = 0
        for i in range(H):
            v = y[t, i]
            if v == 0:
                continue
            for k in range(nz_count[i]):
                j = nz_index[i, k]
                if nz_sign[i, k] > 0:
                    g[t, j] += v
                else:
                    g[t, j] -= v


@njit(cache=True, parallel=True)
def glu_int(z, values, k, offset, f_in, f_sig, k_l, k_o, mode, s_lo, s_hi, m_lo, m_hi, sat, out, sats):
    for b in prange(z.shape[0]):
        glu_int_block(z[b], z.shape[1], values, k, offset, f_in, f_sig, k_l, k_o, mode, s_lo, s_hi, m_lo, m_hi,
                      sat, out[b], sats, b)


@njit(cache=True)
def glu_int_block(z, n, values, k, offset, f_in, f_sig, k_l, k_o, mode, s_lo, s_hi, m_lo, m_hi, sat, out, cnt, i):
    """out = commit(zl * sigmoid_table(z[H:])) with zl = z[:H] committed; cnt[i] += saturations."""
    H = out.shape[1]
    c = 0
    for t in range(n):
        for j in range(H):
            zl, s1 = commit(rshift(z[t, j], k_l, mode), s_lo, s_hi, sat)
            sg = lut(z[t, H + j], values, k, offset, f_in, f_sig, False, mode)
            v, s2 = commit(rshift(zl * sg, k_o, mode), m_lo, m_hi, sat)
            out[t, j] = v
            c += s1 + s2
    cnt[i] += c


@njit(cache=True, parallel=True)
def relu_commit(z, relu, k, mode, lo, hi, sat, out, sats):
    for b in prange(z.shape[0]):
        relu_commit_block(z[b], z.shape[1], relu, k, mode, lo, hi, sat, out[b], sats, b)


@njit(cache=True)
def relu_commit_block(z, n, relu, k, mode, lo, hi, sat, out, cnt, i):
    m = out.shape[1]
    c = 0
    for t in range(n):
        for j in range(m):
            v = z[t, j]
            if relu and v < 0:
                v = 0
            w, s = commit(rshift(v, k, mode), lo, hi, sat)
            out[t, j] = w
            c += s
    cnt[i] += c


@njit(cache=True, parallel=True)
def gsu_product(P, g, k_p, k_g, k_n, mode, s_lo, s_hi, n_lo, n_hi, sat, x, sats):
    for b in prange(P.shape[0]):
        gsu_product_block(P[b], g[b], P.shape[1], k_p, k_g, k_n, mode, s_lo, s_hi, n_lo, n_hi, sat, x[b], sats, b)


@njit(cache=True)
def gsu_product_block(P, g, n, k_p, k_g, k_n, mode, s_lo, s_hi, n_lo, n_hi, sat, x, cnt, i):
    H = x.shape[1]
    c = 0
    for t in range(n):
        for h in range(H):
            p, s1 = commit(rshift(P[t, h], k_p, mode), s_lo, s_hi, sat)
            q, s2 = commit(rshift(g[t, h], k_g, mode), s_lo, s_hi, sat)
            v, s3 = commit(rshift(p * q, k_n, mode), n_lo, n_hi, sat)
            x[t, h] = v
            c += s1 + s2 + s3
    cnt[i] += c


@njit(cache=True)
def gsu_block(s, y, n, rows, bias, nz_index, nz_sign, nz_count, wt, zero_bias, event, k_p, k_g, k_n, mode, lo, hi,
              sat, eps_q, f_unit, q_weight, q_bias, values, k, offset, f_in, f_out, above, m_lo, m_hi, P, g, out,
              cnt, i):
    """FixedGSURun.run for one sample's block: P = spikes mixing (into P), gate g = y @ Wt, the product
    (into out), integer LayerNorm (into P), GELU table (into out); cnt[i] += saturations."""
    mix_int_block(s, n, rows, bias, event, P)
    if event:
        ternary_gate_int_block(y, n, nz_index, nz_sign, nz_count, g)
    else:
        mix_int_block(y, n, wt, zero_bias, False, g)
    gsu_product_block(P, g, n, k_p, k_g, k_n, mode, lo, hi, lo, hi, sat, out, cnt, i)
    layer_norm_int_block(out, n, eps_q, f_unit, q_weight, q_bias, mode, P)
    apply_table_block(P, n, values, k, offset, f_in, f_out, above, mode, m_lo, m_hi, sat, out, cnt, i)
