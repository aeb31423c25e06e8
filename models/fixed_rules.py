"""The fixed-point format's rules that do not run anything: scales from ranges (fractional bits), quantising
parameters, the sigma-delta sender's message exponents and lookup tables. Shared by the engine
(simulator/fixed_point.py re-exports them) and quantisation-aware training (scenarios/qat.py), so both round
by the same code."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

HEADROOM = 1     # bits above the calibrated maximum


def frac_for(max_abs: float, bits: int) -> int:
    """Fractional bits of a `bits`-wide signed tensor whose calibrated maximum is max_abs."""
    if not max_abs > 0 or not math.isfinite(max_abs):
        return bits - 2 - HEADROOM
    return bits - 2 - HEADROOM - math.floor(math.log2(max_abs))


def weight_frac(a: np.ndarray, bits: int) -> int:
    """Shared exponent of a weight tensor: the largest |w| fits `bits` signed bits (no headroom needed)."""
    m = float(np.max(np.abs(a))) if np.size(a) else 0.0
    if m == 0.0:
        return bits - 1
    return bits - 2 - math.floor(math.log2(m))


def quantise(a, frac: int, rounding: str, bits: int | None = None) -> np.ndarray:
    """Integers q = round(a * 2^frac) (floor or toward zero), clipped to `bits` signed bits if given."""
    x = np.ldexp(np.asarray(a, np.float64), frac)
    q = np.floor(x) if rounding == "floor" else np.trunc(x)
    if bits is not None:
        hi = 2.0 ** (bits - 1) - 1
        q = np.clip(q, -hi - 1, hi)
    return np.ascontiguousarray(q.astype(np.int64))


def message_exponents(rows: np.ndarray, max_exp: int) -> np.ndarray:
    """Per input i of a weight matrix (rows[i] = what input i adds): k_i = floor(log2(M / c_i)) with c_i = max
    |rows[i]| and M the largest c_i, at most max_exp. Scaling row i by 2^k_i puts every row's largest weight in
    (M/2, M], so one shared exponent serves them all; the sender divides its messages by 2^k_i to match."""
    c = np.max(np.abs(rows), axis=1)
    m = float(c.max()) if c.size else 0.0
    k = np.zeros(rows.shape[0], np.int64)
    nz = c > 0
    k[nz] = np.floor(np.log2(m / c[nz])).astype(np.int64)
    return np.clip(k, 0, max_exp)


# ---- lookup tables ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Table:
    """f on [-2^E, 2^E) as 2^lut_bits + 1 entries at the bin edges (output at frac f_out), read with linear
    interpolation in integers. For an input at frac f_in the bin index is x >> k with k = f_in + E + 1 - lut_bits.
    Outside the domain: `below` / `above` say what happens: 'end' (the table's end value) or 'identity' (x)."""

    values: np.ndarray
    k: int
    offset: int
    f_in: int
    f_out: int
    above_identity: bool


def make_table(f, E: int, lut_bits: int, f_in: int, f_out: int, rounding: str, above_identity: bool) -> Table:
    n = 1 << lut_bits
    edges = np.ldexp(np.arange(n + 1, dtype=np.float64) - n // 2, E + 1 - lut_bits)
    return Table(quantise(f(edges), f_out, rounding), f_in + E + 1 - lut_bits, n // 2, f_in, f_out, above_identity)
