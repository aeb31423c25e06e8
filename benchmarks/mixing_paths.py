"""The two ways event mixing finds its spikes (simulator/kernels.py), timed against each other.

A branch per slot mispredicts where an input's spike changes between steps; listing each input's spiking steps
without a branch costs a little on every slot. _spike_block takes the branch in blocks where under 1 in
FLIPS_BELOW step-to-step slots change. This prints both paths' times on random spikes (a flip share of
2p(1-p) at firing p) and on held spikes (each input keeps its value for runs of 8-64 steps), so the crossover
can be checked on another machine. One thread, one block of TB steps at a time as the fused kernel calls it;
both paths give the same sums (checked here too). Rounds interleaved, best of --rounds.

Usage: python benchmarks/mixing_paths.py [--H 64] [--m 128] [--tb 32] [--rounds 5] [--dtype float32]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
import time

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulator import kernels  # noqa: E402

RATES = (0.01, 0.02, 0.04, 0.0625, 0.1, 0.2, 0.5)


@njit(cache=True)
def _all_blocks(how, spikes, w_rows, tb, zb):
    B, L, _ = spikes.shape
    for b in range(B):
        for t0 in range(0, L, tb):
            t1 = min(L, t0 + tb)
            zb[:t1 - t0] = 0
            kernels._spike_rows(spikes, w_rows, b, t0, t1, zb, how)


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


def flip_share(spikes):
    return float(np.mean(spikes[:, 1:] != spikes[:, :-1]))


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
          f"us per block; FLIPS_BELOW = {kernels.FLIPS_BELOW} (branch below {1 / kernels.FLIPS_BELOW:.1%} flips)")
    print(f"{'spikes':>7} {'firing':>7} {'flips':>7} {'branch':>8} {'listed':>8} {'listed/branch':>14}")
    shape = (4, 16 * args.tb, args.H)
    for kind in ("random", "held"):
        for rate in RATES:
            spikes = ((rng.uniform(size=shape) < rate).astype(np.int8) if kind == "random" else held(rng, shape, rate))
            out = []
            for how in (kernels.BRANCH, kernels.LISTED):
                _all_blocks(how, spikes[:1, :args.tb], w, args.tb, zb)
                out.append(zb.copy())
            assert np.array_equal(out[0], out[1]), "the two paths must give the same sums"
            best = [np.inf, np.inf]
            for _ in range(args.rounds):
                for k, how in enumerate((kernels.BRANCH, kernels.LISTED)):
                    t = time.perf_counter()
                    _all_blocks(how, spikes, w, args.tb, zb)
                    best[k] = min(best[k], (time.perf_counter() - t) / (shape[0] * 16))
            print(f"{kind:>7} {float(np.mean(spikes)):7.2%} {flip_share(spikes):7.2%} {best[0] * 1e6:8.2f} "
                  f"{best[1] * 1e6:8.2f} {best[1] / best[0]:14.2f}")


if __name__ == "__main__":
    main()
