"""Scaling benchmark (issue 8), all in one process:

1. cost of the event engine against L, H, N and layers (one axis varied at a time), with plots;
2. our engine vs Brian2 (Cython runtime) on the same network and inputs, compile excluded and included;
3. seconds per sample and peak memory at Path-X size (6 layers, H=256, N=64, L=16384, bidirectional).

Usage: python benchmarks/scale.py [--quick] [--out docs/images]   (writes scale.json and scale_*.png)
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.init import s4d_state_dict  # noqa: E402
from models.paper_layout import network_from_state_dict  # noqa: E402
from simulator.engine import run  # noqa: E402

BASE = dict(L=784, H=64, N=64, layers=4)


def make(H, N, layers, directions=1, **kw):
    sd = s4d_state_dict(kind="binary_s4d", H=H, N=N, n_layers=layers, directions=directions, seed=3, **kw)
    return network_from_state_dict(sd, source="benchmark", kind="binary_s4d")


def timed(fn, repeats=2):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def sweep(samples, quick):
    rng = np.random.default_rng(0)
    axes = {"L": [196, 392, 784, 1568, 3136], "H": [16, 32, 64, 128, 256], "N": [8, 16, 32, 64, 128],
            "layers": [1, 2, 4, 8]}
    if quick:
        axes = {k: v[:3] for k, v in axes.items()}
    out = {}
    for axis, values in axes.items():
        rows = []
        for v in values:
            p = dict(BASE, **{axis: v})
            net = make(p["H"], p["N"], p["layers"])
            x = rng.uniform(size=(samples, p["L"], 1))
            run(net, x[:1, :8])  # compile outside the timing
            t = timed(lambda: run(net, x, batch_size=samples))
            modes = samples * p["L"] * p["H"] * (p["N"] // 2) * p["layers"]
            rows.append({axis: v, "s_per_sample": t / samples, "mode_updates_per_s": modes / t})
            print(f"  {axis}={v:<6} {t / samples * 1e3:8.2f} ms per sample  {modes / t / 1e6:8.1f} M mode updates/s")
        out[axis] = rows
    return out


def plot(results, out_dir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter
    fig, axs = plt.subplots(1, 4, figsize=(14, 3.4), constrained_layout=True)
    for ax, (axis, rows) in zip(axs, results.items()):
        xs = [r[axis] for r in rows]
        ax.loglog(xs, [r["s_per_sample"] * 1e3 for r in rows], "o-", label="measured")
        ref = rows[0]["s_per_sample"] * 1e3
        ax.loglog(xs, [ref * x / xs[0] for x in xs], "--", color="grey", label="linear")
        ax.set_xticks(xs)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(axis)
        ax.set_title(f"event engine vs {axis}")
        ax.grid(True, which="both", alpha=0.3)
    axs[0].set_ylabel("ms per sample")
    axs[0].legend()
    others = ", ".join(f"{k}={v}" for k, v in BASE.items())
    fig.suptitle(f"Binary S4D, float64, 2 cores; base {others}; one axis varied at a time")
    path = Path(out_dir) / "scale_sweep.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def versus_brian2(samples):
    from simulator.brian2_backend import run_brian2
    net = make(48, 64, 3)
    x = np.random.default_rng(1).uniform(size=(samples, 784, 1))
    t0 = time.perf_counter()
    run(net, x[:1, :8])
    ours_first = time.perf_counter() - t0
    ours = timed(lambda: run(net, x, batch_size=samples, record_pre=True))
    t0 = time.perf_counter()
    run_brian2(net, x[:1, :8])  # code generation + compile (cached on disk after the first time)
    brian_first = time.perf_counter() - t0
    brian = timed(lambda: run_brian2(net, x), repeats=1)
    r = {"network": "Binary S4D, 3 layers, H=48, N=64, L=784", "samples": samples, "ours_s": ours,
         "brian2_s": brian, "speedup": brian / ours, "ours_first_call_s": ours_first,
         "brian2_first_call_s": brian_first, "speedup_incl_compile": (brian + brian_first) / (ours + ours_first)}
    print(f"  ours {ours:.3f} s, Brian2 {brian:.2f} s: {r['speedup']:.0f}x faster (compile excluded); first calls "
          f"ours {ours_first:.1f} s, Brian2 {brian_first:.1f} s; incl. compile {r['speedup_incl_compile']:.0f}x")
    return r


def pathx(samples):
    net = make(256, 64, 6, directions=2, norm="batch", prenorm=True, dt_min=1e-4)
    x = np.random.default_rng(2).uniform(size=(samples, 16384, 1))
    run(net, x[:1, :16])
    t = timed(lambda: run(net, x, batch_size=samples), repeats=1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  Path-X size: {t / samples:.2f} s per sample ({samples} samples together), peak RSS {peak:.0f} MiB")
    return {"s_per_sample": t / samples, "samples": samples, "peak_rss_mib": peak}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default="docs/images")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: sweep,brian2,pathx")
    args = ap.parse_args()
    skip = set(args.skip.split(","))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    res = {"cores": os.cpu_count()}
    if "sweep" not in skip:
        print("cost against L, H, N and layers (event engine):")
        res["sweep"] = sweep(2 if args.quick else 8, args.quick)
        print("  plot:", plot(res["sweep"], args.out))
    if "brian2" not in skip:
        print("our event engine vs Brian2 (Cython runtime), same network and inputs:")
        res["brian2"] = versus_brian2(2 if args.quick else 8)
    if "pathx" not in skip:
        print("Path-X size (6 layers, H=256, N=64, L=16384, bidirectional, event engine):")
        res["pathx"] = pathx(2)
    (Path(args.out) / "scale.json").write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
