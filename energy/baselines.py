"""Conventional platforms by regime: what a CPU, a desktop GPU or an edge GPU spends per token.

Two regimes, both per token (one time step of one sample):

* streaming, batch 1, token by token (the recurrent form, as a deployed model answers each input): every
  operator is one kernel launch, so latency = operators x launch latency + FLOPs / peak rate, and the
  device draws ``power_streaming`` all that time (idle power included): energy = power x latency.
* batched offline (the convolution form, FFT over whole sequences, many sequences at once):
  throughput-bound, time per token = FLOPs per token / (peak x utilisation), energy = power_batched x time.

FLOPs per token come from the counts' dense-ANN form (every synapse and mode every step); the FFT form
replaces the recurrence by one kernel per channel (the modes summed) and ~3 FFTs of length 2L per channel. Figures and their
ranges are in energy/platforms.toml; the CPU's operator latency and FLOP rate are measured on this
machine (benchmarks/cpu_regimes.py -> benchmarks/results/cpu_regimes.json) when that file exists.
"""
from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

from .counts import get, is_ssm, need

PLATFORMS_FILE = Path(__file__).parent / "platforms.toml"
CPU_MEASURED = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "cpu_regimes.json"
# Operators of one recurrent step as written in PyTorch, per block (state update: decay multiply, input
# broadcast, drive multiply, add; readout matmul; mixing matmul, bias add, activation) and for the encoder
# and decoder: counted in benchmarks/cpu_regimes.py's loop, which is written that way.
OPS_PER_BLOCK, OPS_OUTSIDE = 8, 2
# A block with more stages than that loop launches one more operator for each: a sigmoid (a gate), a GELU, an
# elementwise product, a residual add, a norm (one fused layer_norm / batch_norm call).
EXTRA_STAGE_KEYS = ("sigmoid", "gelu", "multiply", "residual_adds", "norm_elements")
FFT_FLOPS = 5.0     # a complex FFT of n points costs ~5 n log2 n FLOPs (the usual radix-2 count)
_UNITS = {"W": 1.0, "us": 1e-6, "FLOP/s": 1.0, "1": 1.0}


def load_platforms(path: Path = PLATFORMS_FILE) -> dict:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out = {}
    for name, entries in data.items():
        p = {"display_name": entries.get("display_name", name), "sources": {}}
        for key, q in entries.items():
            if not isinstance(q, dict):
                continue
            f = _UNITS[q["unit"]]
            p[key] = {c: float(q[k]) * f for c, k in (("low", "low"), ("central", "value"), ("high", "high"))}
            p["sources"][key] = {k: q[k] for k in ("value", "low", "high", "unit", "kind", "source", "note")}
        out[name] = p
    if CPU_MEASURED.exists() and "cpu" in out:
        m = json.loads(CPU_MEASURED.read_text())
        out["cpu"]["launch_latency"] = dict.fromkeys(("low", "central", "high"), m["s_per_operator"])
        out["cpu"]["peak_flops"] = dict.fromkeys(("low", "central", "high"), m["batched_flop_per_s"])
        out["cpu"]["measured"] = m
    return out


def flops_per_token(counts: dict) -> dict:
    """Dense FLOPs per token of the recurrent form and of the FFT (convolution) form, and operators."""
    steps = counts["timesteps"] * counts["n_samples"]
    L = counts["timesteps"]
    rec = conv = 0.0
    blocks = extra_ops = 0
    for layer in counts["layers"]:
        macs = get(layer, "dense_macs") / steps
        rec += 2 * macs
        conv += 2 * macs
        if is_ssm(layer):
            blocks += 1
            extra_ops += sum(1 for k in EXTRA_STAGE_KEYS if get(layer, k) > 0)
            modes = layer["modes"] * counts["network"]["directions"]
            real = need(layer, "state") == "real"
            rec += modes * (4 if real else 16)          # s = a s + b u and readout: 2 or 8 real mult+add pairs
            if need(layer, "modes") == "shared":        # S5: every mode driven by all H inputs, read into all H
                rec += modes * 8 * layer["neurons"]     # channels (B, C: a complex x real product, 4 FLOPs each)
            # convolution form: the modes' kernels summed into one kernel per channel (amortised over the
            # sequence: a few FLOPs per mode and token), then per channel an FFT of input and kernel and an inverse
            conv += modes * (2 if real else 8) + layer["neurons"] * 3 * FFT_FLOPS * math.log2(2 * L)
            rec += 4 * layer["neurons"]                  # D skip, activation
            conv += 4 * layer["neurons"]
    return {"recurrent": rec, "convolution": conv, "operators": blocks * OPS_PER_BLOCK + extra_ops + OPS_OUTSIDE}


def regimes(counts: dict, platforms: list[str] | None = None) -> dict:
    """Energy (pJ) and latency (s) per token, low / central / high, for every platform and regime."""
    data = load_platforms()
    f = flops_per_token(counts)
    out = {}
    for name in platforms or list(data):
        p = data[name]
        res = {"display_name": p["display_name"], "flops_per_token": f, "sources": p["sources"],
               "measured_here": "measured" in p}
        stream, batch = {}, {}
        for c in ("low", "central", "high"):
            # the slow corner pairs high latency with high power, so low/high bound energy and latency alike
            lat = f["operators"] * p["launch_latency"][c] + f["recurrent"] / p["peak_flops"][c]
            stream[c] = {"latency_s": lat, "energy_pj": p["power_streaming"][c] * lat * 1e12}
            t = f["convolution"] / (p["peak_flops"][c] * p["utilisation_batched"][_flip(c)])
            batch[c] = {"time_per_token_s": t, "energy_pj": p["power_batched"][c] * t * 1e12}
        res["streaming"] = stream
        res["batched"] = batch
        out[name] = res
    return out


def _flip(c: str) -> str:
    return {"low": "high", "central": "central", "high": "low"}[c]
