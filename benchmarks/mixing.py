"""The spike mixing kernel (simulator/vector_mix.py: output tiles in vector registers over a step's listed
inputs) against the plain-loop kernel it replaced, on the same spikes, one thread, one block of TB steps at a
time as the fused kernel calls it.

The baseline, kept here as it was: each input's row added into the block's sums (stored and loaded again for
every spike), the spikes found by a branch per slot where under 1 in 8 step-to-step slots change and by listing
each input's spiking steps otherwise. Both give the same sums (checked here, bit for bit). Spikes: random (a flip
share of 2p(1-p) at firing p) and held (each input keeps its value for runs of 8-64 steps). The new kernel runs
on weights aligned to a cache line, as the runners keep them (vector_mix.aligned_rows), and again on weights 16
bytes off one, as NumPy may leave them. Rounds interleaved, best of --rounds; ratios are baseline time / new time.

Usage: python benchmarks/mixing.py [--H 64] [--m 128] [--tb 32] [--rounds 5] [--dtype float64]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulator import vector_mix  # noqa: E402

RATES = (0.02, 0.05, 0.2, 0.5)


@njit(cache=True)
def _baseline_rows(spikes, w_rows, b, t0, t1, zb):
    """The replaced kernel: zb[k] += the rows of the block's spikes, by branch or by listing."""
    H, m = w_rows.shape
    n = t1 - t0
    flips = 0
    for t in range(t0 + 1, t1):
        for i in range(H):
            flips += spikes[b, t, i] != spikes[b, t - 1, i]
    if flips * 8 < (n - 1) * H:
        for i in range(H):
            for k in range(n):
                v = spikes[b, t0 + k, i]
                if v > 0:
                    for j in range(m):
                        zb[k, j] += w_rows[i, j]
                elif v < 0:
                    for j in range(m):
                        zb[k, j] -= w_rows[i, j]
        return
    pos = np.empty(n, np.int64)
    neg = np.empty(n, np.int64)
    for i in range(H):
        npos = 0
        nneg = 0
        for k in range(n):
            v = spikes[b, t0 + k, i]
            pos[npos] = k
            npos += v > 0
            neg[nneg] = k
            nneg += v < 0
        for q in range(npos):
            for j in range(m):
                zb[pos[q], j] += w_rows[i, j]
        for q in range(nneg):
            for j in range(m):
                zb[neg[q], j] -= w_rows[i, j]


@njit(cache=True)
def _all_blocks(new, spikes, w_rows, tb, zb):
    B, L, _ = spikes.shape
    for b in range(B):
        for t0 in range(0, L, tb):
            t1 = min(L, t0 + tb)
            zb[:t1 - t0] = 0
            if new:
                vector_mix.add_spike_rows(spikes, w_rows, b, t0, t1, zb, False)
            else:
                _baseline_rows(spikes, w_rows, b, t0, t1, zb)


@njit(cache=True)
def _dense_blocks(spikes, w_rows, tb, zb):
    B, L, _ = spikes.shape
    for b in range(B):
        for t0 in range(0, L, tb):
            t1 = min(L, t0 + tb)
            zb[:t1 - t0] = 0
            vector_mix.add_spike_rows(spikes, w_rows, b, t0, t1, zb, True)


def held(rng, shape, rate):
    """Spikes that keep their value for runs of 8-64 steps, firing `rate` on average."""
    B, L, H = shape
    out = np.zeros(shape, np.int8)
    for b in range(B):
        for i in range(H):
            t = 0
            while t < L:
                run = int(rng.integers(8, 65))
                out[b, t:t + run, i] = rng.uniform() < rate
                t += run
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--H", type=int, default=64, help="inputs (the checkpoint's H)")
    ap.add_argument("--m", type=int, default=128, help="outputs (2H for a GLU)")
    ap.add_argument("--tb", type=int, default=32, help="steps per block (the fused kernel's TB)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--dtype", default="float64", choices=("float32", "float64"))
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    f = np.dtype(args.dtype)
    w = vector_mix.aligned_rows(rng.standard_normal((args.H, args.m)), f)
    off = np.empty(w.nbytes + 128, np.uint8)
    start = (-off.ctypes.data % 64) + 16
    w_off = off[start:start + w.nbytes].view(f).reshape(w.shape)   # 16 bytes off a cache line
    w_off[...] = w
    zb = np.empty((args.tb, args.m), f)
    print(f"H={args.H}, m={args.m}, TB={args.tb}, {args.dtype}, one thread, load average {os.getloadavg()[0]:.2f}; "
          f"us per block; tiles of {vector_mix.TILE_BYTES} bytes")
    print(f"{'spikes':>7} {'firing':>7} {'baseline':>9} {'tiles':>8} {'speed-up':>9} {'dense tiles':>12} "
          f"{'event/dense':>12} {'tiles, w off':>13} {'aligned speed-up':>17}")
    shape = (4, 16 * args.tb, args.H)
    for kind in ("random", "held"):
        for rate in RATES:
            spikes = ((rng.uniform(size=shape) < rate).astype(np.int8) if kind == "random" else held(rng, shape, rate))
            spikes[:, :, ::7] *= -1          # some -1 spikes, as a ternary activation sends
            sums = []
            runs = (lambda: _all_blocks(False, spikes, w, args.tb, zb), lambda: _all_blocks(True, spikes, w, args.tb, zb),
                    lambda: _dense_blocks(spikes, w, args.tb, zb), lambda: _all_blocks(True, spikes, w_off, args.tb, zb))
            for run in runs:
                run()
                sums.append(zb.copy())
            assert all(np.array_equal(sums[0], s) for s in sums[1:]), "the kernels must give the same sums"
            best = [np.inf] * len(runs)
            for _ in range(args.rounds):
                for k, run in enumerate(runs):
                    t = time.perf_counter()
                    run()
                    best[k] = min(best[k], (time.perf_counter() - t) / (shape[0] * 16))
            print(f"{kind:>7} {float(np.mean(spikes != 0)):7.2%} {best[0] * 1e6:9.2f} {best[1] * 1e6:8.2f} "
                  f"{best[0] / best[1]:9.2f} {best[2] * 1e6:12.2f} {best[1] / best[2]:12.3f} {best[3] * 1e6:13.2f} "
                  f"{best[3] / best[1]:17.2f}")


if __name__ == "__main__":
    main()
