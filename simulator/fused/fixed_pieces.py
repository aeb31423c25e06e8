"""Pieces of the fixed-point runners (simulator/parts/fixed_*.py) for the fused driver: each calls the per-sample
block function that the runner's layer-at-a-time kernel calls, so fused and walker give the same bits.

Every tensor between parts is int64 (the driver's scratch rows are in the run dtype, int64). Saturations: a
part whose count() reads its own array (the mixing's st.sats, an activation's or a norm's last_sat) gets a
fresh (B,) array from bind and adds its sample's saturations at [b]; the SSM and the join without a norm add
theirs to the layer's work[b, 3], which the SSM's work() hands to its count() (the counter keeps one
'saturations' field per layer, so the total is the same).
"""
from __future__ import annotations

import numpy as np

from simulator.fixed_point import MODES, limits
from simulator.fused.piece import Piece
from simulator.parts.fixed_activation import (FixedGELURun, FixedHeavisideRun, FixedLIFRun, FixedReLUSigmaDeltaRun,
                                              FixedTernaryRun)
from simulator.parts.fixed_mixing import FixedGLURun, FixedGSURun, FixedLinearRun
from simulator.parts.fixed_norm import FixedBatchNormRun
from simulator.parts.fixed_ssm import FixedS4DRun, FixedS4DRealRun

_COMMIT_Y = "\nfixed_point.commit_rows(q, n, {p}ky, {p}mode, {p}m_lo, {p}m_hi, {p}sat, y, {p}work[b], 3)"


def _ssm_work(w):
    return w[:, :3], np.zeros((w.shape[0], 1), np.int64), w[:, 3].copy()   # (forward, backward, saturations)


def _ssm_common(r, st, work):
    m_lo, m_hi = limits(r.prec.message_bits)
    return dict(f_a=r.f_a, al_s=r.al_s, al_y=r.al_y, trunc=r.fx.trunc, s_lo=r.s_lo, s_hi=r.s_hi,
                sat=r.prec.saturate, u_prev=st.u_prev, zero=st.zero, work=work, mode=r.fx.mode, m_lo=m_lo, m_hi=m_hi,
                ky=r.f_c + r.f_s + r.al_y[0] - r.f_y)     # as _commit_y


def ssm_piece(r) -> Piece | None:
    """The forward recurrence into q (the accumulator), then y committed at the message width."""
    if type(r) is FixedS4DRun and r.directions == 1:
        return Piece("fixed_ssm.fixed_block({u}, n, {p}ar, {p}ai, {p}br, {p}bi, {p}cr, {p}ci, {p}d, {p}f_a, "
                     "{p}al_s, {p}al_y, {p}trunc, {p}s_lo, {p}s_hi, {p}sat, {p}s_re, {p}s_im, {p}u_prev, {p}zero, b, "
                     "ev, q, {p}work[b])" + _COMMIT_Y,
                     lambda r, st, work, shape: dict(ar=r.qa[0], ai=r.qa[1], br=r.qb[0], bi=r.qb[1], cr=r.qc[0][0],
                                                     ci=r.qc[1][0], d=r.qd, s_re=st.s_re, s_im=st.s_im,
                                                     **_ssm_common(r, st, work)),
                     work=_ssm_work)
    if type(r) is FixedS4DRealRun and r.directions == 1:
        return Piece("fixed_ssm.fixed_real_block({u}, n, {p}a, {p}bb, {p}c, {p}d, {p}f_a, {p}al_s, {p}al_y, "
                     "{p}trunc, {p}s_lo, {p}s_hi, {p}sat, {p}s, {p}u_prev, {p}zero, b, ev, q, {p}work[b])" + _COMMIT_Y,
                     lambda r, st, work, shape: dict(a=r.qa[0], bb=r.qb[0], c=r.qc[0][0], d=r.qd, s=st.s,
                                                     **_ssm_common(r, st, work)),
                     work=_ssm_work)
    return None


def _last_sat(r, shape):
    r.last_sat = np.zeros(shape[0], np.int64)
    return r.last_sat


def _lif_bind(r, st, work, shape):
    if st.v is None:           # made at the first chunk, as FixedLIFRun.run does
        st.v = np.zeros(shape, np.int64)
    st.updates = np.zeros(shape[0], np.int64)
    lo, hi = r.lo, r.hi
    return dict(bq=r.bq, f_beta=r.f_beta, k_y=r.k_y, vq=r.vq, hard=r.hard, mode=r.fx.mode, lo=lo, hi=hi,
                sat=r.prec.saturate, v=st.v, updates=st.updates, sats=_last_sat(r, shape))


def _gelu_bind(r, st, work, shape):
    t = r.table
    return dict(values=t.values, k=t.k, offset=t.offset, f_in=t.f_in, f_out=t.f_out, above=t.above_identity,
                mode=r.fx.mode, lo=r.lo, hi=r.hi, sat=r.fx.precision.saturate, sats=_last_sat(r, shape))


def _sigma_delta_bind(r, st, work, shape):
    if st[0] is None:          # made at the first chunk, as FixedReLUSigmaDeltaRun.run does
        st[0] = np.zeros(shape, np.int64)
    exp = r.fx.sent_exp if r.fx.sent_exp is not None else np.zeros(shape[1], np.int64)
    return dict(vq=r.vq, exp=np.ascontiguousarray(exp, np.int64), mode=r.fx.mode, held=st[0])


def activation_piece(r) -> Piece | None:
    if type(r) is FixedHeavisideRun:
        return Piece("blocks.heaviside(y, n, spk)", sent="spikes")
    if type(r) is FixedTernaryRun:
        return Piece("fixed_activation.ternary_fixed_block(y, n, {p}rq, {p}f_r, spk)",
                     lambda r, st, work, shape: dict(rq=r.rq, f_r=r.f_r), sent="spikes")
    if type(r) is FixedLIFRun:
        return Piece("fixed_activation.lif_fixed_block(y, n, {p}bq, {p}f_beta, {p}k_y, {p}vq, {p}hard, {p}mode, "
                     "{p}lo, {p}hi, {p}sat, {p}v[b], spk, {p}updates, b, {p}sats, b)", _lif_bind, sent="spikes")
    if type(r) is FixedGELURun:
        return Piece("fixed_activation.apply_table_block(y, n, {p}values, {p}k, {p}offset, {p}f_in, {p}f_out, "
                     "{p}above, {p}mode, {p}lo, {p}hi, {p}sat, snt, {p}sats, b)", _gelu_bind, sent="graded")
    if type(r) is FixedReLUSigmaDeltaRun:
        return Piece("fixed_activation.sigma_delta_fixed_block(y, n, {p}vq, {p}exp, {p}mode, {p}held[b], snt)",
                     _sigma_delta_bind, sent="graded")
    return None


def _synapse_args(r, st, shape):
    st.sats = np.zeros(shape[0], np.int64)
    return dict(rows=r.q_rows, bias=r.q_bias, graded=r.graded, held=st.held, z_held=st.z_held, mode=r.fx.mode,
                sat=r.prec.saturate, sats=st.sats)


def _glu_bind(r, st, work, shape):
    t, p, fx = r.table, r.prec, r.fx
    s_lo, s_hi = limits(p.state_bits)
    m_lo, m_hi = limits(p.message_bits)
    return dict(values=t.values, k=t.k, offset=t.offset, f_in=t.f_in, f_sig=t.f_out, k_l=r.f_z - r.f_zl,
                k_o=r.f_zl + r.f_sig - fx.f_out, s_lo=s_lo, s_hi=s_hi, m_lo=m_lo, m_hi=m_hi,
                **_synapse_args(r, st, shape))


def _linear_bind(r, st, work, shape):
    lo, hi = limits(r.prec.message_bits)
    return dict(relu=r.relu, k=r.f_z - r.fx.f_out, lo=lo, hi=hi, **_synapse_args(r, st, shape))


def _gsu_bind(r, st, work, shape):
    p, fx, a, t = r.prec, r.fx, r.norm, r.table
    st.sats = np.zeros(shape[0], np.int64)
    lo, hi = limits(r.ln_bits)
    m_lo, m_hi = limits(p.message_bits)
    return dict(rows=r.q_rows, bias=r.q_bias, nz_index=r.nz_index, nz_sign=r.nz_sign, nz_count=r.nz_count,
                wt=r.wt_int, zero_bias=np.zeros(r.wt_int.shape[1], np.int64), k_p=r.f_w - r.f_p,
                k_g=fx.f_y - r.f_g, k_n=r.f_p + r.f_g - r.f_n, mode=fx.mode, lo=lo, hi=hi, sat=p.saturate,
                eps_q=a.eps_q, f_unit=a.f_unit, q_weight=a.q_weight, q_bias=a.q_bias, values=t.values, k=t.k,
                offset=t.offset, f_in=t.f_in, f_out=t.f_out, above=t.above_identity, m_lo=m_lo, m_hi=m_hi,
                sats=st.sats)


def mixing_piece(r, sent: str) -> Piece | None:
    a = "spk" if sent == "spikes" else "snt"
    synapses = (f"fixed_mixing.synapse_block({a}, n, {{p}}rows, {{p}}bias, {{p}}graded, ev, {{p}}held[b], "
                "{p}z_held[b], zb)\n")
    if type(r) is FixedGLURun:
        return Piece(synapses + "fixed_mixing.glu_int_block(zb, n, {p}values, {p}k, {p}offset, {p}f_in, {p}f_sig, "
                     "{p}k_l, {p}k_o, {p}mode, {p}s_lo, {p}s_hi, {p}m_lo, {p}m_hi, {p}sat, o, {p}sats, b)", _glu_bind)
    if type(r) is FixedLinearRun:
        return Piece(synapses + "fixed_mixing.relu_commit_block(zb, n, {p}relu, {p}k, {p}mode, {p}lo, {p}hi, "
                     "{p}sat, o, {p}sats, b)", _linear_bind)
    if type(r) is FixedGSURun and sent == "spikes":
        return Piece("fixed_mixing.gsu_block(spk, y, n, {p}rows, {p}bias, {p}nz_index, {p}nz_sign, {p}nz_count, "
                     "{p}wt, {p}zero_bias, ev, {p}k_p, {p}k_g, {p}k_n, {p}mode, {p}lo, {p}hi, {p}sat, {p}eps_q, "
                     "{p}f_unit, {p}q_weight, {p}q_bias, {p}values, {p}k, {p}offset, {p}f_in, {p}f_out, {p}above, "
                     "{p}m_lo, {p}m_hi, q, g, o, {p}sats, b)", _gsu_bind, needs_y=True)
    return None


def after_piece(r, residual: bool, prenorm: bool, scales) -> Piece | None:
    """The postnorm BatchNorm (with or without the residual), or the join without a norm; None otherwise."""
    if prenorm:
        return None
    if r is None:
        def join_bind(_r, st, work, shape):
            g = max(scales.f_in, scales.f_out)              # as BlockScales.join
            lo, hi = limits(scales.precision.message_bits)
            return dict(residual=residual, sh=g - scales.f_in, so=g - scales.f_out, k=g - scales.f_next,
                        mode=MODES[scales.precision.rounding], lo=lo, hi=hi, sat=scales.precision.saturate,
                        work=work)
        return Piece("fixed_point.join_block(h, o, n, {p}residual, {p}sh, {p}so, {p}k, {p}mode, {p}lo, {p}hi, "
                     "{p}sat, {p}work[b], 3)", join_bind)
    if type(r) is FixedBatchNormRun:
        def bn_bind(r, st, work, shape):
            fx = r.fx
            sh, so, g, c, left, right, trunc, lo, hi, sat = r.affine_args(fx.f_in, fx.f_out, residual, fx.f_next)
            return dict(residual=residual, sh=sh, so=so, g=g, c=c, left=left, right=right, trunc=trunc, lo=lo,
                        hi=hi, sat=sat, sats=_last_sat(r, shape))
        return Piece("fixed_norm.residual_affine_block(h, o, n, {p}residual, {p}sh, {p}so, {p}g, {p}c, {p}left, "
                     "{p}right, {p}trunc, {p}lo, {p}hi, {p}sat, h, {p}sats, b)", bn_bind)
    return None
