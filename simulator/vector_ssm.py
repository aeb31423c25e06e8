"""The S4D recurrence with each channel's state held in vector registers from step to step.

Numba vectorises kernels.ssm_block's loop over modes, but stores the state and loads it again at every step,
and sums the readout one value at a time. Here one channel's steps run in code written with Numba's intrinsic
API: the state is an LLVM vector of the mode count (<N/2 x float>) carried in registers, and the readout adds
the modes four lanes at a time. Every lane does the same operations in the same order as ssm_block, and the
readout keeps _sum4's order (four running sums over modes j, j+4, j+8, ..., the rest into the first, then
(a0 + a1) + (a2 + a3)), so the bits are the same (tests/test_vector_ssm.py compares the forward and backward
passes with kernels.ssm_forward and ssm_backward, on trained weights too). LLVM splits the vector into what
the CPU has: two AVX-512 registers at 32 float32 modes, eight SSE2 registers on a generic x86-64. The mode
count must be a constant where the kernels below are compiled: the fused kernel and the walker get copies
with the sizes written in (simulator/fused/fixed_shapes.py, walker_kernels below).
"""
from __future__ import annotations

import functools

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils, errors
from numba.extending import intrinsic


@intrinsic
def channel_steps(typingctx, n2, backward, n, xs, ys, co, st, d):
    """For k < n: advance the state st (2, n2) [re; im] by input xs[k] with the coefficients co (6, n2)
    [Ab re, Ab im, Bb re, Bb im, C re, C im] and write ys[k] = 2 Re(sum C s) + d xs[k] with the new state, as
    ssm_block does for one channel; backward: ys[k] = 2 Re(sum C s) with the state before the step, as
    kernels.ssm_backward reads it (d unused). n2 and backward must be literals; co and st C-contiguous; every
    array and d of one float type."""
    for literal in (n2, backward):
        if not isinstance(literal, (types.IntegerLiteral, types.BooleanLiteral)):
            raise errors.RequireLiteralValue(literal)
    back = bool(backward.literal_value)
    dt = xs.dtype
    if any(a.dtype != dt for a in (ys, co, st)) or d != dt or co.layout != "C" or st.layout != "C":
        raise errors.TypingError("channel_steps: arrays of one float type (C-contiguous co, st) and d of it")
    width = n2.literal_value

    def codegen(context, builder, sig, args):
        _, _, n_v, xs_v, ys_v, co_v, st_v, d_v = args
        fty = context.get_value_type(dt)
        vty, v4, i32 = ir.VectorType(fty, width), ir.VectorType(fty, 4), ir.IntType(32)
        xp, yp, cp, sp = (cgutils.create_struct_proxy(t)(context, builder, value=v).data
                          for t, v in zip(sig.args[3:7], (xs_v, ys_v, co_v, st_v)))

        def row(base, r):   # pointer to row r of a (rows, width) C-contiguous array, as a vector pointer
            return builder.bitcast(builder.gep(base, [ir.Constant(ir.IntType(64), r * width)]), vty.as_pointer())

        ar, ai, br, bi, cr, ci = (builder.load(row(cp, r), align=1) for r in range(6))
        sr_slot = cgutils.alloca_once_value(builder, builder.load(row(sp, 0), align=1))   # registers after mem2reg
        si_slot = cgutils.alloca_once_value(builder, builder.load(row(sp, 1), align=1))
        undef = ir.Constant(vty, ir.Undefined)
        lanes = (width // 4) * 4
        with cgutils.for_range(builder, n_v) as loop:
            x = builder.load(builder.gep(xp, [loop.index]))
            xv = builder.shuffle_vector(builder.insert_element(undef, x, ir.Constant(i32, 0)), undef,
                                        ir.Constant(ir.VectorType(i32, width), [0] * width))
            sr, si = builder.load(sr_slot), builder.load(si_slot)
            r = builder.fadd(builder.fsub(builder.fmul(ar, sr), builder.fmul(ai, si)), builder.fmul(br, xv))
            i = builder.fadd(builder.fadd(builder.fmul(ar, si), builder.fmul(ai, sr)), builder.fmul(bi, xv))
            builder.store(r, sr_slot)
            builder.store(i, si_slot)
            p = builder.fsub(builder.fmul(cr, sr if back else r), builder.fmul(ci, si if back else i))
            acc = ir.Constant(v4, [0.0] * 4)
            for g in range(0, lanes, 4):   # acc[j] += p[g + j]: _sum4's four running sums, in its order
                acc = builder.fadd(acc, builder.shuffle_vector(
                    p, undef, ir.Constant(ir.VectorType(i32, 4), [g, g + 1, g + 2, g + 3])))
            a = [builder.extract_element(acc, ir.Constant(i32, j)) for j in range(4)]
            for m in range(lanes, width):  # _sum4's tail goes into the first sum
                a[0] = builder.fadd(a[0], builder.extract_element(p, ir.Constant(i32, m)))
            s = builder.fadd(builder.fadd(a[0], a[1]), builder.fadd(a[2], a[3]))
            if back:
                y = builder.fadd(s, s)
            else:
                y = builder.fadd(ir.Constant(fty, 0.0), builder.fadd(builder.fadd(s, s), builder.fmul(d_v, x)))
            builder.store(y, builder.gep(yp, [loop.index]))
        builder.store(builder.load(sr_slot), row(sp, 0), align=1)
        builder.store(builder.load(si_slot), row(sp, 1), align=1)
        return context.get_dummy_value()

    return types.void(n2, backward, n, xs, ys, co, st, d), codegen


@njit(cache=True)
def _coefficients(h, a_re, a_im, b_re, b_im, c_re, c_im, co):
    """Channel h's coefficients as the rows of co (6, N/2), the layout channel_steps reads."""
    for m in range(co.shape[1]):
        co[0, m] = a_re[h, m]
        co[1, m] = a_im[h, m]
        co[2, m] = b_re[h, m]
        co[3, m] = b_im[h, m]
        co[4, m] = c_re[h, m]
        co[5, m] = c_im[h, m]


@njit(cache=True)
def ssm_block(u, n, a_re, a_im, b_re, b_im, c_re, c_im, d, s_re, s_im, u_prev, zero, b, event, y, counts):
    """kernels.ssm_block (same arguments, same results and counts) with each channel's steps in
    channel_steps. Per channel, the input's bookkeeping comes first: messages (changed values), and the leading
    steps during which a zero state meets zero input, which the event engine skips (y = 0, state kept)."""
    H, n2 = a_re.shape
    co, st = np.empty((6, n2), y.dtype), np.empty((2, n2), y.dtype)   # inline: a function costs start-up
    xs, ys = np.empty(n, y.dtype), np.empty(n, y.dtype)
    z0 = y.dtype.type(0)
    modes = 0
    chans = 0
    msgs = 0
    for h in range(H):
        _coefficients(h, a_re, a_im, b_re, b_im, c_re, c_im, co)
        for m in range(n2):
            st[0, m] = s_re[b, h, m]
            st[1, m] = s_im[b, h, m]
        for k in range(n):
            xs[k] = u[k, h]
        if n > 0:
            # Messages: steps whose input differs from the previous one (as ssm_block counts them, without its
            # chain through `last`; u_prev may then keep -0.0 where ssm_block keeps 0.0: equal as values).
            msgs += xs[0] != u_prev[b, h]
            for k in range(1, n):
                msgs += xs[k] != xs[k - 1]
            u_prev[b, h] = xs[n - 1]
        quiet = 0                  # leading steps with a zero state and zero input
        is_zero = zero[b, h]
        if is_zero:
            while quiet < n and xs[quiet] == z0:
                quiet += 1
            is_zero = quiet == n
        start = quiet if event else 0
        for k in range(start):
            y[k, h] = z0
        if n > start:
            channel_steps(n2, False, n - start, xs[start:], ys[start:], co, st, d[h])
            for k in range(start, n):
                y[k, h] = ys[k]
        modes += n2 * (n - quiet)
        chans += n - quiet
        for m in range(n2):
            s_re[b, h, m] = st[0, m]
            s_im[b, h, m] = st[1, m]
        zero[b, h] = is_zero
    counts[b, 0] += modes
    counts[b, 1] += chans
    counts[b, 2] += msgs


@njit(cache=True)
def backward_sample(u, a_re, a_im, b_re, b_im, c_re, c_im, event, y, counts, b):
    """kernels.ssm_backward for one sample (u, y: (L, H)), each channel's reversed steps in channel_steps. The
    leading reversed steps during which the zero state meets zero input change nothing; the event engine
    skips them (and does not count them)."""
    H, n2 = a_re.shape
    L = u.shape[0]
    co, st = np.empty((6, n2), y.dtype), np.empty((2, n2), y.dtype)   # inline: a function costs start-up
    xs, ys = np.empty(L, y.dtype), np.empty(L, y.dtype)
    z0 = y.dtype.type(0)
    modes = 0
    for h in range(H):
        _coefficients(h, a_re, a_im, b_re, b_im, c_re, c_im, co)
        for m in range(n2):
            st[0, m] = z0
            st[1, m] = z0
        for k in range(L):
            xs[k] = u[L - 1 - k, h]
        quiet = 0
        while quiet < L and xs[quiet] == z0:
            quiet += 1
        start = quiet if event else 0
        if L > start:
            channel_steps(n2, True, L - start, xs[start:], ys[start:], co, st, z0)
            for k in range(start, L):
                y[L - 1 - k, h] += ys[k]
        modes += n2 * (L - quiet)
    counts[b, 0] += modes


@functools.lru_cache(maxsize=None)
def walker_kernels(H: int, n2: int):
    """A module with kernels.ssm_forward and kernels.ssm_backward (same arguments, same results and counts)
    running the kernels above with the sizes (H, n2) written in: the walker's recurrences (bidirectional layers,
    recorded runs). Generated once per size and kept in the kernel cache."""
    from simulator import jit_cache
    from simulator.fused import fixed_shapes   # here: simulator.fused imports this module
    fwd, bwd = f"ssm_block_{H}x{n2}", f"backward_sample_{H}x{n2}"
    src = f'''"""Generated by simulator/vector_ssm.py for S4D layers of {H} channels and {n2} modes; do not edit."""
from numba import njit, prange

{fixed_shapes.source(ssm_block, fwd, "a_re", (H, n2))}

{fixed_shapes.source(backward_sample, bwd, "a_re", (H, n2))}

@njit(cache=True, parallel=True)
def ssm_forward(u, a_re, a_im, b_re, b_im, c_re, c_im, d, s_re, s_im, u_prev, zero, event, y, counts):
    for b in prange(u.shape[0]):
        {fwd}(u[b], u.shape[1], a_re, a_im, b_re, b_im, c_re, c_im, d, s_re, s_im, u_prev, zero, b, event, y[b],
        {" " * len(fwd)} counts)


@njit(cache=True, parallel=True)
def ssm_backward(u, a_re, a_im, b_re, b_im, c_re, c_im, event, y, counts):
    for b in prange(u.shape[0]):
        {bwd}(u[b], a_re, a_im, b_re, b_im, c_re, c_im, event, y[b], counts, b)
'''
    return jit_cache.load_generated("walker", src)


@njit(cache=True, parallel=True)
def ssm_roofline(u, a_re, a_im, b_re, b_im, c_re, c_im, d, y):
    """kernels.ssm_roofline in channel_steps: the bare recurrence, no bookkeeping (benchmarks/engine.py)."""
    B, L, H = u.shape
    n2 = a_re.shape[1]
    for b in prange(B):
        co, st = np.empty((6, n2), y.dtype), np.empty((2, n2), y.dtype)
        xs, ys = np.empty(L, y.dtype), np.empty(L, y.dtype)
        for h in range(H):
            _coefficients(h, a_re, a_im, b_re, b_im, c_re, c_im, co)
            st[:] = 0.0
            for t in range(L):
                xs[t] = u[b, t, h]
            channel_steps(n2, False, L, xs, ys, co, st, d[h])
            for t in range(L):
                y[b, t, h] = ys[t]
