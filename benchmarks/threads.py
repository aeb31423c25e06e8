"""Thread count and waiting policy of the engine, on this machine as it is loaded right now.

The fused kernel runs its samples on Python threads in short jobs (simulator/fused/threads.py), as many as
NUMBA_NUM_THREADS; the layer-at-a-time kernels use Numba's threading layer (workqueue or OpenMP). Each
configuration runs in its own process (Numba fixes its threading layer and thread count at start): the
shipped smnist_binary_s4d on the same held-out digits, batch 64, best of 3 runs inside a process, and the
configurations interleaved over --rounds rounds so a change of load hits all of them alike. Prints ms per
sample per configuration (best and worst round) with the load average, which moves every figure: run it once
on an idle machine and once next to another job to see which policy holds up when cores are shared.

--busy N starts N busy processes (a pure-Python loop each) for the whole measurement: a shared machine made on
purpose, so the comparison can be repeated.

Usage: python benchmarks/threads.py [--samples 256] [--rounds 3] [--busy N] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONFIGS = [("1", "default"), ("2", "default")]   # the layer matters to the walker only

CHILD = r'''
import sys, time
sys.path.insert(0, {root!r})
import numba
import scenarios
from models.loading import load_network
from simulator.engine import run
sc = scenarios.get("smnist")
net = load_network(sc.checkpoint_path)
x, _ = sc.load("test", {samples})
run(net, x[:8])                                    # compile (or load the cache) first
times = []
for _ in range(3):
    t = time.perf_counter()
    run(net, x, batch_size=64)
    times.append(time.perf_counter() - t)
print(min(times) / {samples} * 1e3, numba.threading_layer())
'''


def one(threads: str, layer: str, samples: int) -> tuple[float, str]:
    env = dict(os.environ, NUMBA_NUM_THREADS=threads, NUMBA_THREADING_LAYER=layer)
    out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT), samples=samples)], env=env,
                         capture_output=True, text=True, check=True)
    ms, used = out.stdout.split()
    return float(ms), used


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--busy", type=int, default=0, help="busy processes running alongside")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    got: dict[str, list[float]] = {}
    try:
        for _ in range(args.rounds):
            for threads, layer in CONFIGS:
                ms, used = one(threads, layer, args.samples)
                got.setdefault(f"{threads} thread(s), {used}", []).append(ms)
    finally:
        for b in busy:
            b.kill()
    load_after = os.getloadavg()[0]
    print(f"{args.busy} busy process(es) alongside; load average {load_before:.2f} before, {load_after:.2f} after; "
          f"{os.cpu_count()} CPUs")
    print("| threads, layer | best ms/sample | worst round |")
    print("|---|---:|---:|")
    for name, v in got.items():
        print(f"| {name} | {min(v):.2f} | {max(v):.2f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(busy=args.busy, load=[load_before, load_after], ms_per_sample=got),
                                              indent=1))


if __name__ == "__main__":
    main()
