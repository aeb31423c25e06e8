"""Fixed point against float64 on the shipped sMNIST checkpoints: accuracy, prediction agreement, spike
agreement, first divergence, saturations (docs/precision.md), and the speed of the fixed-point engine against
float64 in the same process (interleaved rounds, best of several, compilation excluded).

    python benchmarks/precision.py                         # every checkpoint, loihi2, 1,000 held-out digits
    python benchmarks/precision.py --precision w8s24 --samples 200 --checkpoints smnist_s5

Scales are calibrated on the first --calibration digits of the TRAINING split; the test digits are never seen
by the calibration.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import scenarios  # noqa: E402
from models.loading import load_network  # noqa: E402
from simulator.calibrate import calibrate  # noqa: E402
from simulator.cli.precision import lookup_precision  # noqa: E402
from simulator.compiled import compile_network  # noqa: E402
from simulator.engine import run  # noqa: E402
from simulator.precision_report import precision_section  # noqa: E402

CHECKPOINTS = ("smnist_binary_s4d", "smnist_gsu", "smnist_s4d", "smnist_lif_s4d", "smnist_s5",
               "smnist_sigma_delta_s4d")


def speed(net, x, fp, rounds: int, engine: str) -> tuple[float, float]:
    """Best wall time of float64 and of fixed point over `rounds` interleaved rounds (both compiled first)."""
    cf, cx = compile_network(net, "float64"), compile_network(net, fp)
    run(net, x[:2], engine=engine, compiled=cf)
    run(net, x[:2], engine=engine, compiled=cx)
    best_f = best_x = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        run(net, x, engine=engine, compiled=cf)
        best_f = min(best_f, time.perf_counter() - t)
        t = time.perf_counter()
        run(net, x, engine=engine, compiled=cx)
        best_x = min(best_x, time.perf_counter() - t)
    return best_f, best_x


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--precision", default="loihi2")
    ap.add_argument("--checkpoints", default=",".join(CHECKPOINTS))
    ap.add_argument("--samples", type=int, default=1000, help="held-out test digits (default 1000)")
    ap.add_argument("--calibration", type=int, default=64, help="training digits to calibrate on (default 64)")
    ap.add_argument("--engine", choices=("event", "dense"), default="event")
    ap.add_argument("--speed-samples", type=int, default=64)
    ap.add_argument("--speed-rounds", type=int, default=5)
    ap.add_argument("--speed-only", action="store_true", help="only the speed comparison (no 1,000-digit table)")
    args = ap.parse_args(argv)
    prec = lookup_precision(args.precision)
    sc = scenarios.get("smnist")
    x_cal, _ = sc.load("train", n=args.calibration)
    x, labels = sc.load("test", n=args.samples)
    print(f"{args.precision}: {prec}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average before "
          f"{os.getloadavg()[0]:.2f}; calibration: first {len(x_cal)} training digits; test: {len(x)} held-out digits; "
          f"{args.engine} engine")
    rows, speeds = [], []
    t0 = time.time()
    for name in args.checkpoints.split(","):
        net = load_network(ROOT / "scenarios" / "checkpoints" / f"{name}.h5")
        fp = calibrate(net, x_cal, prec, source="smnist training split")
        if args.speed_only:
            bf, bx = speed(net, x[:args.speed_samples], fp, args.speed_rounds, args.engine)
            speeds.append((name, bf, bx))
            continue
        s = precision_section(net, x, labels, fp, engine=args.engine)
        sp = [a for a in s["spike_agreement"] if a is not None]
        fd = s["first_divergence"]
        rows.append((name, 100 * s["accuracy_float64"], 100 * s["accuracy"],
                     100 * (s["accuracy"] - s["accuracy_float64"]), 100 * s["prediction_agreement_with_float64"],
                     "graded" if not sp else ", ".join(f"{100 * a:.2f}" for a in sp),
                     "none" if fd is None else f"L{fd['layer']} s{fd['sample']} t{fd['step']}",
                     sum(s["saturations"].values())))
        bf, bx = speed(net, x[:args.speed_samples], fp, args.speed_rounds, args.engine)
        speeds.append((name, bf, bx))
        print(f"  done {name} ({time.time() - t0:.0f} s)", flush=True)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}; total {time.time() - t0:.0f} s\n")
    if rows:
        table(rows, args.precision)
    print(f"\nspeed, {args.speed_samples} digits, best of {args.speed_rounds} interleaved rounds "
          f"({args.engine} engine):")
    print("| checkpoint | float64 | fixed point | fixed / float64 time |")
    print("|---|---|---|---|")
    for name, bf, bx in speeds:
        print(f"| `{name}` | {bf:.2f} s | {bx:.2f} s | {bx / bf:.2f} |")
    return 0


def table(rows, precision: str) -> None:
    print(f"| checkpoint | float64 | {precision} | change (points) | predictions = float64 | spike agreement "
          "per layer (%) | first spike divergence (layer, sample, step) | saturations |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| `{r[0]}` | {r[1]:.1f} % | {r[2]:.1f} % | {r[3]:+.1f} | {r[4]:.1f} % | {r[5]} | {r[6]} | {r[7]} |")


if __name__ == "__main__":
    raise SystemExit(main())
