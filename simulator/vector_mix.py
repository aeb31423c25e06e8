"""Spike mixing with each output tile's sums held in vector registers over a step's spiking inputs.

The mixing of one step is z[j] = bias[j] + sum_i s_i w_rows[i, j], summed in ascending i. A loop over inputs
that adds each spiking input's row into z stores z and loads it again for every spike, and a branch per
(input, step) slot mispredicts where spikes change. Here each step first lists its inputs and their values
without a branch (the event engine lists only nonzero spikes, the dense engine every input), then adds the
listed rows to one tile of TILE_BYTES of z at a time, the tile held in registers (code written with Numba's
intrinsic API, as simulator/vector_ssm.py). Every sum is z + s * w in ascending i: s * w is exact for s in
{-1, 0, 1}, and z + (-w) is z - w, so the event sums equal those of a +1 row added and a -1 row subtracted,
and the dense sums are the time-stepped engine's (tests/test_engines.py compares them with a plain loop).
"""
from __future__ import annotations

import numpy as np
from llvmlite import binding as llvm, ir
from numba import njit, types
from numba.core import cgutils, config, errors
from numba.extending import intrinsic


def _vector_bytes() -> int:
    """The widest vector register of the CPU Numba compiles for: 64 (AVX-512), 32 (AVX), 16 (SSE2, which the
    generic x86-64 target has). Numba's disk cache keys compiled code on the CPU name and features too."""
    if config.CPU_NAME:        # an explicit target (NUMBA_CPU_NAME=generic in CI): only the features it names
        have = {f[1:] for f in (config.CPU_FEATURES or "").split(",") if f.startswith("+")}
    else:
        have = {name for name, on in llvm.get_host_cpu_features().items() if on}
    return 64 if "avx512f" in have else 32 if "avx" in have else 16


# Bytes of z per register tile: eight vector registers of sums (of 16 or 32), so that eight independent additions
# follow each load of a spike's row. benchmarks/mixing.py measured on AVX-512 (H=128, float64): 512 bytes 1.2x
# faster than 256 on the kernel, 1.02-1.08x on whole runs; 1024 slower.
TILE_BYTES = 8 * _vector_bytes()
CACHE_LINE = 64


def aligned_rows(a: np.ndarray, dtype) -> np.ndarray:
    """A C-contiguous copy of a in dtype whose data starts on a cache line. NumPy aligns to 16 bytes only, and a
    vector load that crosses a cache line costs two: add_rows_tile ran 1.3-1.5x faster on aligned weights
    (benchmarks/mixing.py). Rows stay aligned where a row's bytes are a multiple of 64."""
    a = np.asarray(a)
    nbytes = a.size * np.dtype(dtype).itemsize
    buf = np.empty(nbytes + CACHE_LINE, np.uint8)
    start = -buf.ctypes.data % CACHE_LINE
    out = buf[start:start + nbytes].view(dtype).reshape(a.shape)
    out[...] = a
    return out


@intrinsic
def add_rows_tile(typingctx, count, index, value, w_rows, j0, z):
    """z[j0:j0 + W] += value[q] * w_rows[index[q], j0:j0 + W] for q < count in order, W = TILE_BYTES /
    itemsize. w_rows (inputs, outputs) and z C-contiguous, of one float type, and value too."""
    dt = z.dtype
    if (not isinstance(dt, types.Float) or w_rows.dtype != dt or value.dtype != dt or w_rows.ndim != 2
            or z.ndim != 1 or w_rows.layout != "C" or z.layout != "C" or not isinstance(index.dtype, types.Integer)):
        raise errors.TypingError("add_rows_tile: C-contiguous w_rows (2-D) and z (1-D) and value of one float type")
    width = TILE_BYTES // (dt.bitwidth // 8)

    def codegen(context, builder, sig, args):
        count_v, index_v, value_v, w_v, j0_v, z_v = args
        i64, i32 = ir.IntType(64), ir.IntType(32)
        vty = ir.VectorType(context.get_value_type(dt), width)
        arrays = [cgutils.create_struct_proxy(t)(context, builder, value=v)
                  for t, v in zip((sig.args[1], sig.args[2], sig.args[3], sig.args[5]), (index_v, value_v, w_v, z_v))]
        ip, vp, wp, zp = (a.data for a in arrays)
        outputs = builder.extract_value(arrays[2].shape, 1)
        j0 = context.cast(builder, j0_v, sig.args[4], types.int64)
        tile = builder.bitcast(builder.gep(zp, [j0]), vty.as_pointer())
        acc = cgutils.alloca_once_value(builder, builder.load(tile, align=1))   # a register after mem2reg
        undef = ir.Constant(vty, ir.Undefined)
        splat = ir.Constant(ir.VectorType(i32, width), [0] * width)
        with cgutils.for_range(builder, context.cast(builder, count_v, sig.args[0], types.int64)) as loop:
            i = builder.sext(builder.load(builder.gep(ip, [loop.index])), i64) \
                if index.dtype.bitwidth < 64 else builder.load(builder.gep(ip, [loop.index]))
            s = builder.load(builder.gep(vp, [loop.index]))
            sv = builder.shuffle_vector(builder.insert_element(undef, s, ir.Constant(i32, 0)), undef, splat)
            row = builder.bitcast(builder.gep(wp, [builder.add(builder.mul(i, outputs), j0)]), vty.as_pointer())
            builder.store(builder.fadd(builder.load(acc), builder.fmul(sv, builder.load(row, align=1))), acc)
        builder.store(builder.load(acc), tile, align=1)
        return context.get_dummy_value()

    return types.void(count, index, value, w_rows, j0, z), codegen


@njit(cache=True)
def add_spike_rows(spikes, w_rows, b, t0, t1, zb, dense):
    """zb[k] += sum_i spikes[b, t0 + k, i] * w_rows[i] for the block's steps, in ascending i (zb holds the bias).
    dense: every input's row times its value; otherwise only the spiking inputs' rows, signed."""
    H, m = w_rows.shape
    W = TILE_BYTES // zb.itemsize       # add_rows_tile's width
    tiled = (m // W) * W
    index = np.empty(H, np.int64)
    value = np.empty(H, zb.dtype)
    for k in range(t1 - t0):
        count = 0
        for i in range(H):                # list the step's inputs without a branch
            v = spikes[b, t0 + k, i]
            index[count] = i
            value[count] = v
            count += (v != 0) | dense
        z = zb[k]
        for j0 in range(0, tiled, W):
            add_rows_tile(count, index, value, w_rows, j0, z)
        for j in range(tiled, m):         # the last outputs, fewer than a tile: the same sums one at a time
            a = z[j]
            for q in range(count):
                a += value[q] * w_rows[index[q], j]
            z[j] = a
