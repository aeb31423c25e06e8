"""Norms in integer fixed point. BatchNorm (eval) folds to a per-channel integer affine x * g + c (g with
coef_bits significant bits and a shared exponent); LayerNorm is integer: floor mean, floor variance, integer
square root, normalised values with coef_bits fractional bits, then the integer weight and bias."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from models.parts import BatchNorm, LayerNorm
from simulator.fixed_point import clamp, commit, commit_tensor, limits, quantise, rshift_nb, weight_frac
from simulator.parts.base import Context, runs
from simulator.parts.norm import BatchNormRun, LayerNormRun


@dataclass(frozen=True)
class NormAffine:
    """LayerNorm's integer constants for inputs at frac f_x: normalised values at f_unit fractional bits,
    times q_weight (frac f_weight) plus q_bias: the output is at f_out = f_unit + f_weight."""

    eps_q: int
    f_unit: int
    q_weight: np.ndarray
    q_bias: np.ndarray
    f_out: int


def norm_affine(weight, bias, eps: float, f_x: int, p) -> NormAffine:
    f_unit = p.coef_bits
    f_w = weight_frac(weight, p.coef_bits + 1)
    eps_q = int(min(math.ldexp(eps, 2 * f_x), 2.0 ** 62))
    return NormAffine(max(eps_q, 1), f_unit, quantise(weight, f_w, p.weight_rounding, p.coef_bits + 1),
                      quantise(bias, f_unit + f_w, p.weight_rounding), f_unit + f_w)


class _Counted:
    def count(self, c, slots: int) -> None:
        super().count(c, slots)
        c("saturations", self.last_sat)


def _aligned_sum(h, out, f_h, f_o, residual):
    """h + out (or out) at the finer of the two scales, exact in int64."""
    if not residual:
        return out.astype(np.int64), f_o
    g = max(f_h, f_o)
    return (h.astype(np.int64) << (g - f_h)) + (out.astype(np.int64) << (g - f_o)), g


@runs(BatchNorm, "fixed")
class FixedBatchNormRun(_Counted, BatchNormRun):
    def __init__(self, part: BatchNorm, ctx: Context):
        super().__init__(part, Context(dtype=np.float64, disc=ctx.disc, message=ctx.message))
        fx = ctx.fixed
        p = fx.precision
        self.fx, self.prec = fx, p
        g = part.weight / self.sd
        self.c = part.bias - part.running_mean * g
        self.f_g = weight_frac(g, p.coef_bits + 1)
        self.q_g = quantise(g, self.f_g, p.weight_rounding, p.coef_bits + 1)
        self.dtype = np.int64

    def affine_args(self, f_h: int, f_o: int, residual: bool, f_next: int) -> tuple:
        """residual_affine's constants (sh, so, g, c, left, right, trunc, lo, hi, saturate) for h at frac f_h
        plus out at f_o, committed at f_next."""
        g = max(f_h, f_o) if residual else f_o
        q_c = quantise(self.c, g + self.f_g, self.prec.weight_rounding)
        lo, hi = limits(self.prec.message_bits)
        k = g + self.f_g - f_next
        return (g - f_h, g - f_o, self.q_g, q_c, max(0, -k), max(0, k), self.fx.trunc, lo, hi, self.prec.saturate)

    def _affine(self, h, out, f_h: int, f_o: int, residual: bool, f_next: int) -> np.ndarray:
        """commit(((h << a) + (out << b)) * g + c) in one pass; h is ignored without a residual."""
        res = np.empty(out.shape, np.int64)
        self.last_sat = np.zeros(out.shape[0], np.int64)
        residual_affine(h if residual else out, out, residual, *self.affine_args(f_h, f_o, residual, f_next), res,
                        self.last_sat)
        return res

    def apply(self, x: np.ndarray) -> np.ndarray:
        return self._affine(x, x, self.fx.f_in, self.fx.f_in, False, self.fx.f_z)

    def add_and_norm(self, h: np.ndarray, out: np.ndarray, residual: bool) -> np.ndarray:
        return self._affine(h, out, self.fx.f_in, self.fx.f_out, residual, self.fx.f_next)

    @staticmethod
    def internal_ranges(part, disc: str, probe: dict) -> dict:
        return {}


@runs(LayerNorm, "fixed")
class FixedLayerNormRun(_Counted, LayerNormRun):
    def __init__(self, part: LayerNorm, ctx: Context):
        super().__init__(part, Context(dtype=np.float64, disc=ctx.disc, message=ctx.message))
        self.fx, self.prec = ctx.fixed, ctx.fixed.precision
        self.part = part
        self.dtype = np.int64

    def _norm(self, x: np.ndarray, f_x: int, f_o: int) -> np.ndarray:
        a = norm_affine(self.part.weight, self.part.bias, self.part.eps, f_x, self.prec)
        normed = np.empty(x.shape, np.int64)
        layer_norm_int(np.ascontiguousarray(x, np.int64), a.eps_q, a.f_unit, a.q_weight, a.q_bias, self.fx.mode,
                       normed)
        out, self.last_sat = commit_tensor(normed, a.f_out - f_o, self.prec, self.prec.message_bits)
        return out

    def apply(self, x: np.ndarray) -> np.ndarray:
        return self._norm(x, self.fx.f_in, self.fx.f_z)

    def add_and_norm(self, h: np.ndarray, out: np.ndarray, residual: bool) -> np.ndarray:
        x, f = _aligned_sum(h, out, self.fx.f_in, self.fx.f_out, residual)
        return self._norm(x, f, self.fx.f_next)

    @staticmethod
    def internal_ranges(part, disc: str, probe: dict) -> dict:
        return {}


@njit(cache=True)
def residual_affine(h, out, residual, sh, so, g, c, left, right, trunc, lo, hi, sat, res, sats):
    """res = commit(rshift((((h << sh) + (out << so)) or (out << so)) * g + c, right) << left), per channel.
    Serial and fused, like the float kernel (memory-bound: a parallel region only waits)."""
    for b in range(out.shape[0]):
        residual_affine_block(h[b], out[b], out.shape[1], residual, sh, so, g, c, left, right, trunc, lo, hi, sat,
                              res[b], sats, b)


@njit(cache=True)
def residual_affine_block(h, out, n, residual, sh, so, g, c, left, right, trunc, lo, hi, sat, res, cnt, i):
    """residual_affine for one sample's first n rows (res may be h: each element is read before written)."""
    H = out.shape[1]
    m = np.int64(0)
    for t in range(n):
        for j in range(H):
            x = np.int64(out[t, j]) << so
            if residual:
                x += np.int64(h[t, j]) << sh
            v = rshift_nb((x * g[j] + c[j]) << left, right, trunc)
            if sat:
                w, s = clamp(v, lo, hi)
            else:
                w, s = commit(v, lo, hi, False)
            res[t, j] = w
            m += s
    cnt[i] += m


@njit(cache=True, inline="always")
def isqrt(v):
    """floor(sqrt(v)) for 0 <= v < 2^62, exactly (a float guess corrected in integers)."""
    r = np.int64(math.sqrt(float(v)))
    while r * r > v:
        r -= 1
    while (r + 1) * (r + 1) <= v:
        r += 1
    return r


@njit(cache=True, parallel=True)
def layer_norm_int(x, eps_q, f_unit, q_weight, q_bias, mode, out):
    """Per (sample, step): mean = floor(sum x / H), var = floor(sum (x - mean)^2 / H), sd = isqrt(var + eps_q);
    out = ((x - mean) * 2^f_unit / sd, rounded by `mode`) * q_weight + q_bias."""
    for b in prange(x.shape[0]):
        layer_norm_int_block(x[b], x.shape[1], eps_q, f_unit, q_weight, q_bias, mode, out[b])


@njit(cache=True)
def layer_norm_int_block(x, n, eps_q, f_unit, q_weight, q_bias, mode, out):
    H = x.shape[1]
    for t in range(n):
        s = np.int64(0)
        for h in range(H):
            s += x[t, h]
        mean = s // H
        v = np.int64(0)
        for h in range(H):
            d = x[t, h] - mean
            v += d * d
        sd = isqrt(v // H + eps_q)
        for h in range(H):
            num = (x[t, h] - mean) << f_unit
            if mode == 0 or num >= 0:
                q = num // sd
            else:
                q = -((-num) // sd)
            out[t, h] = q * q_weight[h] + q_bias[h]
