"""What each part runner contributes to the fused driver: the line of generated code that calls its block
kernel (simulator/fused/blocks.py) and the arrays that line names. A runner class without a piece here keeps
the network on the walker (simulator/engine.py).

In the generated code: `h` is the block's hidden rows (TB, H), `y` the SSM output, `spk`/`spk3` the spikes
(as (TB, H) and (1, TB, H)), `snt` graded sent values, `o` the mixing output, `zb` and `pscr` scratch; `b` is
the sample, `t0`/`n` the block, `ev` the engine's event flag; `{p}` prefixes the part's own arrays.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from simulator.parts.activation import GELURun, HeavisideRun
from simulator.parts.mixing import GLURun
from simulator.parts.norm import BatchNormRun
from simulator.parts.s4d import S4DRun


@dataclass(frozen=True)
class Piece:
    call: str                  # one line of generated code
    bind: Callable             # (runner, state, work) -> {name: array} named in `call` as {p}name
    sent: str = ""             # activations: 'spikes' (int8) or 'graded' (run dtype)


def ssm_piece(r) -> Piece | None:
    if isinstance(r, S4DRun) and r.directions == 1:
        return Piece("kernels.ssm_block(h, n, {p}a_re, {p}a_im, {p}b_re, {p}b_im, {p}c_re, {p}c_im, {p}d, {p}s_re, "
                     "{p}s_im, {p}u_prev, {p}zero, b, ev, y, {p}work, pscr)",
                     lambda r, st, work: dict(a_re=r.a_re, a_im=r.a_im, b_re=r.b_re, b_im=r.b_im, c_re=r.c_re[0],
                                              c_im=r.c_im[0], d=r.d, s_re=st.s_re, s_im=st.s_im,
                                              u_prev=st.u_prev, zero=st.zero, work=work))
    return None


def activation_piece(r) -> Piece | None:
    if isinstance(r, HeavisideRun):
        return Piece("blocks.heaviside(y, n, spk)", lambda r, st, work: {}, sent="spikes")
    if isinstance(r, GELURun):
        return Piece("blocks.gelu(y, n, snt)", lambda r, st, work: {}, sent="graded")
    return None


def mixing_piece(r, sent: str) -> Piece | None:
    if isinstance(r, GLURun):
        if sent == "spikes":
            return Piece("blocks.spikes_glu(spk3, n, {p}w_rows, {p}bias, ev, zb, o)",
                         lambda r, st, work: dict(w_rows=r.w_rows, bias=r.bias))
        return Piece("blocks.graded_glu(snt, n, {p}w_rows, {p}bias, {p}held[b], {p}z_held[b], ev, zb, o)",
                     lambda r, st, work: dict(w_rows=r.w_rows, bias=r.bias, held=st.held, z_held=st.z_held))
    return None


def norm_piece(r, residual: bool) -> Piece | None:
    """The norm that follows the residual sum (postnorm)."""
    if isinstance(r, BatchNormRun) and residual:
        return Piece("blocks.residual_batch_norm(h, o, n, {p}mean, {p}sd, {p}weight, {p}bias)",
                     lambda r, st, work: dict(mean=r.mean, sd=r.sd, weight=r.weight, bias=r.bias))
    return None
