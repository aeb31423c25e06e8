"""Integer fixed point: the number formats the fixed-point runners (simulator/parts/fixed_*.py) share.

A value v is held as an integer q with v ~ q * 2^-f; f, the tensor's *fractional bits*, is fixed per tensor
(a power-of-two scale) and chosen from the calibrated range (simulator/calibrate.py) so that the calibrated
maximum uses the width but one bit (the headroom for inputs beyond the calibration data):

    f = width - 2 - HEADROOM - floor(log2(max |v|))

Arithmetic is exact in int64 (products and sums); a value is rounded (right shift, floor or truncation) and
saturated (or wrapped) only when it is committed to a state or sent as a message, so the order in which an
engine adds terms cannot change a bit: the event and dense engines agree exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit, prange

from models.errors import InputError
from models.fixed_rules import (HEADROOM, Table, frac_for, make_table, message_exponents,  # noqa: F401
                                quantise, weight_frac)
from models.precision import Precision

FLOOR, TRUNCATE = 0, 1
MODES = {"floor": FLOOR, "truncate": TRUNCATE}


@dataclass(frozen=True)
class FixedPoint:
    """A fixed-point run: the precision and the calibrated ranges (max |value| per named tensor). This is what
    `dtype` carries through run(), the runner and Dask when the arithmetic is fixed point."""

    precision: Precision
    ranges: tuple = ()            # ((name, max_abs), ...), sorted; a tuple so the object is hashable
    calibration: dict = field(default_factory=dict, compare=False, hash=False)   # how they were measured

    def range(self, name: str) -> float:
        r = dict(self.ranges)
        if name not in r:
            raise InputError(f"precision {self.precision.name}: no calibrated range for {name!r} (calibrate the "
                             "network with simulator.calibrate.calibrate)")
        return r[name]

    @property
    def name(self) -> str:
        return self.precision.name


def limits(bits: int) -> tuple[int, int]:
    hi = (1 << (bits - 1)) - 1
    return -hi - 1, hi


@njit(cache=True, inline="always")
def rshift(x, k, mode):
    """x * 2^-k rounded by `mode` (FLOOR: arithmetic shift; TRUNCATE: toward zero); k < 0 shifts left (exact)."""
    if k <= 0:
        return x << (-k)
    if mode == FLOOR or x >= 0:
        return x >> k
    return -((-x) >> k)


@njit(cache=True, inline="always")
def rshift_nb(x, k, trunc):
    """rshift for k >= 0 without a branch (vectorises): trunc = -1 rounds toward zero, 0 floors."""
    return (x + ((x >> 63) & trunc & ((np.int64(1) << k) - 1))) >> k


@njit(cache=True, inline="always")
def clamp(x, lo, hi):
    """(x saturated to [lo, hi], 1 if it did not fit), without a branch."""
    v = min(max(x, lo), hi)
    return v, np.int64(v != x)


@njit(cache=True, inline="always")
def commit(x, lo, hi, saturate):
    """(value, 1 if it did not fit): saturate at [lo, hi], or wrap in two's complement of that width."""
    if lo <= x <= hi:
        return x, 0
    if saturate:
        return (hi if x > hi else lo), 1
    span = hi - lo + 1
    return (x - lo) % span + lo, 1


@njit(cache=True, parallel=True)
def commit_array(acc, k, mode, lo, hi, saturate, out, sats):
    """out = commit(rshift(acc, k)) elementwise over (B, L, H); sats[b] += values that did not fit."""
    B, L, H = acc.shape
    for b in prange(B):
        commit_rows(acc[b], L, k, mode, lo, hi, saturate, out[b], sats, b)


@njit(cache=True)
def commit_rows(acc, n, k, mode, lo, hi, saturate, out, cnt, i):
    """commit_array for the first n rows of one sample (acc, out: (n, H) or more; may be the same array);
    cnt[i] += values that did not fit."""
    H = acc.shape[1]
    s = 0
    for t in range(n):
        for h in range(H):
            v, c = commit(rshift(acc[t, h], k, mode), lo, hi, saturate)
            out[t, h] = v
            s += c
    cnt[i] += s


@njit(cache=True)
def join_block(h, out, n, residual, sh, so, k, mode, lo, hi, saturate, cnt, i):
    """BlockScales.join for one sample's first n rows, into h: commit(rshift((out << so) (+ (h << sh)), k))."""
    H = out.shape[1]
    s = 0
    for t in range(n):
        for j in range(H):
            acc = np.int64(out[t, j]) << so
            if residual:
                acc += np.int64(h[t, j]) << sh
            v, c = commit(rshift(acc, k, mode), lo, hi, saturate)
            h[t, j] = v
            s += c
    cnt[i] += s


def commit_tensor(acc: np.ndarray, k: int, prec: Precision, bits: int):
    """(committed int64 array, saturations per sample) for acc (B, L, H) rescaled by 2^-k to `bits` wide."""
    lo, hi = limits(bits)
    out = np.empty(acc.shape, np.int64)
    sats = np.zeros(acc.shape[0], np.int64)
    commit_array(np.ascontiguousarray(acc, np.int64), k, MODES[prec.rounding], lo, hi, prec.saturate, out, sats)
    return out, sats


@dataclass
class BlockScales:
    """What a block's fixed-point runners know: the precision, the fractional bits of the tensors between its
    parts, and the calibrated ranges of their own internals (by name: '<role>.<name>')."""

    precision: Precision
    f_in: int       # block input h
    f_z: int        # SSM input (the norm's output in prenorm networks, else f_in)
    f_y: int        # SSM output y
    f_sent: int     # graded messages from the activation
    f_out: int      # mixing output
    f_next: int     # block output
    internal: dict  # '<role>.<name>' -> max |value|
    # Per input channel of the mixing: a message exponent k_i (the value sent is the state >> k_i and the
    # receiver's weights of input i are scaled by 2^k_i). Set when the activation's messages may carry one
    # (sigma-delta: Lava's per-neuron state_exp), else None (0 for every channel).
    sent_exp: np.ndarray | None = None

    @property
    def mode(self) -> int:
        return MODES[self.precision.rounding]

    @property
    def trunc(self) -> int:
        """The branch-free kernels' rounding mask: -1 truncates toward zero, 0 floors."""
        return -1 if self.precision.rounding == "truncate" else 0

    def frac(self, name: str, bits: int | None = None) -> int:
        return frac_for(self.internal.get(name, 0.0), bits or self.precision.state_bits)

    def join(self, h: np.ndarray, out: np.ndarray, residual: bool, c) -> np.ndarray:
        """Block output without a postnorm: (h aligned to f_next) + (out aligned to f_next), one rounding each
        shift, committed at the message width (saturations counted for the layer)."""
        g = max(self.f_in, self.f_out)
        acc = out.astype(np.int64) << (g - self.f_out)
        if residual:
            acc = acc + (h.astype(np.int64) << (g - self.f_in))
        res, sats = commit_tensor(acc, g - self.f_next, self.precision, self.precision.message_bits)
        c("saturations", sats)
        return res


# ---- lookup tables ---------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def lut(x, values, k, offset, f_in, f_out, above_identity, mode):
    """f(x) from the table: the entry of x's bin plus the interpolated part of the next one (floor shifts for
    the bin address, the precision's rounding for the interpolation)."""
    n = values.shape[0] - 1
    if k > 0:
        idx = x >> k
        r = x - (idx << k)
    else:
        idx = x << (-k)
        r = 0
    i = idx + offset
    if i < 0:
        return values[0]
    if i >= n:
        if above_identity:
            return rshift(x, f_in - f_out, mode)
        return values[n]
    if r == 0:
        return values[i]
    return values[i] + rshift((values[i + 1] - values[i]) * r, k, mode)
