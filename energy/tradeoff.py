"""Per-token view of an estimate: energy and latency with ranges, the busiest core, the cores trade-off
(energy and latency per token vs cores, packed to spread) and the conventional baselines by regime.

report.py calls ``per_token_data`` when it builds energy.json and ``blocks`` / ``fig_cores_tradeoff`` when it
writes the pages.
"""
from __future__ import annotations

import math

from .baselines import regimes
from .catalogue import load_chip
from .model import estimate

SWEEP_POINTS = 8


def cores_sweep(counts: dict, chip) -> list[dict]:
    """Energy and latency per token (low / central / high) from the packed mapping to every core of the chips."""
    chip = load_chip(chip) if isinstance(chip, str) else chip
    if not chip.neuromorphic or chip.step_model != "loihi":
        return []
    packed = estimate(counts, chip, "packed")
    lo_cores = packed["mapping"]["cores"]
    hi_cores = packed["mapping"]["chips"] * chip.count("cores_per_chip")
    if hi_cores <= lo_cores:
        points = [lo_cores]
    else:
        ratio = (hi_cores / lo_cores) ** (1 / (SWEEP_POINTS - 1))
        points = sorted({min(hi_cores, max(lo_cores, round(lo_cores * ratio ** i))) for i in range(SWEEP_POINTS)})
    out = []
    for n in points:
        e = packed if n == lo_cores else estimate(counts, chip, n)
        out.append({"cores": e["mapping"]["cores"], "energy_per_token_pj": e["range"]["energy_per_token_pj"],
                    "latency_per_token_s": e["range"]["latency_per_token_s"],
                    "busiest": (e["step"] or {}).get("busiest_core")})
    return out


def per_token_data(counts: dict, results: dict) -> dict:
    """What the per-token sections show: sweeps for neuromorphic chips with a step model, baselines by regime."""
    sweeps = {name: cores_sweep(counts, r["chip"]["path"]) for name, r in results.items()
              if r["chip"]["family"] == "neuromorphic" and r["chip"]["step_model"] == "loihi"}
    return {"cores_sweep": sweeps, "regimes": regimes(counts)}


def fig_cores_tradeoff(data: dict):
    import matplotlib.pyplot as plt
    sweeps = {k: v for k, v in data["per_token"]["cores_sweep"].items() if v}
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, pts in sweeps.items():
        x = [p["cores"] for p in pts]
        for ax, key, scale in ((ax1, "energy_per_token_pj", 1e-6), (ax2, "latency_per_token_s", 1e6)):
            c = [p[key]["central"] * scale for p in pts]
            ax.plot(x, c, "o-", label=name)
            ax.fill_between(x, [p[key]["low"] * scale for p in pts], [p[key]["high"] * scale for p in pts], alpha=0.2)
    for ax, label in ((ax1, "energy per token (uJ, log scale)"), (ax2, "latency per token (us, log scale)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("cores (log scale): packed -> spread")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    ax1.set_title("Energy per token vs cores (band: low-high)")
    ax2.set_title("Latency per token vs cores (band: low-high)")
    if sweeps:
        ax1.legend(fontsize=8)
    else:
        ax1.text(0.5, 0.5, "no neuromorphic chip with a step model selected", ha="center", transform=ax1.transAxes)
    fig.tight_layout()
    return fig


def _rng(r: dict | None, fmt) -> str:
    if not r:
        return "-"
    return f"{fmt(r['central'])} ({fmt(r['low'])} - {fmt(r['high'])})"


def blocks(data: dict, fmt_energy, fmt_time) -> list[tuple]:
    B: list[tuple] = [("h2", "Per token: energy, latency, busiest core")]
    rows = [["chip", "mapping", "energy / token (low - high)", "latency / token (low - high)", "tokens / s",
             "static power of", "busiest core (layer, stage)"]]
    for r in data["chips"].values():
        rng = r.get("range", {})
        step = r.get("step") or {}
        busy = step.get("busiest_core")
        busiest = (f"{busy['layer']} ({busy['stage']}, {fmt_time(busy['time_s'])} of work; bound: {step['bound']})"
                   if busy and busy.get("layer") else (step.get("bound") or "-"))
        tp = r.get("throughput_tokens_per_s")
        rows.append([r["chip"]["display_name"], r["mapping"].get("strategy", "packed"),
                     _rng(rng.get("energy_per_token_pj"), fmt_energy),
                     _rng(rng.get("latency_per_token_s"), fmt_time) if r.get("latency_per_token_s") else
                     "no step model (see regimes)", f"{tp:.3g}" if tp else "-", r.get("static_powered", "-"), busiest])
    B.append(("table", rows))
    B.append(("p", "A token is one time step of one sample. Ranges: every price and time of the chip file at its low, "
                   "then at its high value. Latency per token = step time (max-affine: barrier + the slowest "
                   "pipelined stage of the busiest core or mesh link; docs/energy-model.md)."))
    B.append(("img", "cores_tradeoff", "Energy and latency per token vs cores (log axes)"))
    B.append(("h2", "Conventional baselines by regime"))
    rows = [["platform", "regime", "energy / token (low - high)", "latency or time / token (low - high)"]]
    for name, p in data["per_token"]["regimes"].items():
        s, b = p["streaming"], p["batched"]
        tag = " (measured here)" if p["measured_here"] else ""
        rows.append([p["display_name"] + tag, "streaming, batch 1, token by token",
                     _rng({k: s[k]["energy_pj"] for k in s}, fmt_energy),
                     _rng({k: s[k]["latency_s"] for k in s}, fmt_time)])
        rows.append([p["display_name"] + tag, "batched offline (FFT), throughput-bound",
                     _rng({k: b[k]["energy_pj"] for k in b}, fmt_energy),
                     _rng({k: b[k]["time_per_token_s"] for k in b}, fmt_time)])
    B.append(("table", rows))
    f = next(iter(data["per_token"]["regimes"].values()))["flops_per_token"] if data["per_token"]["regimes"] else None
    if f:
        B.append(("p", f"Per token: {f['recurrent']:.3g} FLOPs in the recurrent form, {f['convolution']:.3g} in the "
                       f"FFT form, {f['operators']} operators (kernel launches) per streamed token. Streaming: "
                       "operators x launch latency + FLOPs / peak, at the platform's streaming power (idle "
                       "included); batched: FLOPs / (peak x utilisation) at its batched power (energy/platforms.toml)."))
    return B
