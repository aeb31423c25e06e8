"""Diagonal SSMs (s4d complex, s4d_real) in integer fixed point.

Coefficients Ab, Bb, C, D get `coef_bits` significant bits with a power-of-two exponent per tensor (quantised
by the precision's weight rounding); the state is `state_bits` wide at the calibrated scale. Per step and mode

    s = commit_state( rshift( align(Ab*s) + align(Bb*u), f_A + la ) )
    y = commit_message( rshift( align(2 Re(sum_n C*s) (+ backward)) + align(D*u), f_C + f_s + ly - f_y ) )

all products and sums in int64, each sum formed at the finer of its terms' scales (left shifts, exact; by at most
LA_MAX / LY_MAX bits, beyond which the finer term is rounded first), so a state or y is rounded once.
A channel whose state is exactly zero and whose input is zero stays zero and
adds nothing, so the event engine skips it and still computes the same bits as the dense engine.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from models.discretize import discretize
from models.parts import S4D, S4DReal
from simulator.fixed_point import clamp, commit, commit_tensor, limits, quantise, rshift_nb, weight_frac
from simulator.parts.base import Context, runs
from simulator.parts.s4d import S4DRun
from simulator.parts.s4d_real import S4DRealRun


LA_MAX, LY_MAX = 22, 16   # keep (Ab*s) << la and (2 C*s) << ly within 62 bits


def alignment(k: int, cap: int) -> tuple[int, int, int]:
    """For a sum of a term at frac F and one at frac F + k: (shift of the first, pre-rounding of the second,
    shift of the second), all >= 0, so both meet at frac F + min(max(k, 0), cap) (or F if k < 0)."""
    if k >= 0:
        la = min(k, cap)
        return la, k - la, 0
    return 0, 0, -k


class _FixedDiagonal:
    """Shared by the complex and real forms: coefficient quantisation, state, commit of y, calibration."""

    def _quantise(self, ab, bb, c, d, ctx: Context):
        fx = ctx.fixed
        p = fx.precision
        self.fx, self.prec = fx, p
        bits = p.coef_bits + 1                          # coef_bits significant bits and a sign
        self.f_a = weight_frac(np.concatenate([ab.real.ravel(), ab.imag.ravel()]), bits)
        self.f_b = weight_frac(np.concatenate([bb.real.ravel(), bb.imag.ravel()]), bits)
        self.f_c = weight_frac(np.concatenate([c.real.ravel(), c.imag.ravel()]), bits)
        self.f_d = weight_frac(d, bits)
        q = lambda a, f: quantise(a, f, p.weight_rounding, bits).astype(np.int32)  # noqa: E731
        self.qa = (q(ab.real, self.f_a), q(ab.imag, self.f_a))
        self.qb = (q(bb.real, self.f_b), q(bb.imag, self.f_b))
        self.qc = (q(c.real, self.f_c), q(c.imag, self.f_c))
        self.qd = q(d, self.f_d)
        self.f_s = fx.frac("ssm.state", p.state_bits)
        self.f_u, self.f_y = fx.f_z, fx.f_y
        # Ab*s (frac f_a + f_s) meets Bb*u (f_b + f_u); 2 C*s (f_c + f_s) meets D*u (f_d + f_u)
        self.al_s = alignment(self.f_b + self.f_u - (self.f_a + self.f_s), LA_MAX)
        self.al_y = alignment(self.f_d + self.f_u - (self.f_c + self.f_s), LY_MAX)
        self.s_lo, self.s_hi = limits(p.state_bits)

    def _commit_y(self, acc: np.ndarray):
        return commit_tensor(acc, self.f_c + self.f_s + self.al_y[0] - self.f_y, self.prec, self.prec.message_bits)

    def count(self, c, Lc: int, slots: int, work) -> None:
        super().count(c, Lc, slots, work[:2])
        c("saturations", work[2])


@runs(S4D, "fixed")
class FixedS4DRun(_FixedDiagonal, S4DRun):
    def __init__(self, part: S4D, ctx: Context):
        super().__init__(part, Context(dtype=np.float64, disc=ctx.disc, message=ctx.message))
        d = discretize(part, ctx.disc)
        self._quantise(d.Ab, d.Bb, d.C, d.D, ctx)
        self.dtype = np.int64

    def new_state(self, batch: int):
        st = super().new_state(batch)
        st.s_re, st.s_im = st.s_re.astype(np.int32), st.s_im.astype(np.int32)
        return st

    def run(self, u: np.ndarray, st, event: bool):
        B = u.shape[0]
        acc = np.zeros(u.shape, np.int64)
        fwd = np.zeros((B, 3), np.int64)
        sats = np.zeros(B, np.int64)
        (ar, ai), (br, bi), (cr, ci) = self.qa, self.qb, self.qc
        m = self.fx.trunc
        fixed_forward(u, ar, ai, br, bi, cr[0], ci[0], self.qd, self.f_a, self.al_s, self.al_y, m, self.s_lo,
                      self.s_hi, self.prec.saturate, st.s_re, st.s_im, st.u_prev, st.zero, event, acc, fwd, sats)
        bwd = np.zeros((B, 1), np.int64)
        if self.directions == 2:
            fixed_backward(u, ar, ai, br, bi, cr[1], ci[1], self.f_a, self.al_s, self.al_y[0], m, self.s_lo,
                           self.s_hi, self.prec.saturate, event, acc, bwd, sats)
        y, ysat = self._commit_y(acc)
        return y, (fwd, bwd, sats + ysat)

    @staticmethod
    def internal_ranges(part: S4D, disc: str, probe: dict) -> dict:
        d = discretize(part, disc)
        return {"ssm.state": _state_max(d.Ab, d.Bb, probe["z"], d.C.shape[0] == 2)}


@runs(S4DReal, "fixed")
class FixedS4DRealRun(_FixedDiagonal, S4DRealRun):
    def __init__(self, part: S4DReal, ctx: Context):
        super().__init__(part, Context(dtype=np.float64, disc=ctx.disc, message=ctx.message))
        d = part.discrete(ctx.disc)
        self._quantise(np.asarray(d.Ab, complex), np.asarray(d.Bb, complex), np.asarray(part.C, complex),
                       part.D, ctx)
        self.dtype = np.int64

    def new_state(self, batch: int):
        st = super().new_state(batch)
        st.s = st.s.astype(np.int32)
        st.u_prev = st.u_prev.astype(np.int64)
        return st

    def run(self, u: np.ndarray, st, event: bool):
        B = u.shape[0]
        acc = np.zeros(u.shape, np.int64)
        fwd = np.zeros((B, 3), np.int64)
        sats = np.zeros(B, np.int64)
        m = self.fx.trunc
        fixed_real_forward(u, self.qa[0], self.qb[0], self.qc[0][0], self.qd, self.f_a, self.al_s, self.al_y, m,
                           self.s_lo, self.s_hi, self.prec.saturate, st.s, st.u_prev, st.zero, event, acc, fwd,
                           sats)
        bwd = np.zeros((B, 1), np.int64)
        if self.directions == 2:
            fixed_real_backward(u, self.qa[0], self.qb[0], self.qc[0][1], self.f_a, self.al_s, self.al_y[0], m,
                                self.s_lo, self.s_hi, self.prec.saturate, event, acc, bwd, sats)
        y, ysat = self._commit_y(acc)
        return y, (fwd, bwd, sats + ysat)

    @staticmethod
    def internal_ranges(part: S4DReal, disc: str, probe: dict) -> dict:
        d = part.discrete(disc)
        return {"ssm.state": _state_max(np.asarray(d.Ab, complex), np.asarray(d.Bb, complex), probe["z"],
                                        part.C.shape[0] == 2)}


def _state_max(ab: np.ndarray, bb: np.ndarray, z: np.ndarray, backward: bool) -> float:
    """max |Re s|, |Im s| of the float64 recurrence on calibration inputs z (B, L, H), both directions."""
    B, L, H = z.shape
    m = 0.0
    for direction in ((0,) if not backward else (0, 1)):
        s = np.zeros((B, H, ab.shape[1]), complex)
        steps = range(L) if direction == 0 else range(L - 1, -1, -1)
        for t in steps:
            s = ab * s + bb * z[:, t, :, None]
            m = max(m, float(np.abs(s.real).max()), float(np.abs(s.imag).max()))
    return m


@njit(cache=True, parallel=True)
def fixed_forward(u, ar, ai, br, bi, cr, ci, d, f_a, al_s, al_y, trunc, lo, hi, sat, s_re, s_im, u_prev, zero,
                  event, acc, counts, sats):
    """Forward recurrence in integers, one fixed_block per sample over all its steps (acc (B, L, H) is
    written, skipped steps included). counts (B, 3) as the float kernel's; sats (B,)."""
    B, L, H = u.shape
    for b in prange(B):
        w = np.zeros(4, np.int64)
        fixed_block(u[b], L, ar, ai, br, bi, cr, ci, d, f_a, al_s, al_y, trunc, lo, hi, sat, s_re, s_im, u_prev,
                    zero, b, event, acc[b], w)
        for j in range(3):
            counts[b, j] += w[j]
        sats[b] += w[3]


@njit(cache=True)
def fixed_block(u, n, ar, ai, br, bi, cr, ci, d, f_a, al_s, al_y, trunc, lo, hi, sat, s_re, s_im, u_prev, zero,
                b, event, acc, w):
    """Sample b's forward recurrence over the first n rows of u (n, H): acc[k, h] = (2 Re(sum_n C s_k) << ly)
    + align(D u_k) at frac f_c + f_s + ly (0 where the event engine skips). al_s = (la, pb, lb) and al_y =
    (ly, pd, ld) from alignment(). The state rows s_*[b], u_prev[b], zero[b] carry over between calls (the
    fused driver calls this per time block). w[0:3] += mode updates, channel updates, input messages (as the
    float kernel's counts); w[3] += saturations. Coefficients and state are int32, products int64 (the shifts
    and clamps are branch-free, so the mode loop vectorises)."""
    H, n2 = ar.shape
    la, pb, lb = al_s
    ly, pd, ld = al_y
    fs = f_a + la
    plain = pb == 0 and lb == 0 and trunc == 0     # the usual case: Bb*u needs no shift, rounding is a floor
    modes = 0
    chans = 0
    msgs = 0
    nsat = 0
    for h in range(H):
        sr = s_re[b, h]
        si = s_im[b, h]
        last = u_prev[b, h]
        is_zero = zero[b, h]
        for t in range(n):
            x = u[t, h]
            if x != last:
                msgs += 1
                last = x
            if is_zero:
                if x == 0:
                    if event:
                        acc[t, h] = 0
                        continue
                else:
                    is_zero = False
            if not is_zero:
                modes += n2
                chans += 1
            x64 = np.int64(np.int32(x))
            yacc = np.int64(0)
            ns = np.int64(0)
            if plain:      # the same values as below with pb = lb = 0 and trunc = 0
                for m in range(n2):
                    a_r = np.int64(ar[h, m])
                    a_i = np.int64(ai[h, m])
                    s_r = np.int64(sr[m])
                    s_i = np.int64(si[m])
                    re = (((a_r * s_r - a_i * s_i) << la) + np.int64(br[h, m]) * x64) >> fs
                    im = (((a_r * s_i + a_i * s_r) << la) + np.int64(bi[h, m]) * x64) >> fs
                    if sat:
                        v, s1 = clamp(re, lo, hi)
                        z, s2 = clamp(im, lo, hi)
                    else:
                        v, s1 = commit(re, lo, hi, False)
                        z, s2 = commit(im, lo, hi, False)
                    sr[m] = v
                    si[m] = z
                    ns += s1 + s2
                    yacc += np.int64(cr[h, m]) * v - np.int64(ci[h, m]) * z
            else:
                for m in range(n2):
                    a_r = np.int64(ar[h, m])
                    a_i = np.int64(ai[h, m])
                    s_r = np.int64(sr[m])
                    s_i = np.int64(si[m])
                    re = ((a_r * s_r - a_i * s_i) << la) + (rshift_nb(np.int64(br[h, m]) * x64, pb, trunc) << lb)
                    im = ((a_r * s_i + a_i * s_r) << la) + (rshift_nb(np.int64(bi[h, m]) * x64, pb, trunc) << lb)
                    re = rshift_nb(re, fs, trunc)
                    im = rshift_nb(im, fs, trunc)
                    if sat:
                        v, s1 = clamp(re, lo, hi)
                        z, s2 = clamp(im, lo, hi)
                    else:
                        v, s1 = commit(re, lo, hi, False)
                        z, s2 = commit(im, lo, hi, False)
                    sr[m] = v
                    si[m] = z
                    ns += s1 + s2
                    yacc += np.int64(cr[h, m]) * v - np.int64(ci[h, m]) * z
            nsat += ns
            acc[t, h] = ((2 * yacc) << ly) + (rshift_nb(np.int64(d[h]) * x64, pd, trunc) << ld)
        u_prev[b, h] = last
        zero[b, h] = is_zero
    w[0] += modes
    w[1] += chans
    w[2] += msgs
    w[3] += nsat


@njit(cache=True, parallel=True)
def fixed_backward(u, ar, ai, br, bi, cr, ci, f_a, al_s, ly, trunc, lo, hi, sat, event, acc, counts, sats):
    """r_t = Ab r_t+1 + Bb u_t (r_L = 0); acc_t += 2 Re(sum_n C1 r_t+1). counts (B, 1): mode updates."""
    B, L, H = u.shape
    n2 = ar.shape[1]
    la, pb, lb = al_s
    fs = f_a + la
    for b in prange(B):
        modes = 0
        nsat = 0
        rr = np.empty(n2, np.int32)
        ri = np.empty(n2, np.int32)
        for h in range(H):
            for n in range(n2):
                rr[n] = 0
                ri[n] = 0
            is_zero = True
            for t in range(L - 1, -1, -1):
                x = u[b, t, h]
                skip = is_zero and x == 0
                if skip and event:
                    continue
                yacc = np.int64(0)
                for n in range(n2):
                    yacc += np.int64(cr[h, n]) * np.int64(rr[n]) - np.int64(ci[h, n]) * np.int64(ri[n])
                acc[b, t, h] += (2 * yacc) << ly
                if not skip:
                    modes += n2
                    is_zero = False
                x64 = np.int64(np.int32(x))
                for n in range(n2):
                    a_r = np.int64(ar[h, n])
                    a_i = np.int64(ai[h, n])
                    s_r = np.int64(rr[n])
                    s_i = np.int64(ri[n])
                    re = rshift_nb(((a_r * s_r - a_i * s_i) << la)
                                   + (rshift_nb(np.int64(br[h, n]) * x64, pb, trunc) << lb), fs, trunc)
                    im = rshift_nb(((a_r * s_i + a_i * s_r) << la)
                                   + (rshift_nb(np.int64(bi[h, n]) * x64, pb, trunc) << lb), fs, trunc)
                    if sat:
                        v, s1 = clamp(re, lo, hi)
                        w, s2 = clamp(im, lo, hi)
                    else:
                        v, s1 = commit(re, lo, hi, False)
                        w, s2 = commit(im, lo, hi, False)
                    rr[n] = v
                    ri[n] = w
                    nsat += s1 + s2
        counts[b, 0] += modes
        sats[b] += nsat


@njit(cache=True, parallel=True)
def fixed_real_forward(u, a, bb, c, d, f_a, al_s, al_y, trunc, lo, hi, sat, s, u_prev, zero, event, acc, counts,
                       sats):
    """Real modes, one fixed_real_block per sample over all its steps (as fixed_forward)."""
    B, L, H = u.shape
    for b in prange(B):
        w = np.zeros(4, np.int64)
        fixed_real_block(u[b], L, a, bb, c, d, f_a, al_s, al_y, trunc, lo, hi, sat, s, u_prev, zero, b, event,
                         acc[b], w)
        for j in range(3):
            counts[b, j] += w[j]
        sats[b] += w[3]


@njit(cache=True)
def fixed_real_block(u, n, a, bb, c, d, f_a, al_s, al_y, trunc, lo, hi, sat, s, u_prev, zero, b, event, acc, w):
    """Real modes, as fixed_block: s = commit(rshift(Ab s + align(Bb u), f_a)); acc = 2 sum_n C s + align(D u)."""
    H, n2 = a.shape
    la, pb, lb = al_s
    ly, pd, ld = al_y
    fs = f_a + la
    plain = pb == 0 and lb == 0 and trunc == 0     # the usual case: Bb*u needs no shift, rounding is a floor
    modes = 0
    chans = 0
    msgs = 0
    nsat = 0
    for h in range(H):
        sr = s[b, h]
        last = u_prev[b, h]
        is_zero = zero[b, h]
        for t in range(n):
            x = u[t, h]
            if x != last:
                msgs += 1
                last = x
            if is_zero:
                if x == 0:
                    if event:
                        acc[t, h] = 0
                        continue
                else:
                    is_zero = False
            if not is_zero:
                modes += n2
                chans += 1
            x64 = np.int64(np.int32(x))
            yacc = np.int64(0)
            ns = np.int64(0)
            if plain:      # the same values as below with pb = lb = 0 and trunc = 0
                for m in range(n2):
                    r = (((np.int64(a[h, m]) * np.int64(sr[m])) << la) + np.int64(bb[h, m]) * x64) >> fs
                    if sat:
                        v, s1 = clamp(r, lo, hi)
                    else:
                        v, s1 = commit(r, lo, hi, False)
                    sr[m] = v
                    ns += s1
                    yacc += np.int64(c[h, m]) * v
            else:
                for m in range(n2):
                    r = rshift_nb(((np.int64(a[h, m]) * np.int64(sr[m])) << la)
                                  + (rshift_nb(np.int64(bb[h, m]) * x64, pb, trunc) << lb), fs, trunc)
                    if sat:
                        v, s1 = clamp(r, lo, hi)
                    else:
                        v, s1 = commit(r, lo, hi, False)
                    sr[m] = v
                    ns += s1
                    yacc += np.int64(c[h, m]) * v
            nsat += ns
            acc[t, h] = ((2 * yacc) << ly) + (rshift_nb(np.int64(d[h]) * x64, pd, trunc) << ld)
        u_prev[b, h] = last
        zero[b, h] = is_zero
    w[0] += modes
    w[1] += chans
    w[2] += msgs
    w[3] += nsat


@njit(cache=True, parallel=True)
def fixed_real_backward(u, a, bb, c, f_a, al_s, ly, trunc, lo, hi, sat, event, acc, counts, sats):
    B, L, H = u.shape
    n2 = a.shape[1]
    la, pb, lb = al_s
    fs = f_a + la
    for b in prange(B):
        modes = 0
        nsat = 0
        rr = np.empty(n2, np.int32)
        for h in range(H):
            for n in range(n2):
                rr[n] = 0
            is_zero = True
            for t in range(L - 1, -1, -1):
                x = u[b, t, h]
                skip = is_zero and x == 0
                if skip and event:
                    continue
                yacc = np.int64(0)
                for n in range(n2):
                    yacc += np.int64(c[h, n]) * np.int64(rr[n])
                acc[b, t, h] += (2 * yacc) << ly
                if not skip:
                    modes += n2
                    is_zero = False
                x64 = np.int64(np.int32(x))
                for n in range(n2):
                    r = rshift_nb(((np.int64(a[h, n]) * np.int64(rr[n])) << la)
                                  + (rshift_nb(np.int64(bb[h, n]) * x64, pb, trunc) << lb), fs, trunc)
                    if sat:
                        v, s1 = clamp(r, lo, hi)
                    else:
                        v, s1 = commit(r, lo, hi, False)
                    rr[n] = v
                    nsat += s1
        counts[b, 0] += modes
        sats[b] += nsat
