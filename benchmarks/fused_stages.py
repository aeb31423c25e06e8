"""Where the fused kernel's time goes: the shipped network run whole, then with one stage at a time replaced by
a copy of its input, in one process on the same digits, best of interleaved rounds.

    python benchmarks/fused_stages.py [--checkpoint smnist_binary_s4d] [--samples 256] [--rounds 5]
    python benchmarks/fused_stages.py --synthetic   # benchmarks/engine.py's network: H=128, N=64, random input

A stage's share is (whole - without it) / whole. Replacing a stage changes what the next ones see (an SSM
replaced by a copy of its input sends other spikes on), so the shares are estimates and need not add up to 1.
Stages: the SSM (y = u), the mixing (o = y, no synaptic sums, no GLU), the GLU alone (o = the first half of the
mixing's sums), the residual + norm (h = h + o).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import scenarios  # noqa: E402
from models.init import s4d_state_dict  # noqa: E402
from models.loading import load_network  # noqa: E402
from models.paper_layout import network_from_state_dict  # noqa: E402
from simulator import engine, fused  # noqa: E402
from simulator.compiled import compile_network  # noqa: E402
from simulator.fused import driver  # noqa: E402

STAND_INS = {   # stage: (the LayerPlan field, the call that replaces its piece's)
    "SSM": ("ssm", "blocks.take(y, {u}, n)"),
    "mixing": ("mixing", "blocks.take(o, y, n)"),
    "GLU": ("mixing", None),    # the mixing's own call, with the GLU replaced by a copy
    "residual + norm": ("after", "blocks.residual_add(h, o, n)"),
}


def variant(cn, stage: str | None) -> driver.FusedDriver:
    layers, final = driver.plan(cn)
    if stage is not None:
        field, call = STAND_INS[stage]
        if stage == "GLU" and "glu_rows" not in layers[0].mixing.call:
            raise SystemExit("--checkpoint: the GLU stand-in needs a network with GLU spike mixing")
        layers = [dataclasses.replace(lp, **{field: dataclasses.replace(getattr(lp, field), call=call or getattr(
            lp, field).call.replace("kernels.glu_rows(zb, n, o)", "blocks.take(o, zb, n)"))}) for lp in layers]
    src = driver.source(layers, final, tokens=cn.enc_rows is None, fixed=cn.fixed is not None)
    return driver.FusedDriver(layers, final, driver.load_kernel(src))


def shipped(name: str, samples: int):
    net = load_network(scenarios.CHECKPOINT_DIR / f"{name}.h5")
    return net, scenarios.get(name.split("_")[0]).load("test", n=samples)[0]


def synthetic(samples: int):
    """benchmarks/engine.py's network and input (4 layers, H=128, N=64, L=784; seeds as there)."""
    net = network_from_state_dict(s4d_state_dict(kind="binary_s4d", H=128, N=64, n_layers=4, seed=1, perturb=0.1),
                                  source="benchmark", kind="binary_s4d")
    return net, np.random.default_rng(0).uniform(0, 1, (samples, 784, 1))


def measure(net, x, rounds: int, dtype: str) -> dict[str, float]:
    cn = compile_network(net, dtype)
    drivers = {stage: variant(cn, stage) for stage in (None, *STAND_INS)}
    real = fused.driver_for

    def timed(fd) -> float:
        fused.driver_for = lambda cn: fd      # what engine.Simulation asks for
        try:
            t0 = time.perf_counter()
            engine.run(net, x, batch_size=64, compiled=cn)
            return time.perf_counter() - t0
        finally:
            fused.driver_for = real

    for fd in drivers.values():
        timed(fd)                             # compile and warm up
    best = dict.fromkeys(drivers, float("inf"))
    for _ in range(rounds):
        for stage, fd in drivers.items():
            best[stage] = min(best[stage], timed(fd))
    return {("whole" if k is None else k): v / len(x) * 1e3 for k, v in best.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default="smnist_binary_s4d")
    ap.add_argument("--synthetic", action="store_true", help="benchmarks/engine.py's synthetic network instead")
    ap.add_argument("--samples", type=int, default=None, help="default 256 digits, or 32 synthetic inputs")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if args.synthetic:
        net, x = synthetic(args.samples or 32)
        what = f"benchmarks/engine.py's synthetic network (H=128, N=64): {len(x)} random inputs"
    else:
        net, x = shipped(args.checkpoint, args.samples or 256)
        what = f"{args.checkpoint}: {len(x)} held-out digits"
    print(f"{what}, batch 64, best of {args.rounds} interleaved rounds; "
          f"load average {os.getloadavg()[0]:.2f} before", flush=True)
    for dtype in ("float64", "float32"):
        ms = measure(net, x, args.rounds, dtype)
        whole = ms.pop("whole")
        print(f"  {dtype}: whole {whole:.2f} ms/sample")
        for stage, v in ms.items():
            print(f"    without {stage:16s} {v:6.2f} ms/sample   share {(whole - v) / whole:5.1%}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
