"""The fused kernel against the layer-at-a-time walker and PyTorch, on a shipped checkpoint, in one process.

Same held-out digits for everyone; rounds interleaved (walker, fused, PyTorch, ... in turn) so a load change
hits all alike; best of --rounds. Prints ms per sample and ratios (>1: the first is faster), and the load
average before and after, since a shared machine moves every figure.

Usage: python benchmarks/fused.py [--checkpoint smnist_binary_s4d] [--samples 256] [--rounds 5]
       [--batch 64] [--threads N] [--tb 8,128] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import scenarios  # noqa: E402
from models.loading import load_network  # noqa: E402
from simulator.compiled import compile_network  # noqa: E402
from simulator.engine import run  # noqa: E402


def torch_forward(name: str, dtype: str):
    """PyTorch's batched FFT forward of the same checkpoint (what a researcher runs instead), or None."""
    try:
        import torch

        from scenarios.torch_model import ModelConfig, SSMClassifier
    except ImportError:
        return None
    meta = json.loads((scenarios.CHECKPOINT_DIR / f"{name}.json").read_text())
    model = SSMClassifier(ModelConfig(**meta["config"])).eval()
    model.load_state_dict(torch.load(scenarios.CHECKPOINT_DIR / f"{name}.pt", weights_only=True))
    model = model.double() if dtype == "float64" else model.float()

    def forward(x):
        with torch.no_grad():
            return model(torch.from_numpy(x.astype(dtype))).numpy()
    return forward


def _with_tb(tb: int, fn):
    """Run fn with the fused kernel built for time blocks of tb steps (its own generated source)."""
    from simulator.fused import driver
    saved, driver.TB = driver.TB, tb
    try:
        return fn()
    finally:
        driver.TB = saved


def measure(name: str = "smnist_binary_s4d", samples: int = 256, rounds: int = 5, batch: int = 64,
            tbs: list[int] = ()) -> dict:
    """ms per sample of every contender and the ratios, in one process on the same digits."""
    net = load_network(scenarios.CHECKPOINT_DIR / f"{name}.h5")
    x, labels = scenarios.get(name.split("_")[0]).load("test", n=samples)
    load_before = os.getloadavg()
    contenders = {}
    for dtype in ("float64", "float32"):
        cn = compile_network(net, dtype)
        for engine in ("event", "dense"):
            for fused in (False, True):
                key = f"{engine} {dtype} {'fused' if fused else 'walker'}"
                contenders[key] = (lambda cn=cn, e=engine, f=fused:
                                   run(net, x, engine=e, batch_size=batch, compiled=cn, use_fused=f))
        for tb in tbs:
            contenders[f"event {dtype} fused TB={tb}"] = (lambda cn=cn, tb=tb: _with_tb(tb, lambda: run(
                net, x, batch_size=batch, compiled=cn)))
        fwd = torch_forward(name, dtype)
        if fwd is not None:
            contenders[f"pytorch {dtype}"] = lambda fwd=fwd: fwd(x)
    for fn in contenders.values():      # compile / warm up
        fn()
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(rounds):
        for key, fn in contenders.items():
            t0 = time.perf_counter()
            fn()
            best[key] = min(best[key], time.perf_counter() - t0)
    ms = {k: v / len(x) * 1e3 for k, v in best.items()}
    ratios = {}
    for dtype in ("float64", "float32"):
        for engine in ("event", "dense"):
            ratios[f"{engine} {dtype}: fused / walker speed"] = ms[f"{engine} {dtype} walker"] / ms[f"{engine} {dtype} fused"]
        for ref in ("float32", "float64"):
            if f"pytorch {ref}" in ms:
                ratios[f"event {dtype} fused vs pytorch {ref}"] = ms[f"pytorch {ref}"] / ms[f"event {dtype} fused"]
    ratios["event fused: float32 / float64 speed"] = ms["event float64 fused"] / ms["event float32 fused"]
    return {"checkpoint": name, "samples": len(x), "batch": batch, "rounds": rounds, "ms_per_sample": ms,
            "ratios": ratios, "load_before": load_before, "load_after": os.getloadavg()}


def report(m: dict, threads: int | None = None) -> None:
    print(f"{m['checkpoint']}: {m['samples']} held-out digits, batch {m['batch']}, best of {m['rounds']} "
          f"interleaved rounds, {threads or os.cpu_count()} threads; load average {m['load_before'][0]:.2f} "
          f"before, {m['load_after'][0]:.2f} after")
    for k, v in m["ms_per_sample"].items():
        print(f"  {k:28s} {v:8.2f} ms/sample")
    for k, v in m["ratios"].items():
        print(f"  {k:45s} {v:6.2f}x")


def set_threads(n: int | None) -> None:
    if n:
        import numba
        numba.set_num_threads(n)
        try:
            import torch
            torch.set_num_threads(n)
        except ImportError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", default="smnist_binary_s4d")
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=None, help="Numba and PyTorch threads (default: all cores)")
    ap.add_argument("--tb", default=None, help="also time the fused kernel at these time blocks, e.g. 8,128")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    set_threads(args.threads)
    m = measure(args.checkpoint, args.samples, args.rounds, args.batch,
                [int(v) for v in args.tb.split(",")] if args.tb else [])
    report(m, args.threads)
    if args.json:
        Path(args.json).write_text(json.dumps(dict(m, args=vars(args)), indent=1))


if __name__ == "__main__":
    main()
