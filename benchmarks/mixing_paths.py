"""The two ways event mixing finds its spikes (simulator/kernels.py), timed against each other by firing rate.

A branch per slot is well predicted when few slots spike; listing each input's spiking steps without a branch
wins when many do. _spike_block picks by the block's share of spiking slots (under 1 in SPARSE_BELOW: the
branch); this prints both paths' times so the crossover can be checked on another machine. One thread, random
spikes (the least predictable), one block of TB steps at a time as the fused kernel calls it; both paths give
the same sums (checked here too). Rounds interleaved, best of --rounds.

Usage: python benchmarks/mixing_paths.py [--H 64] [--m 128] [--tb 32] [--rounds 5] [--dtype float32]
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

from simulator import kernels  # noqa: E402

RATES = (0.01, 0.02, 0.04, 0.0625, 0.1, 0.2, 0.5)


@njit(cache=True)
def _all_blocks(listed, spikes, w_rows, tb, zb):
    B, L, _ = spikes.shape
    for b in range(B):
        for t0 in range(0, L, tb):
            t1 = min(L, t0 + tb)
            zb[:t1 - t0] = 0
            kernels._spike_rows(spikes, w_rows, b, t0, t1, zb, kernels.LISTED if listed else kernels.BRANCH)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--H", type=int, default=64, help="inputs (the checkpoint's H)")
    ap.add_argument("--m", type=int, default=128, help="outputs (2H for a GLU)")
    ap.add_argument("--tb", type=int, default=32, help="steps per block (the fused kernel's TB)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    f = np.dtype(args.dtype)
    w = rng.standard_normal((args.H, args.m)).astype(f)
    zb = np.empty((args.tb, args.m), f)
    print(f"H={args.H}, m={args.m}, TB={args.tb}, {args.dtype}, one thread, load average {os.getloadavg()[0]:.2f}; "
          f"us per block; SPARSE_BELOW = {kernels.SPARSE_BELOW} (branch below {1 / kernels.SPARSE_BELOW:.2%})")
    print(f"{'firing':>8} {'branch':>8} {'listed':>8} {'listed/branch':>14}")
    for rate in RATES:
        spikes = (rng.uniform(size=(4, 16 * args.tb, args.H)) < rate).astype(np.int8)
        out = []
        for listed in (False, True):
            _all_blocks(listed, spikes[:1, :args.tb], w, args.tb, zb)
            out.append(zb.copy())
        assert np.array_equal(out[0], out[1]), "the two paths must give the same sums"
        best = [np.inf, np.inf]
        for _ in range(args.rounds):
            for listed in (0, 1):
                t = time.perf_counter()
                _all_blocks(bool(listed), spikes, w, args.tb, zb)
                best[listed] = min(best[listed], (time.perf_counter() - t) / (spikes.shape[0] * 16))
        print(f"{rate:8.2%} {best[0] * 1e6:8.2f} {best[1] * 1e6:8.2f} {best[1] / best[0]:14.2f}")


if __name__ == "__main__":
    main()
