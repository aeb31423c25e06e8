"""S4D SSM runner: the recurrences of simulator/vector_ssm.py (kernels.ssm_forward and ssm_backward with each
channel's state in vector registers, the same bits), one state per batch."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.discretize import discretize
from models.parts import S4D
from simulator import vector_ssm
from simulator.parts.base import Context, runs


@dataclass
class S4DState:
    s_re: np.ndarray    # (B, H, N/2) forward state
    s_im: np.ndarray
    u_prev: np.ndarray  # (B, H) last input value of each channel (input messages are changes)
    zero: np.ndarray    # (B, H) True while a channel's state is exactly zero (event engine skips it)


@runs(S4D)
class S4DRun:
    def __init__(self, part: S4D, ctx: Context):
        d = discretize(part, ctx.disc)
        arr = lambda a: np.ascontiguousarray(a, dtype=ctx.dtype)  # noqa: E731
        self.dtype = ctx.dtype
        self.a_re, self.a_im, self.b_re, self.b_im = arr(d.Ab.real), arr(d.Ab.imag), arr(d.Bb.real), arr(d.Bb.imag)
        self.c_re, self.c_im, self.d = arr(d.C.real), arr(d.C.imag), arr(d.D)
        self.modes, self.directions = self.a_re.shape[1], self.c_re.shape[0]

    def new_state(self, batch: int) -> S4DState:
        H, f = self.a_re.shape[0], self.dtype
        return S4DState(np.zeros((batch, H, self.modes), f), np.zeros((batch, H, self.modes), f),
                        np.zeros((batch, H), f), np.ones((batch, H), np.bool_))

    def run(self, u: np.ndarray, st: S4DState, event: bool):
        """y (B, L, H) for input u; work = (forward counts (B, 3), backward counts (B, 1))."""
        B = u.shape[0]
        y = np.zeros_like(u)
        fwd = np.zeros((B, 3), np.int64)
        walker = vector_ssm.walker_kernels(*self.a_re.shape)   # kernels.ssm_forward/backward, state in registers
        walker.ssm_forward(u, self.a_re, self.a_im, self.b_re, self.b_im, self.c_re[0], self.c_im[0], self.d,
                           st.s_re, st.s_im, st.u_prev, st.zero, event, y, fwd)
        bwd = np.zeros((B, 1), np.int64)
        if self.directions == 2:
            walker.ssm_backward(u, self.a_re, self.a_im, self.b_re, self.b_im, self.c_re[1], self.c_im[1], event,
                                y, bwd)
        return y, (fwd, bwd)

    def count(self, c, Lc: int, slots: int, work) -> None:
        fwd, bwd = work
        c("mode_updates", fwd[:, 0] + bwd[:, 0])
        c("dense_mode_updates", slots * self.modes * self.directions)
        c("channel_updates", fwd[:, 1])
        # The input drive Bb*u of each mode is recomputed when the channel's input value changes.
        c("messages", fwd[:, 2])
        c("graded_macs", fwd[:, 2] * self.modes)

    def modes_per_layer(self, H: int) -> int:
        return H * self.modes
