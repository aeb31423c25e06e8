"""S5 (one complex state of P modes per sample, driven by all H inputs) in integer fixed point.

    w = sum_h Bb[:, h] u_h                                   (int64, exact)
    x = commit_state( rshift( Ab x + rshift(w, k_b), f_A ) )
    y_h = commit_message( rshift( sum_p Re(C[h, p] x_p) + align(D_h u_h), f_C + f_s - f_y ) )

Dense: w is summed from every input every step. Event: w is kept and moved by Bb[:, h] (u_h - held_h) only for
the inputs that changed. Integer sums do not depend on their order, so both give the same w and the same bits.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from models.parts import S5
from simulator.fixed_point import commit, commit_tensor, limits, quantise, rshift, weight_frac
from simulator.parts.base import Context, changed, runs
from simulator.parts.s5 import S5Run


@dataclass
class FixedS5State:
    x_re: np.ndarray     # (B, P) state
    x_im: np.ndarray
    u_held: np.ndarray   # (B, H) last input value of each channel
    w_re: np.ndarray     # (B, P) drive Bb u (int64, exact)
    w_im: np.ndarray


@runs(S5, "fixed")
class FixedS5Run(S5Run):
    def __init__(self, part: S5, ctx: Context):
        super().__init__(part, Context(dtype=np.float64, disc=ctx.disc, message=ctx.message))
        fx = ctx.fixed
        p = fx.precision
        self.fx, self.prec = fx, p
        ab, bb = part.discrete(ctx.disc)
        bits = p.coef_bits + 1
        both = lambda z: np.concatenate([np.real(z).ravel(), np.imag(z).ravel()])  # noqa: E731
        self.f_a, self.f_b, self.f_c = weight_frac(both(ab), bits), weight_frac(both(bb), bits), \
            weight_frac(both(part.C), bits)
        self.f_d = weight_frac(part.D, bits)
        q = lambda a, f: quantise(a, f, p.weight_rounding, bits)  # noqa: E731
        self.qa = (q(ab.real, self.f_a), q(ab.imag, self.f_a))
        self.qb = (q(bb.T.real, self.f_b), q(bb.T.imag, self.f_b))     # (H, P)
        self.qc = (q(part.C.real, self.f_c), q(part.C.imag, self.f_c))
        self.qd = q(part.D, self.f_d)
        self.f_s = fx.frac("ssm.state", p.state_bits)
        self.k_b = self.f_b + fx.f_z - (self.f_a + self.f_s)
        self.k_d = self.f_d + fx.f_z - (self.f_c + self.f_s)
        self.s_lo, self.s_hi = limits(p.state_bits)
        self.dtype = np.int64

    def new_state(self, batch: int) -> FixedS5State:
        P, H = self.modes, self.H
        z = lambda *s: np.zeros(s, np.int64)  # noqa: E731
        return FixedS5State(z(batch, P), z(batch, P), z(batch, H), z(batch, P), z(batch, P))

    def run(self, u: np.ndarray, st: FixedS5State, event: bool):
        moved = changed(u, st.u_held)
        acc = np.empty(u.shape, np.int64)
        sats = np.zeros(u.shape[0], np.int64)
        fixed_s5(u, self.qa[0], self.qa[1], self.qb[0], self.qb[1], self.qc[0], self.qc[1], self.qd, self.f_a,
                 self.k_b, self.k_d, self.fx.mode, self.s_lo, self.s_hi, self.prec.saturate, st.x_re, st.x_im,
                 st.u_held, st.w_re, st.w_im, event, acc, sats)
        y, ysat = commit_tensor(acc, self.f_c + self.f_s - self.fx.f_y, self.prec, self.prec.message_bits)
        # what S5Run.count reads: per sample, the inputs that changed and their non-zero B entries
        work = np.stack([moved.sum(axis=(1, 2)), (moved * self.b_fan_out).sum(axis=(1, 2))], axis=1)
        return y, (work.astype(np.int64), sats + ysat)

    def count(self, c, Lc: int, slots: int, work) -> None:
        super().count(c, Lc, slots, work[0])
        c("saturations", work[1])

    @staticmethod
    def internal_ranges(part: S5, disc: str, probe: dict) -> dict:
        ab, bb = part.discrete(disc)
        z = probe["z"]
        x = np.zeros((z.shape[0], ab.shape[0]), complex)
        m = 0.0
        for t in range(z.shape[1]):
            x = ab * x + z[:, t] @ bb.T
            m = max(m, float(np.abs(x.real).max()), float(np.abs(x.imag).max()))
        return {"ssm.state": m}


@njit(cache=True, parallel=True)
def fixed_s5(u, a_re, a_im, b_re, b_im, c_re, c_im, d, f_a, k_b, k_d, mode, lo, hi, sat, x_re, x_im, u_held,
             w_re, w_im, event, acc, sats):
    B, L, H = u.shape
    P = a_re.shape[0]
    for b in prange(B):
        xr = x_re[b]
        xi = x_im[b]
        wr = w_re[b]
        wi = w_im[b]
        nsat = 0
        for t in range(L):
            if event:
                for h in range(H):
                    v = u[b, t, h]
                    dv = v - u_held[b, h]
                    if dv != 0:
                        u_held[b, h] = v
                        for p in range(P):
                            wr[p] += b_re[h, p] * dv
                            wi[p] += b_im[h, p] * dv
            else:
                for p in range(P):
                    wr[p] = 0
                    wi[p] = 0
                for h in range(H):
                    v = u[b, t, h]
                    u_held[b, h] = v
                    for p in range(P):
                        wr[p] += b_re[h, p] * v
                        wi[p] += b_im[h, p] * v
            for p in range(P):
                re = a_re[p] * xr[p] - a_im[p] * xi[p] + rshift(wr[p], k_b, mode)
                im = a_re[p] * xi[p] + a_im[p] * xr[p] + rshift(wi[p], k_b, mode)
                v1, s1 = commit(rshift(re, f_a, mode), lo, hi, sat)
                v2, s2 = commit(rshift(im, f_a, mode), lo, hi, sat)
                xr[p] = v1
                xi[p] = v2
                nsat += s1 + s2
            for h in range(H):
                yacc = 0
                for p in range(P):
                    yacc += c_re[h, p] * xr[p] - c_im[h, p] * xi[p]
                acc[b, t, h] = yacc + rshift(d[h] * u[b, t, h], k_d, mode)
        sats[b] += nsat
