"""What each part runner contributes to the fused driver: the line of generated code that calls its per-sample
block kernel (the same function its layer-at-a-time kernel calls) and the arrays that line names. A runner
class without a piece here (fixed-point runners: in fixed_pieces.py) keeps the network on the walker
(simulator/engine.py).

Names in the generated code: `h` the block's hidden rows (TB, H); `u` the SSM's input (`h`, or the prenorm's
output); `y` the SSM output; `spk`/`spk3` spikes as (TB, H) / (1, TB, H) int8; `snt` graded sent values; `o`
the mixing output; `zb`, `q`, `g`, `pscr` scratch; `b` the sample, `n` the block's steps, `ev` the event flag.
`{p}` prefixes the part's own arguments, which `bind` returns by name. Runner classes match exactly: a
subclass (the fixed-point runners subclass the float ones) has other kernels and no piece until it says so.
"""
from __future__ import annotations

import numpy as np

from simulator import kernels, vector_mix, vector_ssm
from simulator.fused import fixed_pieces, fixed_shapes
from simulator.fused.piece import Piece
from simulator.parts.activation import GELURun, HeavisideRun, TernaryRun
from simulator.parts.lif import LIFRun
from simulator.parts.linear import LinearRun
from simulator.parts.mixing import GLURun, GSURun
from simulator.parts.norm import BatchNormRun, LayerNormRun
from simulator.parts.s4d import S4DRun
from simulator.parts.s4d_real import S4DRealRun
from simulator.parts.s5 import S5Run
from simulator.parts.sigma_delta import ReLUSigmaDeltaRun


def _s4d_work(w):
    return w, np.zeros((w.shape[0], 1), np.int64)   # (forward counts, no backward pass)


def ssm_piece(r) -> Piece | None:
    if type(r) is S4DRun and r.directions == 1:
        name = "ssm_block_%dx%d" % r.a_re.shape   # with the sizes written in (simulator/fused/fixed_shapes.py)
        return Piece(name + "({u}, n, {p}a_re, {p}a_im, {p}b_re, {p}b_im, {p}c_re, {p}c_im, {p}d, {p}s_re, "
                     "{p}s_im, {p}u_prev, {p}zero, b, ev, y, {p}work)",
                     lambda r, st, work, shape: dict(a_re=r.a_re, a_im=r.a_im, b_re=r.b_re, b_im=r.b_im,
                                                     c_re=r.c_re[0], c_im=r.c_im[0], d=r.d, s_re=st.s_re,
                                                     s_im=st.s_im, u_prev=st.u_prev, zero=st.zero, work=work),
                     work=_s4d_work, defs=fixed_shapes.source(vector_ssm.ssm_block, name, "a_re", r.a_re.shape))
    if type(r) is S4DRealRun and r.directions == 1:
        return Piece("real_block({u}, n, {p}a, {p}bb, {p}c, {p}d, {p}s, {p}u_prev, {p}zero, b, ev, y, {p}work, pscr)",
                     lambda r, st, work, shape: dict(a=r.a, bb=r.b, c=r.c[0], d=r.d, s=st.s, u_prev=st.u_prev,
                                                     zero=st.zero, work=work),
                     work=_s4d_work)
    if type(r) is S5Run:
        return Piece("s5_block({u}, n, {p}a_re, {p}a_im, {p}b_re, {p}b_im, {p}c_re, {p}c_im, {p}d, {p}x_re, "
                     "{p}x_im, {p}u_held, {p}q_re, {p}q_im, {p}w_re, {p}w_im, b, ev, y, {p}fan_out, {p}work)",
                     lambda r, st, work, shape: dict(a_re=r.a_re, a_im=r.a_im, b_re=r.b_re, b_im=r.b_im,
                                                     c_re=r.c_re, c_im=r.c_im, d=r.d, x_re=st.x_re, x_im=st.x_im,
                                                     u_held=st.u_held, q_re=st.q_re, q_im=st.q_im, w_re=st.w_re,
                                                     w_im=st.w_im, fan_out=r.b_fan_out, work=work))
    return fixed_pieces.ssm_piece(r)


def _lif_bind(r, st, work, shape):
    if st.v is None:           # made at the first chunk, as LIFRun.run does
        st.v = np.zeros(shape, r.dtype)
    st.updates = np.zeros(shape[0], np.int64)
    return dict(beta=r.beta, vth=r.vth, hard=r.hard, v=st.v, updates=st.updates)


def _sigma_delta_bind(r, st, work, shape):
    if st[0] is None:          # made at the first chunk, as ReLUSigmaDeltaRun.run does
        st[0] = np.zeros(shape, r.dtype)
    return dict(vth=r.vth, held=st[0])


def activation_piece(r) -> Piece | None:
    if type(r) is HeavisideRun:
        return Piece("blocks.heaviside(y, n, spk)", sent="spikes")
    if type(r) is TernaryRun:
        return Piece("ternary_block(y, n, {p}ratio, spk)", lambda r, st, work, shape: dict(ratio=r.ratio),
                     sent="spikes")
    if type(r) is LIFRun:
        return Piece("lif_block(y, n, {p}beta, {p}vth, {p}hard, {p}v[b], spk, {p}updates, b)", _lif_bind,
                     sent="spikes")
    if type(r) is GELURun:
        return Piece("gelu_block(y, n, snt)", sent="graded")
    if type(r) is ReLUSigmaDeltaRun:
        return Piece("sigma_delta_block(y, n, {p}vth, {p}held[b], snt)", _sigma_delta_bind, sent="graded")
    return fixed_pieces.activation_piece(r)


def _spike_block(w_rows) -> tuple[str, str]:
    """The name and source of the spike mixing's block kernel with w_rows' sizes written in."""
    rows, block = "_spike_rows_%dx%d" % w_rows.shape, "_spike_block_%dx%d" % w_rows.shape
    return block, (fixed_shapes.source(vector_mix.add_spike_rows, rows, "w_rows", w_rows.shape) + "\n\n" +
                   fixed_shapes.source(kernels._spike_block, block, "w_rows", w_rows.shape[1:],
                                       renames={"add_spike_rows": rows}))


def mixing_piece(r, sent: str) -> Piece | None:
    spikes = sent == "spikes"
    if type(r) is GLURun:
        if spikes:
            block, defs = _spike_block(r.w_rows)
            return Piece(block + "(spk3, {p}w_rows, {p}bias, 0, 0, n, zb, ev)\nkernels.glu_rows(zb, n, o)",
                         lambda r, st, work, shape: dict(w_rows=r.w_rows, bias=r.bias), defs=defs)
        return Piece("kernels.graded_block(snt, n, {p}w_rows, {p}bias, {p}held[b], {p}z_held[b], ev, zb)\n"
                     "kernels.glu_rows(zb, n, o)",
                     lambda r, st, work, shape: dict(w_rows=r.w_rows, bias=r.bias, held=st.held, z_held=st.z_held))
    if type(r) is LinearRun:
        if spikes:
            block, defs = _spike_block(r.w_rows)
            return Piece(block + "(spk3, {p}w_rows, {p}bias, 0, 0, n, o, ev)\nif {p}relu:\n    relu_block(o, n)",
                         lambda r, st, work, shape: dict(w_rows=r.w_rows, bias=r.bias, relu=r.relu), defs=defs)
        return Piece("kernels.graded_block(snt, n, {p}w_rows, {p}bias, {p}held[b], {p}z_held[b], ev, o)\n"
                     "if {p}relu:\n    relu_block(o, n)",
                     lambda r, st, work, shape: dict(w_rows=r.w_rows, bias=r.bias, held=st.held, z_held=st.z_held,
                                                     relu=r.relu))
    if type(r) is GSURun and spikes:
        return Piece("blocks.gsu(spk3, y, n, {p}w_rows, {p}bias, {p}nz_index, {p}nz_sign, {p}nz_count, {p}wt_rows, "
                     "{p}nw, {p}nb, {p}eps, ev, q, g, o)",
                     lambda r, st, work, shape: dict(w_rows=r.w_rows, bias=r.bias, nz_index=r.nz_index,
                                                     nz_sign=r.nz_sign, nz_count=r.nz_count, wt_rows=r.wt_rows,
                                                     nw=r.norm_weight, nb=r.norm_bias, eps=r.norm_eps),
                     needs_y=True)
    return fixed_pieces.mixing_piece(r, sent)


def _norm_args(r, st, work, shape):
    if type(r) is BatchNormRun:
        return dict(mean=r.mean, sd=r.sd, weight=r.weight, bias=r.bias)
    return dict(weight=r.weight, bias=r.bias, eps=r.eps)


def _norm_call(r, src: str, dst: str) -> str | None:
    if type(r) is BatchNormRun:
        return f"affine_block({src}, n, {{p}}mean, {{p}}sd, {{p}}weight, {{p}}bias, {dst})"
    if type(r) is LayerNormRun:
        return f"layer_norm_block({src}, n, {{p}}weight, {{p}}bias, {{p}}eps, {dst})"
    return None


def after_piece(r, residual: bool, prenorm: bool, scales=None) -> Piece | None:
    """What follows the mixing: the residual sum and the postnorm (prenorm: the residual only). scales: the
    layer's fixed-point BlockScales (None in float)."""
    if scales is not None:
        return fixed_pieces.after_piece(r, residual, prenorm, scales)
    if r is None or prenorm:
        return Piece("blocks.residual_add(h, o, n)" if residual else "blocks.take(h, o, n)")
    if type(r) is BatchNormRun and residual:
        return Piece("blocks.residual_batch_norm(h, o, n, {p}mean, {p}sd, {p}weight, {p}bias)", _norm_args)
    call = _norm_call(r, "h" if residual else "o", "h")
    if call is None:
        return None
    return Piece(("blocks.residual_add(h, o, n)\n" if residual else "") + call, _norm_args)



def before_piece(r) -> Piece | None:
    """A prenorm: u = norm(h), the SSM's input."""
    call = _norm_call(r, "h", "u")
    return None if call is None else Piece(call, _norm_args)
