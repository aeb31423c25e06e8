"""float32 against float64 on every shipped checkpoint, all held-out digits: how many predictions change.

The engine's float32 runs compute in float32 (accumulators, constants, the GLU's sigmoid: tests/test_float32.py);
rounding then flips a few spikes near the threshold, and rarely a prediction. This prints, per checkpoint, the
digits whose float32 prediction differs from float64's and both accuracies, the figures behind the bound in
tests/test_float32.py and docs/reproducibility.md.

Usage: python benchmarks/float32_agreement.py [--samples N] [--engine event|dense]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import scenarios  # noqa: E402
from models.loading import load_network  # noqa: E402
from simulator.engine import run  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=None, help="first N held-out digits (default: all)")
    ap.add_argument("--engine", default="event", choices=("event", "dense"))
    args = ap.parse_args()
    print("| checkpoint | digits | predictions changed | accuracy float64 | accuracy float32 | seconds |")
    print("|---|---:|---:|---:|---:|---:|")
    for path in sorted(scenarios.CHECKPOINT_DIR.glob("*.h5")):
        x, y = scenarios.get(path.stem.split("_")[0]).load("test", args.samples)
        net = load_network(path)
        t = time.perf_counter()
        p64 = run(net, x, engine=args.engine, dtype="float64").logits.argmax(1)
        p32 = run(net, x, engine=args.engine, dtype="float32").logits.argmax(1)
        print(f"| {path.stem} | {len(y)} | {int(np.sum(p64 != p32))} | {100 * np.mean(p64 == y):.1f} % | "
              f"{100 * np.mean(p32 == y):.1f} % | {time.perf_counter() - t:.1f} |", flush=True)


if __name__ == "__main__":
    main()
