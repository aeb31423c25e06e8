"""Real S4D runner: S4D's recurrence with real modes (one multiply-add per mode instead of a complex one)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from models.parts import S4DReal
from simulator.kernels import _sum4
from simulator.parts.base import Context, runs


@dataclass
class S4DRealState:
    s: np.ndarray       # (B, H, modes) forward state
    u_prev: np.ndarray  # (B, H) last input value of each channel (input messages are changes)
    zero: np.ndarray    # (B, H) True while a channel's state is exactly zero (event engine skips it)


@runs(S4DReal)
class S4DRealRun:
    def __init__(self, part: S4DReal, ctx: Context):
        d = part.discrete(ctx.disc)
        arr = lambda a: np.ascontiguousarray(a, dtype=ctx.dtype)  # noqa: E731
        self.dtype = ctx.dtype
        self.a, self.b, self.c, self.d = arr(d.Ab), arr(d.Bb), arr(part.C), arr(part.D)
        self.modes, self.directions = self.a.shape[1], self.c.shape[0]

    def new_state(self, batch: int) -> S4DRealState:
        H = self.a.shape[0]
        return S4DRealState(np.zeros((batch, H, self.modes), self.dtype), np.zeros((batch, H), self.dtype),
                            np.ones((batch, H), np.bool_))

    def run(self, u: np.ndarray, st: S4DRealState, event: bool):
        """y (B, L, H); work = (forward counts (B, 3), backward counts (B, 1)), as S4D's runner."""
        B = u.shape[0]
        y = np.zeros_like(u)
        fwd = np.zeros((B, 3), np.int64)
        real_forward(u, self.a, self.b, self.c[0], self.d, st.s, st.u_prev, st.zero, event, y, fwd)
        bwd = np.zeros((B, 1), np.int64)
        if self.directions == 2:
            real_backward(u, self.a, self.b, self.c[1], event, y, bwd)
        return y, (fwd, bwd)

    def count(self, c, Lc: int, slots: int, work) -> None:
        fwd, bwd = work
        c("real_mode_updates", fwd[:, 0] + bwd[:, 0])
        # The dense network's state work; energy/ prices it by the layer's needs (state: real).
        c("dense_mode_updates", slots * self.modes * self.directions)
        c("channel_updates", fwd[:, 1])
        c("messages", fwd[:, 2])
        c("graded_macs", fwd[:, 2] * self.modes)   # the drive Bb*u of each mode, when the input changes

    def modes_per_layer(self, H: int) -> int:
        return H * self.modes


@njit(cache=True, parallel=True, fastmath=False)
def real_forward(u, a, bb, c, d, s, u_prev, zero, event, y, counts):
    """Every sample through real_block over all its steps (y starts at zero)."""
    B, L, H = u.shape
    for b in prange(B):
        p = np.empty(a.shape[1], y.dtype)
        real_block(u[b], L, a, bb, c, d, s, u_prev, zero, b, event, y[b], counts, p)


@njit(cache=True)
def real_block(u, n, a, bb, c, d, s, u_prev, zero, b, event, y, counts, p):
    """s_t = Ab s_t-1 + Bb u_t;  y_t = 2 sum_n C s_t + D u_t for the first n rows of sample b, with S4D's
    skipping and counts[b] += (mode updates, channel updates, input messages). The same operations as the
    complex kernel's with zero imaginary parts, so the two agree bit for bit on such a network."""
    H, n2 = a.shape
    zero_v = p.dtype.type(0)   # constants in the run dtype (as in kernels.ssm_block)
    modes = 0
    chans = 0
    msgs = 0
    for h in range(H):
        ah, bh, ch, sr = a[h], bb[h], c[h], s[b, h]
        last = u_prev[b, h]
        is_zero = zero[b, h]
        for k in range(n):
            x = u[k, h]
            if x != last:
                msgs += 1
                last = x
            if is_zero:
                if x == 0.0:
                    if event:
                        y[k, h] = zero_v
                        continue
                else:
                    is_zero = False
            if not is_zero:
                modes += n2
                chans += 1
            for m in range(n2):
                r = ah[m] * sr[m] + bh[m] * x
                sr[m] = r
                p[m] = ch[m] * r
            acc = _sum4(p, n2)
            y[k, h] = zero_v + ((acc + acc) + d[h] * x)   # acc + acc = 2 acc exactly; as in kernels.ssm_block
        u_prev[b, h] = last
        zero[b, h] = is_zero
    counts[b, 0] += modes
    counts[b, 1] += chans
    counts[b, 2] += msgs


@njit(cache=True, parallel=True, fastmath=False)
def real_backward(u, a, bb, c, event, y, counts):
    """r_t = Ab r_t+1 + Bb u_t (r_L = 0);  y_t += 2 sum_n C1 r_t+1 (strictly future inputs). counts (B, 1)."""
    B, L, H = u.shape
    n2 = a.shape[1]
    for b in prange(B):
        rr = np.empty(n2, y.dtype)
        p = np.empty(n2, y.dtype)
        modes = 0
        for h in range(H):
            for n in range(n2):
                rr[n] = 0.0
            is_zero = True
            for t in range(L - 1, -1, -1):
                x = u[b, t, h]
                skip = is_zero and x == 0.0
                if skip and event:
                    continue
                for n in range(n2):   # one pass: the readout of r_{t+1}, then its update (as kernels.ssm_backward)
                    r0 = rr[n]
                    p[n] = c[h, n] * r0
                    rr[n] = a[h, n] * r0 + bb[h, n] * x
                acc = _sum4(p, n2)
                y[b, t, h] += acc + acc
                if not skip:
                    modes += n2
                    is_zero = False
        counts[b, 0] += modes
