"""Activations in integer fixed point: heaviside and ternary thresholds, GELU as a lookup table, the LIF
membrane and ReLU sigma-delta in integers (their float runners' counting is reused unchanged)."""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from models.parts import GELU, LIF, Heaviside, ReLUSigmaDelta, Ternary
from models.parts.activation import gelu
from simulator.fixed_point import commit, limits, lut, make_table, quantise, rshift, weight_frac
from simulator.parts.activation import GELURun, HeavisideRun, TernaryRun
from simulator.parts.base import Context, runs
from simulator.parts.lif import LIFRun, LIFState
from simulator.parts.sigma_delta import ReLUSigmaDeltaRun

GELU_DOMAIN = 3     # the table covers [-8, 8); above, GELU(x) = x (to 1e-14), below 0 (to 1e-14)


class _NoInternals:
    @staticmethod
    def internal_ranges(part, disc: str, probe: dict) -> dict:
        return {}


@runs(Heaviside, "fixed")
class FixedHeavisideRun(_NoInternals, HeavisideRun):
    """1[y > 0] on the integer y: the same comparison."""


@runs(Ternary, "fixed")
class FixedTernaryRun(_NoInternals, TernaryRun):
    """+1 where y * 2^f_r > r * max|y|, -1 where -y * 2^f_r > r * max|y| (r: the ratio with coef_bits bits)."""

    def __init__(self, part: Ternary, ctx: Context):
        p = ctx.fixed.precision
        self.f_r = weight_frac(np.array([part.ratio]), p.coef_bits + 1)
        self.rq = int(quantise(np.array([part.ratio]), self.f_r, p.weight_rounding)[0])

    def run(self, y: np.ndarray, state=None):
        s = np.empty(y.shape, np.int8)
        ternary_fixed(y, self.rq, self.f_r, s)
        return s, s


@runs(GELU, "fixed")
class FixedGELURun(_NoInternals, GELURun):
    """GELU from a table over [-8, 8) (2^lut_bits bins, linear interpolation), x above it, 0 below; the
    output is a graded message at the block's f_sent."""

    def __init__(self, part: GELU, ctx: Context):
        fx = ctx.fixed
        p = fx.precision
        self.fx = fx
        self.table = make_table(gelu, GELU_DOMAIN, p.lut_bits, fx.f_y, fx.f_sent, p.rounding, True)
        self.lo, self.hi = limits(p.message_bits)

    def run(self, y: np.ndarray, state=None):
        out = np.empty(y.shape, np.int64)
        sats = np.zeros(y.shape[0], np.int64)
        t = self.table
        apply_table(y, t.values, t.k, t.offset, t.f_in, t.f_out, t.above_identity, self.fx.mode, self.lo, self.hi,
                    self.fx.precision.saturate, out, sats)
        self.last_sat = sats
        return out, None

    def count(self, c, slots: int, events, state=None) -> None:
        super().count(c, slots, events, state)
        c("saturations", self.last_sat)


@runs(LIF, "fixed")
class FixedLIFRun(LIFRun):
    """v = commit(rshift(beta_q v + align(y), f_beta)) at the state width; spike when v > vth_q; reset to 0
    (hard) or v - vth_q (soft). A neuron at rest with zero input is not updated, as in float."""

    def __init__(self, part: LIF, ctx: Context):
        super().__init__(part, Context(dtype=np.float64, disc=ctx.disc, message=ctx.message))
        fx = ctx.fixed
        p = fx.precision
        self.fx, self.prec = fx, p
        self.f_beta = weight_frac(np.array([part.beta]), p.coef_bits + 1)
        self.bq = int(quantise(np.array([part.beta]), self.f_beta, p.weight_rounding)[0])
        self.f_v = fx.frac("activation.v", p.state_bits)
        self.vq = int(quantise(np.array([part.v_threshold]), self.f_v, p.weight_rounding)[0])
        self.k_y = fx.f_y - (self.f_beta + self.f_v)
        self.lo, self.hi = limits(p.state_bits)
        self.dtype = np.int64

    def run(self, y: np.ndarray, st: LIFState):
        if st.v is None:
            st.v = np.zeros((y.shape[0], y.shape[2]), np.int64)
        s = np.empty(y.shape, np.int8)
        st.updates = np.zeros(y.shape[0], np.int64)
        self.last_sat = np.zeros(y.shape[0], np.int64)
        lif_fixed(y, self.bq, self.f_beta, self.k_y, self.vq, self.hard, self.fx.mode, self.lo, self.hi,
                  self.prec.saturate, st.v, s, st.updates, self.last_sat)
        return s, s

    def count(self, c, slots: int, events, st: LIFState) -> None:
        super().count(c, slots, events, st)
        c("saturations", self.last_sat)

    @staticmethod
    def internal_ranges(part: LIF, disc: str, probe: dict) -> dict:
        y = probe["y"]
        v = np.zeros((y.shape[0], y.shape[2]))
        m = 0.0
        for t in range(y.shape[1]):
            v = part.beta * v + y[:, t]
            m = max(m, float(np.abs(v).max()), part.v_threshold)
            fired = v > part.v_threshold
            v = np.where(fired, 0.0 if part.reset == "hard" else v - part.v_threshold, v)
        return {"activation.v": m}


@runs(ReLUSigmaDelta, "fixed")
class FixedReLUSigmaDeltaRun(_NoInternals, ReLUSigmaDeltaRun):
    """Lava's fixed-point sigma-delta step with the state as y's integers: a = max(y, 0); d = a - held; a
    message d >> state_exp_i goes out when |d| >= vth_q (and d != 0); held += message << state_exp_i. The
    receiver sums the messages: it holds held >> state_exp_i, at y's scale over 2^state_exp_i (this part makes
    the block's f_sent equal f_y; the mixing scales its weights of input i by 2^state_exp_i). state_exp_i is
    the block's per-channel message exponent (simulator.fixed_point.message_exponents), as Lava's per-neuron
    state_exp."""

    MESSAGE_EXPONENTS = True   # its messages may carry a per-channel exponent (ReLU is positively homogeneous)

    def __init__(self, part: ReLUSigmaDelta, ctx: Context):
        fx = ctx.fixed
        fx.f_sent = fx.f_y
        self.fx = fx
        self.vq = int(quantise(np.array([part.delta_threshold]), fx.f_y, fx.precision.weight_rounding)[0])
        self.dtype = np.int64

    def run(self, y: np.ndarray, st: list):
        if st[0] is None:
            st[0] = np.zeros((y.shape[0], y.shape[2]), np.int64)
        sent = np.empty(y.shape, np.int64)
        exp = self.fx.sent_exp if self.fx.sent_exp is not None else np.zeros(y.shape[2], np.int64)
        sigma_delta_fixed(y, self.vq, exp, self.fx.mode, st[0], sent)
        return sent, None


# Each kernel runs its per-sample block function under prange; the fused driver (simulator/fused/) calls the
# same block functions per time block, so both give the same bits.
@njit(cache=True, parallel=True)
def ternary_fixed(y, rq, f_r, out):
    for b in prange(y.shape[0]):
        ternary_fixed_block(y[b], y.shape[1], rq, f_r, out[b])


@njit(cache=True)
def ternary_fixed_block(y, n, rq, f_r, out):
    H = y.shape[1]
    for t in range(n):
        m = abs(y[t, 0])
        for h in range(1, H):
            a = abs(y[t, h])
            if a > m:
                m = a
        delta = rq * m
        for h in range(H):
            v = y[t, h] << f_r
            out[t, h] = np.int8(v > delta) - np.int8(-v > delta)


@njit(cache=True, parallel=True)
def apply_table(x, values, k, offset, f_in, f_out, above_identity, mode, lo, hi, sat, out, sats):
    for b in prange(x.shape[0]):
        apply_table_block(x[b], x.shape[1], values, k, offset, f_in, f_out, above_identity, mode, lo, hi, sat,
                          out[b], sats, b)


@njit(cache=True)
def apply_table_block(x, n, values, k, offset, f_in, f_out, above_identity, mode, lo, hi, sat, out, cnt, i):
    H = x.shape[1]
    c = 0
    for t in range(n):
        for h in range(H):
            v, s = commit(lut(x[t, h], values, k, offset, f_in, f_out, above_identity, mode), lo, hi, sat)
            out[t, h] = v
            c += s
    cnt[i] += c


@njit(cache=True, parallel=True)
def lif_fixed(y, bq, f_beta, k_y, vq, hard, mode, lo, hi, sat, v, out, updates, sats):
    for b in prange(y.shape[0]):
        lif_fixed_block(y[b], y.shape[1], bq, f_beta, k_y, vq, hard, mode, lo, hi, sat, v[b], out[b], updates, b,
                        sats, b)


@njit(cache=True)
def lif_fixed_block(y, n, bq, f_beta, k_y, vq, hard, mode, lo, hi, sat, v, out, updates, j, cnt, i):
    """One sample's membranes v (H,) over n steps; updates[j] += neuron updates, cnt[i] += saturations."""
    H = y.shape[1]
    nu = 0
    ns = 0
    for h in range(H):
        x = v[h]
        for t in range(n):
            drive = y[t, h]
            if x == 0 and drive == 0:
                out[t, h] = 0
                continue
            nu += 1
            x, s = commit(rshift(bq * x + rshift(drive, k_y, mode), f_beta, mode), lo, hi, sat)
            ns += s
            if x > vq:
                out[t, h] = 1
                x = 0 if hard else x - vq
            else:
                out[t, h] = 0
        v[h] = x
    updates[j] += nu
    cnt[i] += ns


@njit(cache=True, parallel=True)
def sigma_delta_fixed(y, vq, state_exp, mode, held, out):
    """Per (sample, channel h): a = max(y, 0); d = a - held; if d != 0 and |d| >= vq: held += (d >> k) << k with
    k = state_exp[h]. out = held >> k (the sum of the messages, what the receiver holds)."""
    for b in prange(y.shape[0]):
        sigma_delta_fixed_block(y[b], y.shape[1], vq, state_exp, mode, held[b], out[b])


@njit(cache=True)
def sigma_delta_fixed_block(y, n, vq, state_exp, mode, held, out):
    H = y.shape[1]
    for h in range(H):
        m = held[h]
        k = state_exp[h]
        for t in range(n):
            v = y[t, h]
            a = v if v > 0 else 0
            d = a - m
            if d != 0 and abs(d) >= vq:
                m += rshift(d, k, mode) << k
            out[t, h] = m >> k
        held[h] = m
