"""S5 runner: one complex state of P modes per sample, driven by all H inputs through B and read by C."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from models.parts import S5
from simulator.parts.base import Context, runs


@dataclass
class S5State:
    x_re: np.ndarray     # (B, P) state
    x_im: np.ndarray
    u_held: np.ndarray   # (B, H) last input value of each channel
    q_re: np.ndarray     # (B, H, P) cached drive of each input, Bb[:, h] * u_h (event engine)
    q_im: np.ndarray
    w_re: np.ndarray     # (B, P) cached total drive Bb u (event engine)
    w_im: np.ndarray


@runs(S5)
class S5Run:
    def __init__(self, part: S5, ctx: Context):
        ab, bb = part.discrete(ctx.disc)
        arr = lambda a: np.ascontiguousarray(a, dtype=ctx.dtype)  # noqa: E731
        self.dtype = ctx.dtype
        self.a_re, self.a_im = arr(ab.real), arr(ab.imag)
        self.b_re, self.b_im = arr(bb.T.real), arr(bb.T.imag)   # (H, P): row h is what input h drives
        self.c_re, self.c_im, self.d = arr(part.C.real), arr(part.C.imag), arr(part.D)
        self.modes, self.H = part.modes, part.D.shape[0]
        self.b_fan_out = np.count_nonzero(bb, axis=0).astype(np.int64)   # modes each input drives
        self.c_nonzero = int(np.count_nonzero(part.C))

    def new_state(self, batch: int) -> S5State:
        P, H, f = self.modes, self.H, self.dtype
        return S5State(np.zeros((batch, P), f), np.zeros((batch, P), f), np.zeros((batch, H), f),
                       np.zeros((batch, H, P), f), np.zeros((batch, H, P), f), np.zeros((batch, P), f),
                       np.zeros((batch, P), f))

    def run(self, u: np.ndarray, st: S5State, event: bool):
        """y (B, L, H); work (B, 2) = inputs that changed and their non-zero B entries (the same in both engines)."""
        y = np.empty_like(u)
        work = np.zeros((u.shape[0], 2), np.int64)
        s5_forward(u, self.a_re, self.a_im, self.b_re, self.b_im, self.c_re, self.c_im, self.d, st.x_re, st.x_im,
                   st.u_held, st.q_re, st.q_im, st.w_re, st.w_im, event, y, self.b_fan_out, work)
        return y, work

    def count(self, c, Lc: int, slots: int, work) -> None:
        B = work.shape[0]
        c("mode_updates", np.full(B, Lc * self.modes))
        c("dense_mode_updates", np.full(B, Lc * self.modes))
        c("channel_updates", np.full(B, slots))
        c("messages", work[:, 0])
        # B u: a changed input drives its non-zero column of B; readout Re(C x): every non-zero C each step.
        c("graded_macs", work[:, 1] + Lc * self.c_nonzero)

    def modes_per_layer(self, H: int) -> int:
        return self.modes


@njit(cache=True, parallel=True, fastmath=False)
def s5_forward(u, a_re, a_im, b_re, b_im, c_re, c_im, d, x_re, x_im, u_held, q_re, q_im, w_re, w_im, event, y,
               b_fan_out, counts):
    """Every sample through s5_block over all its steps."""
    B, L, H = u.shape
    for b in prange(B):
        s5_block(u[b], L, a_re, a_im, b_re, b_im, c_re, c_im, d, x_re, x_im, u_held, q_re, q_im, w_re, w_im, b,
                 event, y[b], b_fan_out, counts)


@njit(cache=True)
def s5_block(u, n, a_re, a_im, b_re, b_im, c_re, c_im, d, x_re, x_im, u_held, q_re, q_im, w_re, w_im, b, event, y,
             b_fan_out, counts):
    """x_t = Ab x_t-1 + sum_h Bb[:, h] u_t[h];  y_t[h] = sum_p Re(C[h, p] x_t[p]) + D[h] u_t[h], for the first
    n rows of sample b (state rows [b] carry over between calls).

    Dense: the drive is summed from every input every step. Event: an input's drive column q_h = Bb[:, h] u_h
    is recomputed only when u_h changes, and the total re-summed (same order: ascending h) only when some
    input changed; otherwise the last total is reused. The sums are the same, so the engines agree bit for bit.
    counts[b] += (inputs that changed, their non-zero B entries), the same in both engines.
    """
    H = u.shape[1]
    P = a_re.shape[0]
    xr = x_re[b]
    xi = x_im[b]
    wr = w_re[b]
    wi = w_im[b]
    msgs = 0
    macs = 0
    for t in range(n):
        if event:
            moved = False
            for h in range(H):
                v = u[t, h]
                if v != u_held[b, h]:
                    u_held[b, h] = v
                    moved = True
                    msgs += 1
                    macs += b_fan_out[h]
                    for p in range(P):
                        q_re[b, h, p] = b_re[h, p] * v
                        q_im[b, h, p] = b_im[h, p] * v
            if moved:
                for p in range(P):
                    wr[p] = 0.0
                    wi[p] = 0.0
                for h in range(H):
                    for p in range(P):
                        wr[p] += q_re[b, h, p]
                        wi[p] += q_im[b, h, p]
        else:
            for p in range(P):
                wr[p] = 0.0
                wi[p] = 0.0
            for h in range(H):
                v = u[t, h]
                if v != u_held[b, h]:
                    msgs += 1
                    macs += b_fan_out[h]
                u_held[b, h] = v
                for p in range(P):
                    wr[p] += b_re[h, p] * v
                    wi[p] += b_im[h, p] * v
        for p in range(P):
            r = a_re[p] * xr[p] - a_im[p] * xi[p] + wr[p]
            i = a_re[p] * xi[p] + a_im[p] * xr[p] + wi[p]
            xr[p] = r
            xi[p] = i
        for h in range(H):
            acc = y.dtype.type(0)   # in the run dtype
            for p in range(P):
                acc += c_re[h, p] * xr[p] - c_im[h, p] * xi[p]
            y[t, h] = acc + d[h] * u[t, h]
    counts[b, 0] += msgs
    counts[b, 1] += macs
