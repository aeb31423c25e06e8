"""Numba kernels: pure functions of arrays. Samples run in parallel (prange); state arrays are updated in place
so that a sequence may be fed in chunks (streaming) with results identical to one whole-sequence call.

Both engines call the same SSM kernel (`event` only switches the skipping on) and synaptic kernels that sum
in the same order, so the two engines agree bit for bit; only the amount of work differs.
"""
from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import errors
from numba.extending import intrinsic, overload

from simulator.vector_mix import add_spike_rows


@njit(cache=True)
def _sum4(p, n2):
    """Sum with four interleaved accumulators in a fixed order: deterministic, and it breaks the one long
    chain of dependent additions that kept the recurrence from running at full speed."""
    a0 = p.dtype.type(0)   # in the run dtype: a literal 0.0 would make float32 runs accumulate in float64
    a1 = a0
    a2 = a0
    a3 = a0
    n = 0
    while n + 4 <= n2:
        a0 += p[n]
        a1 += p[n + 1]
        a2 += p[n + 2]
        a3 += p[n + 3]
        n += 4
    while n < n2:
        a0 += p[n]
        n += 1
    return (a0 + a1) + (a2 + a3)


@njit(cache=True)
def _scratch(n2, dtype):
    """Nine contiguous per-thread vectors of length N/2: state (re, im), readout terms, and the channel's
    coefficients (Ab re/im, Bb re/im, C re/im)."""
    w = np.empty((9, n2), dtype)
    return w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]


@njit(cache=True)
def _channel(h, a_re, a_im, b_re, b_im, c_re, c_im, ar, ai, br, bi, cr, ci):
    """Copy channel h's coefficients into contiguous scratch vectors (the inner loops then vectorise)."""
    for n in range(a_re.shape[1]):
        ar[n] = a_re[h, n]
        ai[n] = a_im[h, n]
        br[n] = b_re[h, n]
        bi[n] = b_im[h, n]
        cr[n] = c_re[h, n]
        ci[n] = c_im[h, n]


@njit(cache=True, parallel=True, fastmath=False)
def ssm_forward(u, a_re, a_im, b_re, b_im, c_re, c_im, d, s_re, s_im, u_prev, zero, event, y, counts):
    """Forward recurrence s_t = Ab s_{t-1} + Bb u_t;  y_t = 2 Re(sum_n C s_t) + D u_t  (y starts at zero).
    The engines run simulator/vector_ssm.py's copies (the same operations in the same order, each channel's
    state in vector registers); this plain form, and ssm_backward's, is what tests/test_vector_ssm.py holds
    them to, bit for bit.

    u, y: (B, L, H). a_*, b_*, c_*: (H, N/2). s_*: (B, H, N/2) state; u_prev (B, H) last input value;
    zero (B, H) True while the state is exactly zero. counts (B, 3): mode updates, channel updates,
    input messages (values that changed). Each sample is one call of ssm_block over all its steps.
    """
    B, L, H = u.shape
    for b in prange(B):
        ssm_block(u[b], L, a_re, a_im, b_re, b_im, c_re, c_im, d, s_re, s_im, u_prev, zero, b, event, y[b], counts)


@njit(cache=True)
def ssm_block(u, n, a_re, a_im, b_re, b_im, c_re, c_im, d, s_re, s_im, u_prev, zero, b, event, y, counts):
    """The forward recurrence of sample b over the first n rows of u and y ((n, H) or more): the state rows
    s_*[b], u_prev[b], zero[b] carry over between calls, so blocks of steps give the same bits as one call.

    With `event`, a channel whose state is zero and whose input is zero is skipped (its output is exactly
    D*0 = 0). The drive Bb*u is recomputed every step: a fused multiply costs less here than loading a
    cached drive, and gives the same values. Each channel's coefficients and state are copied into one
    contiguous scratch block first, as the roofline kernel does (1.27x on 32-step blocks, one thread).
    """
    H, n2 = a_re.shape
    sr, si, p, ar, ai, br, bi, cr, ci = _scratch(n2, y.dtype)
    z0 = p.dtype.type(0)       # constants in the run dtype: no float64 arithmetic in float32 runs
    modes = 0
    chans = 0
    msgs = 0
    for h in range(H):
        _channel(h, a_re, a_im, b_re, b_im, c_re, c_im, ar, ai, br, bi, cr, ci)
        for m in range(n2):
            sr[m] = s_re[b, h, m]
            si[m] = s_im[b, h, m]
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
                        y[k, h] = z0
                        continue
                else:
                    is_zero = False
            if not is_zero:
                modes += n2
                chans += 1
            for m in range(n2):
                r = ar[m] * sr[m] - ai[m] * si[m] + br[m] * x
                i = ar[m] * si[m] + ai[m] * sr[m] + bi[m] * x
                sr[m] = r
                si[m] = i
                p[m] = cr[m] * r - ci[m] * i
            s = _sum4(p, n2)
            y[k, h] = z0 + ((s + s) + d[h] * x)   # s + s = 2 s exactly; z0 +: as adding into zeros always did
        for m in range(n2):
            s_re[b, h, m] = sr[m]
            s_im[b, h, m] = si[m]
        u_prev[b, h] = last
        zero[b, h] = is_zero
    counts[b, 0] += modes
    counts[b, 1] += chans
    counts[b, 2] += msgs


@njit(cache=True, parallel=True, fastmath=False)
def ssm_backward(u, a_re, a_im, b_re, b_im, c_re, c_im, event, y, counts):
    """Backward recurrence over reversed time, read one step ahead (only strictly future inputs):
    r_t = Ab r_{t+1} + Bb u_t (r_L = 0);  y_t += 2 Re(sum_n C1 r_{t+1}).  counts (B, 1): mode updates."""
    B, L, H = u.shape
    n2 = a_re.shape[1]
    for b in prange(B):
        rr, ri, p, ar, ai, br, bi, cr, ci = _scratch(n2, y.dtype)
        modes = 0
        for h in range(H):
            _channel(h, a_re, a_im, b_re, b_im, c_re, c_im, ar, ai, br, bi, cr, ci)
            for n in range(n2):
                rr[n] = 0.0
                ri[n] = 0.0
            is_zero = True
            for t in range(L - 1, -1, -1):
                x = u[b, t, h]
                skip = is_zero and x == 0.0
                if skip and event:
                    continue  # reading and updating an exactly-zero state with zero input changes nothing
                for n in range(n2):   # one pass: the readout of r_{t+1}, then its update (1.18x over two)
                    r0 = rr[n]
                    i0 = ri[n]
                    p[n] = cr[n] * r0 - ci[n] * i0
                    rr[n] = ar[n] * r0 - ai[n] * i0 + br[n] * x
                    ri[n] = ar[n] * i0 + ai[n] * r0 + bi[n] * x
                s = _sum4(p, n2)
                y[b, t, h] += s + s
                if not skip:
                    modes += n2
                    is_zero = False
        counts[b, 0] += modes


@njit(cache=True, parallel=True)
def ssm_roofline(u, a_re, a_im, b_re, b_im, c_re, c_im, d, y):
    """The bare recurrence with no bookkeeping: the speed ceiling the engines are measured against."""
    B, L, H = u.shape
    n2 = a_re.shape[1]
    for b in prange(B):
        sr, si, p, ar, ai, br, bi, cr, ci = _scratch(n2, y.dtype)
        for h in range(H):
            _channel(h, a_re, a_im, b_re, b_im, c_re, c_im, ar, ai, br, bi, cr, ci)
            for n in range(n2):
                sr[n] = 0.0
                si[n] = 0.0
            for t in range(L):
                x = u[b, t, h]
                for n in range(n2):
                    r = ar[n] * sr[n] - ai[n] * si[n] + br[n] * x
                    i = ar[n] * si[n] + ai[n] * sr[n] + bi[n] * x
                    sr[n] = r
                    si[n] = i
                    p[n] = cr[n] * r - ci[n] * i
                s = _sum4(p, n2)
                y[b, t, h] = (s + s) + d[h] * x


# ---- synaptic stage: z = bias + sum_i w_rows[i] * a_i, rows summed in ascending i ----------------------

# The walker's mixing works on blocks of TB steps, one block per parallel job, whose sums stay in L1
# (simulator/vector_mix.py adds each step's spiking rows in ascending input order).
TB = 8


@njit(cache=True)
def _spike_block(spikes, w_rows, bias, b, t0, t1, zb, event):
    """zb[k] = bias + sum_i spikes[b, t0+k, i] * w_rows[i] for the steps of one block, rows in ascending i.
    event: a +1 spike adds its row, a -1 spike subtracts it, silent inputs cost nothing. Otherwise
    (time-stepped) every row is multiplied by its spike value 0, +1 or -1 and added: the same sums
    (simulator/vector_mix.py)."""
    m = w_rows.shape[1]
    for k in range(t1 - t0):
        for j in range(m):
            zb[k, j] = bias[j]
    add_spike_rows(spikes, w_rows, b, t0, t1, zb, not event)


@njit(cache=True, parallel=True)
def spikes_mix(spikes, w_rows, bias, event, z):
    """z[b, t] = bias + sum_i spikes[b, t, i] * w_rows[i]  (spikes int8 in {-1, 0, 1})."""
    B, L, H = spikes.shape
    m = w_rows.shape[1]
    nblocks = (L + TB - 1) // TB
    for job in prange(B * nblocks):
        b = job // nblocks
        t0 = (job % nblocks) * TB
        t1 = min(L, t0 + TB)
        zb = np.empty((TB, m), z.dtype)
        _spike_block(spikes, w_rows, bias, b, t0, t1, zb, event)
        for t in range(t0, t1):
            for j in range(m):
                z[b, t, j] = zb[t - t0, j]
    return z


@njit(cache=True, parallel=True)
def spikes_glu(spikes, w_rows, bias, event, out):
    """GLU of the spike mixing, out = z[:H] * sigmoid(z[H:]), without storing z (it stays in L1)."""
    B, L, H = spikes.shape
    m = w_rows.shape[1]
    nblocks = (L + TB - 1) // TB
    for job in prange(B * nblocks):
        b = job // nblocks
        t0 = (job % nblocks) * TB
        t1 = min(L, t0 + TB)
        zb = np.empty((TB, m), out.dtype)
        _spike_block(spikes, w_rows, bias, b, t0, t1, zb, event)
        glu_rows(zb, t1 - t0, out[b, t0:t1])
    return out


@njit(cache=True, parallel=True)
def graded_dense(a, w_rows, bias, z):
    """Time-stepped graded product z_t = bias + sum_i a_t[i] * w_rows[i] (every input, every step)."""
    B, L, H = a.shape
    for b in prange(B):
        graded_block(a[b], L, w_rows, bias, a[b, 0], z[b, 0], False, z[b])
    return z


@njit(cache=True, parallel=True)
def graded_event(a, w_rows, bias, held, z_held, z):
    """Sigma-delta with zero threshold: inputs send only changed values (graded_block with `event`).
    Identical to graded_dense. Start with held = 0 and z_held = bias."""
    B, L, H = a.shape
    for b in prange(B):
        graded_block(a[b], L, w_rows, bias, held[b], z_held[b], True, z[b])
    return z


@njit(cache=True)
def graded_block(a, n, w_rows, bias, held, z_held, event, z):
    """z[k] = bias + sum_i a[k, i] * w_rows[i] for the first n rows of one sample, rows summed in ascending i.

    event: the receiver keeps the last value of each input (`held`) and its last sum (`z_held`), both
    updated in place, and recomputes the sum only on steps where some input changed, skipping zero
    inputs: exact, unlike accumulating deltas. Otherwise every input is used every step (held and z_held
    are not touched)."""
    H, m = w_rows.shape
    for k in range(n):
        if event:
            moved = False
            for i in range(H):
                if a[k, i] != held[i]:
                    held[i] = a[k, i]
                    moved = True
            if moved:
                for j in range(m):
                    z_held[j] = bias[j]
                for i in range(H):
                    v = held[i]
                    if v != 0.0:
                        for j in range(m):
                            z_held[j] += w_rows[i, j] * v
            for j in range(m):
                z[k, j] = z_held[j]
        else:
            for j in range(m):
                z[k, j] = bias[j]
            for i in range(H):
                v = a[k, i]
                for j in range(m):
                    z[k, j] += w_rows[i, j] * v


@njit(cache=True, parallel=True)
def ternary_gate_dense(y, wt_rows, g):
    """GSU gate g_t = y_t @ Wt with ternary Wt, every input and weight every step."""
    B, L, H = y.shape
    for b in prange(B):
        ternary_gate_dense_block(y[b], L, wt_rows, g[b])
    return g


@njit(cache=True)
def ternary_gate_dense_block(y, n, wt_rows, g):
    m = wt_rows.shape[1]
    for t in range(n):
        for j in range(m):
            g[t, j] = 0.0
        for i in range(y.shape[1]):
            v = y[t, i]
            for j in range(m):
                g[t, j] += wt_rows[i, j] * v


@njit(cache=True, parallel=True)
def ternary_gate_event(y, nz_index, nz_sign, nz_count, g):
    """GSU gate with ternary weights stored sparsely: only nonzero weights, each an add or a subtract."""
    B, L, H = y.shape
    for b in prange(B):
        ternary_gate_event_block(y[b], L, nz_index, nz_sign, nz_count, g[b])
    return g


@njit(cache=True)
def ternary_gate_event_block(y, n, nz_index, nz_sign, nz_count, g):
    m = g.shape[1]
    for t in range(n):
        for j in range(m):
            g[t, j] = 0.0
        for i in range(y.shape[1]):
            v = y[t, i]
            if v == 0.0:
                continue
            for k in range(nz_count[i]):
                j = nz_index[i, k]
                if nz_sign[i, k] > 0:
                    g[t, j] += v
                else:
                    g[t, j] += -v


@njit(cache=True)
def pool_sum(h, pool):
    """pool[b] += sum_t h[b, t] in time order (not numpy's pairwise order), so chunked runs add identically.
    Serial: a memory-bound pass that a parallel region only slows down."""
    B, L, H = h.shape
    for b in range(B):
        for t in range(L):
            for j in range(H):
                pool[b, j] += h[b, t, j]


def decode(pooled, weight, bias):
    """logits[b] = weight @ pooled[b] + bias, each sum in index order: a sample's logits do not depend on the
    batch it ran in (BLAS picks its summation order by matrix shape, so `pooled @ weight.T` can). numpy, one
    index at a time: the same roundings as a compiled loop, without its compile time at start-up."""
    acc = np.zeros((pooled.shape[0], weight.shape[0]), np.float64)
    for j in range(pooled.shape[1]):
        acc += pooled[:, j, None] * weight[None, :, j]
    return acc + bias


@njit(cache=True, parallel=True)
def glu(z):
    """out = z[..., :H] * sigmoid(z[..., H:]), with the same formula as models.reference.glu."""
    B, L, m = z.shape
    out = np.empty((B, L, m // 2), z.dtype)
    for b in prange(B):
        glu_rows(z[b], L, out[b])
    return out


@njit(cache=True)
def glu_rows(z, n, out):
    """GLU of the first n rows of one sample: out[k, j] = z[k, j] * sigmoid(z[k, H + j]), the sigmoid
    vectorised (_sigmoid32, _sigmoid64)."""
    half = z.shape[1] // 2
    sig = np.empty(half, out.dtype)
    scale = np.empty(half, out.dtype)
    for k in range(n):
        sigmoid_into(z[k, half:], sig, scale)
        for j in range(half):
            out[k, j] = z[k, j] * sig[j]


def sigmoid_into(x, out, scale):
    """out = 1 / (1 + exp(-x)) in x's dtype; scale is scratch of x's length and dtype."""
    raise NotImplementedError   # compiled only, through the overload below


@overload(sigmoid_into)
def _sigmoid_into(x, out, scale):
    return _sigmoid32 if x.dtype == types.float32 else _sigmoid64


# The sigmoid without libm: exp(v) = 2^k exp(r), k = round(v / ln 2), |r| <= ln2 / 2 (Cody-Waite: ln 2 split in a
# part with few significant bits, so k * LN2_HI is exact, and the rest); exp(r) by its Taylor series; 2^k built
# from its exponent bits. Branch-free, so the loops vectorise, and only +, * and / in a fixed order (no FMA), so
# the same bits on every x86-64 CPU (libm's exp has CPU-specific variants). tests/test_float32.py bounds the
# error of both against extended precision.
_LOG2E = 1.4426950408889634
_T = tuple(float(1.0 / math.factorial(i)) for i in range(14))
# float32: Taylor to r^7 / 7! (truncation below 5e-9 relative, under float32's 6e-8)
_LN2_HI = 0.693359375
_LN2_LO = float(np.log(2.0) - 0.693359375)
_ROUND = 12582912.0        # 1.5 * 2^23: (v + _ROUND) - _ROUND rounds v to the nearest integer in float32
# float64: Taylor to r^13 / 13! (truncation below 5e-18 relative, under float64's 1.1e-16); fdlibm's split of ln 2
_LN2_HI64 = 6.93147180369123816490e-01
_LN2_LO64 = 1.90821492927058770002e-10
_ROUND64 = 6755399441055744.0   # 1.5 * 2^52
_T13_DOWN = _T[12::-1]
_T7_DOWN = _T[6::-1]


@intrinsic
def _pow2(typingctx, k):
    """2^k for a float k holding an integer in the normal exponent range, built from its exponent bits."""
    if not isinstance(k, types.Float):
        raise errors.TypingError("_pow2: a float")
    width, mantissa, bias = (64, 52, 1023) if k.bitwidth == 64 else (32, 23, 127)

    def codegen(context, builder, sig, args):
        ity = ir.IntType(width)
        e = builder.add(builder.fptosi(args[0], ity), ir.Constant(ity, bias))
        return builder.bitcast(builder.shl(e, ir.Constant(ity, mantissa)), context.get_value_type(k))

    return k(k), codegen


def _sigmoid32(x, out, scale):
    f = np.float32
    for j in range(x.shape[0]):
        v = -x[j]
        v = f(-87.0) if v < f(-87.0) else v            # 2^k stays a normal float32
        v = f(88.0) if v > f(88.0) else v
        k = (v * f(_LOG2E) + f(_ROUND)) - f(_ROUND)
        r = (v - k * f(_LN2_HI)) - k * f(_LN2_LO)
        p = f(_T[7])
        for c in _T7_DOWN:                             # Horner, from 1/6! down to 1
            p = p * r + f(c)
        out[j] = p
        scale[j] = _pow2(k)
    for j in range(x.shape[0]):
        out[j] = f(1.0) / (f(1.0) + out[j] * scale[j])


def _sigmoid64(x, out, scale):
    for j in range(x.shape[0]):
        v = -x[j]
        v = -708.0 if v < -708.0 else v                # 2^k stays a normal float64; exp(-708) < 1e-300
        v = 709.0 if v > 709.0 else v                  # sigmoid(x < -709) = 1.2e-308 instead of less
        k = (v * _LOG2E + _ROUND64) - _ROUND64
        r = (v - k * _LN2_HI64) - k * _LN2_LO64
        p = _T[13]
        for c in _T13_DOWN:                            # Horner, from 1/12! down to 1
            p = p * r + c
        out[j] = p
        scale[j] = _pow2(k)
    for j in range(x.shape[0]):   # a loop of its own: with the division in the loop above, neither vectorised
        out[j] = 1.0 / (1.0 + out[j] * scale[j])


@njit(cache=True)
def sigmoid(x, out):
    """sigmoid_into on its own (tests, benchmarks)."""
    sigmoid_into(x, out, np.empty_like(out))


@njit(cache=True)
def residual_batch_norm(h, out, mean, sd, weight, bias):
    """h = BatchNorm(h + out) in place, with the operations of models.reference.apply_norm in their order:
    ((x - mean) / sd) * weight + bias, sd = sqrt(running_var + eps) computed by the caller.
    Serial: memory-bound, and a parallel region waits for its slowest thread on a busy machine."""
    B, L, H = h.shape
    for b in range(B):
        for t in range(L):
            for j in range(H):
                x = h[b, t, j] + out[b, t, j]
                h[b, t, j] = (x - mean[j]) / sd[j] * weight[j] + bias[j]


_BITS = np.array([bin(i).count("1") for i in range(256)], np.int64)   # set bits of each byte value


@njit(cache=True)
def events_from_masks(pos, neg, H, offset):
    """(sample + offset, t, neuron, value) of the set bits of packed spike masks (B, L, ceil(H / 8)) (np.packbits'
    bit order: the first neuron is a byte's high bit), in (sample, t, neuron) order: +1 where pos is set, -1
    where neg is (neg may be empty: no negative spikes). Branch-free, so half-full masks cost no mispredictions."""
    B, L, W = pos.shape
    signed = neg.size > 0
    total = 0
    for b in range(B):
        for t in range(L):
            for w in range(W):
                total += _BITS[pos[b, t, w]] + (_BITS[neg[b, t, w]] if signed else 0)
    s_out = np.empty(total + 1, np.int32)   # + 1: every slot is written, the next event's overwrites it
    t_out = np.empty(total + 1, np.int32)
    n_out = np.empty(total + 1, np.int32)
    v_out = np.empty(total + 1, np.int8)
    k = 0
    for b in range(B):
        for t in range(L):
            for j in range(H):
                shift = 7 - (j & 7)
                v = np.int8((pos[b, t, j >> 3] >> shift) & 1)
                if signed:
                    v -= np.int8((neg[b, t, j >> 3] >> shift) & 1)
                s_out[k] = b + offset
                t_out[k] = t
                n_out[k] = j
                v_out[k] = v
                k += v != 0
    return s_out[:total], t_out[:total], n_out[:total], v_out[:total]
