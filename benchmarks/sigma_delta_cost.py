"""What a sigma-delta threshold costs a trained network: accuracy and messages against threshold 0.

A relu_sigma_delta activation sends a graded value only when it moved by at least its threshold; 0 sends
every change and is exact (ReLU). For each threshold: accuracy on held-out digits, predictions equal to
threshold 0's, and the graded messages the blocks sent.
Usage: python benchmarks/sigma_delta_cost.py [CKPT] [--samples N] [--thresholds 0,0.01,0.05,0.1]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import scenarios  # noqa: E402
from models.loading import load_network  # noqa: E402
from simulator.engine import run  # noqa: E402
from simulator.sigma_delta_cost import with_delta_threshold  # noqa: E402

DEFAULT = Path(__file__).resolve().parents[1] / "scenarios" / "checkpoints" / "smnist_sigma_delta_s4d.h5"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", nargs="?", default=str(DEFAULT))
    p.add_argument("--scenario", default="smnist")
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--thresholds", default="0,0.001,0.01,0.05,0.1")
    a = p.parse_args(argv)
    net = load_network(a.checkpoint)
    x, y = scenarios.get(a.scenario).load("test", n=a.samples)
    def at(threshold: float):
        r = run(with_delta_threshold(net, threshold), x)
        return r.predictions, sum(int(c["messages"].sum()) for name, c in r.counts.items() if name.startswith("layer"))

    exact, exact_sent = at(0.0)
    print(f"{Path(a.checkpoint).name} on {len(x)} held-out {a.scenario} digits")
    print(f"{'threshold':>10} {'accuracy':>9} {'same as 0':>10} {'messages':>12} {'of those at 0':>14}")
    for t in (float(v) for v in a.thresholds.split(",")):
        preds, sent = (exact, exact_sent) if t == 0 else at(t)
        print(f"{t:>10g} {np.mean(preds == y):>9.1%} {np.mean(preds == exact):>10.1%} "
              f"{sent:>12,} {sent / exact_sent:>14.1%}")


if __name__ == "__main__":
    main()
