"""Energy and latency held against silicon: the validation rows, their predictions and the page.

``python -m simulator energy --validate [--out DIR]`` builds the workloads (simulator/cli/energy_workloads.py:
networks of the described sizes with random weights, run by our engine), hands their counts here, and this
module predicts every measured quantity with a low / central / high range and writes
``energy-validation.md``, ``energy-validation.json`` and ``images/energy_validation.png`` into DIR
(default docs/). Which rows calibrate the model is stated per row (``calibration``).
"""
from __future__ import annotations

import copy
import json
import math
from pathlib import Path

from .baselines import regimes
from .catalogue import load_chip
from .model import estimate

_L2_DIR = ("lava-nc/lava-dl, branch S4D_debug, commit 1b35217, src/lava/lib/dl/slayer/state_space_models/sCIFAR/"
           "profiling_scripts/")
# Intel's Loihi 2 profiler output printed in those notebooks (60,000 steps per run; time averaged over the runs,
# energy from the one run whose breakdown is printed). Per step = printed total / 60,000.
L2_MEASURED = {
    "torch": {"time_us": 31.033, "total_uj": 242759.0 / 60000, "dynamic_uj": 39582.0 / 60000, "static_w": 0.109,
              "source": _L2_DIR + "profiling_torch_version.ipynb: 31.03 us per step (average_time_per_timestep); "
                        "one run 242,759 uJ total, 39,582 uJ dynamic (0.021 W), static 0.109 W, over 60,000 steps"},
    "sigma_delta": {"time_us": 30.985, "total_uj": 281367.0 / 60000, "dynamic_uj": 18883.0 / 60000,
                    "static_w": 0.142,
                    "source": _L2_DIR + "profiling_slayer_version.ipynb (SigmaS4dDelta): 30.98 us per step; one run "
                              "281,367 uJ total, 18,883 uJ dynamic (0.010 W), static 0.142 W, over 60,000 steps"},
}
L2_SOURCE = L2_MEASURED["torch"]["source"]
MEYER_SOURCE = "Meyer et al., arXiv 2409.15022 (abstract): Loihi 2 vs recurrent S4D on a Jetson Orin Nano, token by token"
PIERRO_SOURCE = "Pierro et al., arXiv 2502.01330 (abstract): sparse S5 W8A16 on Loihi 2 vs a dense model on an edge GPU"

# The workloads, from their public descriptions (what is assumed is said in "assumed").
WORKLOADS = {
    "l2_s4d": {"ssm": "s4d_real", "H": 128, "N": 4, "n_layers": 1, "d_input": 3, "classes": 10, "steps": 1024,
               "message_bits": 24, "cores": 6,
               "described": "encoder 3->128, real S4D H=128 N=4 (512 state neurons), ReLU, FF 128->128 ReLU, decoder "
                            "128->10; 24-bit graded messages; 6 cores (Intel's profiler output in lava-dl)",
               "assumed": "random weights; uniform random sCIFAR-like input (1024 steps x 3 channels); the torch "
                          "variant sends every value every step (counts made dense), the sigma-delta variant only "
                          "changes (threshold 0, as counted)"},
    "meyer": {"ssm": "s4d_real", "H": 128, "N": 4, "n_layers": 4, "d_input": 1, "classes": 10, "steps": 784,
              "message_bits": 24, "cores": 31,
              "described": "S4D with ReLU, no norm or residual, 8-bit weights, 24-bit state and messages; 31 cores, "
                           "67k parameters (secondary sources), sMNIST",
              "assumed": "4 blocks of H=128, N=4 (67k parameters); real modes as in Lava's S4D process; random "
                         "weights and input; ReLU sigma-delta with threshold 0"},
    "meyer_large": {"ssm": "s4d_real", "H": 256, "N": 4, "n_layers": 4, "d_input": 3, "classes": 10, "steps": 1024,
                    "message_bits": 24, "cores": 111,
                    "described": "the larger of Meyer et al.'s networks: 111 cores, 265k parameters (secondary sources), "
                                 "sCIFAR",
                    "assumed": "4 blocks of H=256, N=4 (265k parameters); otherwise as 'meyer'"},
    "pierro": {"ssm": "s5", "H": 96, "P": 64, "n_layers": 3, "d_input": 257, "classes": 257, "steps": 256,
               "sparsity": 0.9, "message_bits": 16, "cores": "spread", "decoder_every_step": True,
               "mixing": "glu_half", "residual": True,
               "described": "S5, 3 layers (stevenabreu7/SparseRNNs, commit b623aea, recipes/ndns.json: d_model 192, "
                            "ssm_size_base 256, blocks 16, glu_variant half1, prenorm BatchNorm) at the README's "
                            "--dim_scale=0.5, the scale of every step of its pipeline from dense training to the "
                            "fixed-point export (README.md; main.py lines 480-484 scale blocks 16 -> 8, d_model -> 96, "
                            "ssm_size_base -> 128), i.e. 64 complex modes per layer: conj_sym (default True) keeps one "
                            "mode of each conjugate pair (sparseRNNs/train.py); each block (sparseRNNs/model/layers.py "
                            "and the fixed-point fxpmodel.py): S5 -> ReLU -> x * sigmoid(W x) (half1 gate) -> + skip; "
                            "about 90 % weight sparsity, W8A16, audio denoising; a regression model whose decoder runs "
                            "every step (QRegressionModel)",
               "assumed": "257 spectrogram bins in and out; the BatchNorm folded into the S5 input matrix "
                          "(fuse_batchnorm_linear) and the ReLU after the residual sum left out (neither is a part "
                          "here); the gate as our GLU with an identity half (x passed to the gate, one synaptic event "
                          "per changed input); random weights with 90 % zeros in every matrix but that identity "
                          "(encoder and decoder too: the pruner, jaxpruner with ERK, reaches all weight matrices); "
                          "uniform random input; decoder inputs all changed every step (an upper bound); spread "
                          "mapping (the measured core count is not public; the lowest-latency mapping assumed)"},
}


def every_step(counts: dict) -> dict:
    """The same run with every graded value sent every step (no sigma-delta): the torch (QAT) variant."""
    c = copy.deepcopy(counts)
    steps = c["timesteps"] * c["n_samples"]
    d_in = c["network"].get("d_input", 1)
    for layer in c["layers"]:
        k = layer["counts"]
        if layer["name"] == "encoder":
            k["messages"], k["graded_macs"] = d_in * steps, k["dense_macs"]
        elif layer["modes"]:
            drive = layer["modes"] * c["network"]["directions"] * steps     # b*u for every mode, every step
            k["messages"] = 2 * layer["neurons"] * steps                    # inputs in and activations out
            k["graded_macs"] = k["dense_macs"] + drive
    return c


def decoder_every_step(counts: dict) -> dict:
    """The same run with the decoder applied at every step (a per-step regression output, as in Pierro et al.'s
    denoiser), where our network reads it once: its non-zero weights every step, every input sent every step
    (an upper bound: a sigma-delta link would send only the changed ones)."""
    c = copy.deepcopy(counts)
    dec = next(layer for layer in c["layers"] if layer["name"] == "decoder")
    k, L, n = dec["counts"], c["timesteps"], c["n_samples"]
    k["messages"] = c["network"]["H"] * L * n
    k["graded_macs"] = k.get("graded_macs", 0) * L     # once per sample -> once per step
    k["dense_macs"] = k.get("dense_macs", 0) * L
    return c


def with_bits(counts: dict, bits: int) -> dict:
    c = copy.deepcopy(counts)
    for layer in c["layers"]:
        if layer["modes"]:
            layer.setdefault("needs", {})["message_bits"] = bits
    return c


def _r(est: dict, key: str, scale: float) -> dict:
    r = est["range"][key]
    return {k: r[k] * scale for k in ("low", "central", "high")}


def _ratio(num: dict, den: dict) -> dict:
    """Range of num / den when each lies in its own range (independent: the widest combination)."""
    n, d = (num["low"], num["high"]), (den["low"], den["high"])
    return {"low": min(n) / max(d), "central": num["central"] / den["central"], "high": max(n) / min(d)}


def _row(workload, quantity, unit, measured, pred, source, calibration, note=""):
    return {"workload": workload, "quantity": quantity, "unit": unit, "measured": measured,
            "predicted_low": pred["low"], "predicted": pred["central"], "predicted_high": pred["high"],
            "ratio": (pred["central"] / measured) if measured else None, "source": source,
            "calibration": calibration, "note": note}


def rows(counts: dict[str, dict], chip="loihi2") -> list[dict]:
    """Every validation row from the workloads' counts (keys of WORKLOADS)."""
    out = []
    l2 = WORKLOADS["l2_s4d"]
    torch_c = with_bits(every_step(counts["l2_s4d"]), l2["message_bits"])
    sd_c = with_bits(counts["l2_s4d"], l2["message_bits"])
    for name, c, key, cal in (("L2-S4D torch (QAT), 6 cores", torch_c, "torch", True),
                              ("L2-S4D sigma-delta, 6 cores", sd_c, "sigma_delta", False)):
        e = estimate(c, chip, l2["cores"])
        m = L2_MEASURED[key]
        out.append(_row(name, "time per step", "us", m["time_us"], _r(e, "latency_per_token_s", 1e6), m["source"], cal))
        out.append(_row(name, "energy per step, total", "uJ", m["total_uj"], _r(e, "energy_per_token_pj", 1e-6),
                        m["source"], cal, f"measured static power in this run: {m['static_w']} W"))
        out.append(_row(name, "energy per step, dynamic", "uJ", m["dynamic_uj"],
                        {k: v / e["timesteps"] * 1e-6 for k, v in _dyn(e).items()}, m["source"], cal))
    for key, src, meas_e, meas_t, platform in (("meyer", MEYER_SOURCE, 1000.0, 75.0, "jetson-orin-nano"),
                                               ("meyer_large", MEYER_SOURCE, 1000.0, 75.0, "jetson-orin-nano"),
                                               ("pierro", PIERRO_SOURCE, 149.0, 42.0, "jetson-orin-nano")):
        w = WORKLOADS[key]
        c = with_bits(counts[key], w["message_bits"])
        if w.get("decoder_every_step"):
            c = decoder_every_step(c)
        e = estimate(c, chip, w["cores"])
        base = regimes(c, [platform])[platform]
        loihi_e = _r(e, "energy_per_token_pj", 1.0)
        loihi_t = _r(e, "latency_per_token_s", 1.0)
        gpu_se = {k: base["streaming"][k]["energy_pj"] for k in loihi_e}
        gpu_st = {k: base["streaming"][k]["latency_s"] for k in loihi_e}
        gpu_be = {k: base["batched"][k]["energy_pj"] for k in loihi_e}
        name = {"meyer": "Meyer (sMNIST size, 31 cores)", "meyer_large": "Meyer (sCIFAR size, 111 cores)",
                "pierro": "Pierro (S5, spread)"}[key]
        label = f"{name}: {platform} / Loihi 2"
        out.append(_row(label, "energy ratio, streaming batch 1", "x", meas_e, _ratio(gpu_se, loihi_e), src, False))
        out.append(_row(label, "latency ratio, streaming batch 1", "x", meas_t, _ratio(gpu_st, loihi_t), src, False))
        out.append(_row(label, "energy ratio, batched offline (FFT)", "x", None, _ratio(gpu_be, loihi_e), src, False,
                        "Meyer et al.: the Jetson is better in batched mode; no number public (which metric is not "
                        "said in the abstract)" if key.startswith("meyer") else "no measurement of this regime public"))
        # throughput: the GPU's batched tokens per second over Loihi 2's (one token per step)
        gpu_tp = {k: 1.0 / base["batched"][k]["time_per_token_s"] for k in loihi_e}
        loihi_tp = {k: 1.0 / loihi_t[k] for k in loihi_e}
        out.append(_row(f"{name}: Loihi 2 / {platform}", "throughput ratio, batched offline", "x", None,
                        _ratio(loihi_tp, gpu_tp), src, False,
                        "Loihi 2 tokens/s over the GPU's batched tokens/s: below 1 means the GPU wins"))
    return out


def implied(counts: dict[str, dict], chip="loihi2") -> list[dict]:
    """What each measured ratio pair implies for one unknown when everything else is our central model.

    A diagnostic, not a fit: nothing here is used by a prediction. Per paper workload, with our Loihi 2
    latency t_L and average power P_L and the Jetson's operators n, dense FLOPs F and peak rate R:

    * the Jetson per-operator latency that gives the measured latency ratio: (ratio_t x t_L - F / R) / n;
    * the Loihi 2 time per token that gives it with our Jetson latency: t_J / ratio_t;
    * the Jetson power that the measured pair implies: (ratio_E / ratio_t) x P_L (energy ratio over
      latency ratio is the power ratio, whatever the latencies are)."""
    from .baselines import flops_per_token, load_platforms
    out = []
    jet = load_platforms()["jetson-orin-nano"]
    for key, meas_e, meas_t in (("meyer", 1000.0, 75.0), ("meyer_large", 1000.0, 75.0), ("pierro", 149.0, 42.0)):
        w = WORKLOADS[key]
        c = with_bits(counts[key], w["message_bits"])
        if w.get("decoder_every_step"):
            c = decoder_every_step(c)
        e = estimate(c, chip, w["cores"])
        t_l = e["latency_per_token_s"]
        p_l = e["energy_per_token_pj"] * 1e-12 / t_l
        f = flops_per_token(c)
        t_flops = f["recurrent"] / jet["peak_flops"]["central"]
        t_j = f["operators"] * jet["launch_latency"]["central"] + t_flops
        out.append({"workload": key, "measured_energy_ratio": meas_e, "measured_latency_ratio": meas_t,
                    "loihi_latency_us": t_l * 1e6, "loihi_power_w": p_l, "jetson_operators": f["operators"],
                    "jetson_latency_us": t_j * 1e6,
                    "jetson_power_w": jet["power_streaming"]["central"],
                    "implied_launch_latency_us": (meas_t * t_l - t_flops) / f["operators"] * 1e6,
                    "implied_loihi_latency_us": t_j / meas_t * 1e6,
                    "implied_jetson_power_w": meas_e / meas_t * p_l,
                    "assumed_launch_latency_us": [jet["launch_latency"][k] * 1e6 for k in ("low", "central", "high")],
                    "assumed_power_w": [jet["power_streaming"][k] for k in ("low", "central", "high")]})
    return out


def _dyn(e: dict) -> dict:
    return e["range"]["dynamic_energy_pj"]


def loihi1_constants() -> list[dict]:
    """Loihi 1 per-event constants: Davies et al. 2018 (pre-silicon) vs SANA-FE (fitted to silicon)."""
    chip = load_chip("loihi")
    keys = [("energy", "synop"), ("energy", "neuron_update"), ("energy", "spike_within_tile"), ("energy", "tile_hop"),
            ("timing", "barrier_sync"), ("timing", "neuron_update_time"), ("timing", "synop_time"),
            ("timing", "spike_out_time"), ("timing", "hop_time")]
    return [{"key": k, "unit": chip.q(s, k).unit, "used": chip.q(s, k).value, "low": chip.q(s, k).low,
             "high": chip.q(s, k).high, "source": chip.q(s, k).source} for s, k in keys]


def within(row: dict, factor: float) -> bool | None:
    if not row["measured"]:
        return None
    return 1 / factor <= row["predicted"] / row["measured"] <= factor


# -- the page ----------------------------------------------------------------------------------------------

def run_validation(counts: dict[str, dict], out_dir: str | Path = "docs", reduced: bool = False) -> dict:
    """Predict every row from ``counts`` and write energy-validation.md/.json and images/energy_validation.png."""
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    table = rows(counts)
    data = {"about": "python -m simulator energy --validate: predicted (our model) vs measured (silicon)",
            "reduced": reduced, "chip": "loihi2", "rows": table, "workloads": WORKLOADS,
            "loihi1_constants": loihi1_constants(), "implied": implied(counts),
            "steps_simulated": {k: c["timesteps"] for k, c in counts.items()},
            "within_2x": [r["workload"] + ": " + r["quantity"] for r in table if within(r, 2.0)],
            "within_3x": [r["workload"] + ": " + r["quantity"] for r in table if within(r, 3.0)],
            "within_25pct": [r["workload"] + ": " + r["quantity"] for r in table if within(r, 1.25)],
            "outside_3x": [r["workload"] + ": " + r["quantity"] for r in table if within(r, 3.0) is False]}
    fig = out / "images" / "energy_validation.png"
    _figure(table, fig)
    (out / "energy-validation.json").write_text(json.dumps(data, indent=1, allow_nan=False), encoding="utf-8")
    (out / "energy-validation.md").write_text(_markdown(data), encoding="utf-8")
    data["files"] = [str(out / "energy-validation.md"), str(out / "energy-validation.json"), str(fig)]
    return data


def place_labels(points, sizes, bounds, obstacles=(), pad=3.0):
    """Where to put each label so that none overlaps another, a marker or an obstacle, or leaves the axes.

    All in display pixels: ``points`` the anchors (x, y); ``sizes`` each label's (width, height); ``bounds``
    (x0, y0, x1, y1) of the axes; ``obstacles`` boxes (x0, y0, x1, y1) to keep clear of (markers, error
    bars). Greedy, in order: the first free candidate of eight directions at growing distances; the
    lower-left corner of each box is returned (the last candidate if none is free)."""
    def free(b, placed):
        if b[0] < bounds[0] or b[1] < bounds[1] or b[2] > bounds[2] or b[3] > bounds[3]:
            return False
        return not any(b[0] < o[2] and o[0] < b[2] and b[1] < o[3] and o[1] < b[3]
                       for o in list(obstacles) + placed)
    placed, out = [], []
    for (x, y), (w, h) in zip(points, sizes):
        cand = None
        for dist in (pad + 5, 2 * pad + 12, 4 * pad + 24, 6 * pad + 40):
            for dx, dy in ((1, 0), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1), (0, 1), (0, -1)):
                cx = x + dx * dist - (w if dx < 0 else 0) - (w / 2 if dx == 0 else 0)
                cy = y + dy * dist - (h if dy < 0 else 0) - (h / 2 if dy == 0 else 0)
                cand = (cx, cy, cx + w, cy + h)
                if free(cand, placed):
                    break
            else:
                continue
            break
        placed.append(cand)
        out.append((cand[0], cand[1]))
    return out


def _short(r: dict) -> str:
    return f'{r["workload"]}: {r["quantity"]} ({r["unit"]})'


def _figure(table: list[dict], path: Path) -> None:
    """Predicted vs measured, log-log. Each point carries a number; the key under the axes says which row
    it is (numbers, not names, next to the points: several rows share a place on the plot)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    pts = [r for r in table if r["measured"]]
    n_key = len(pts) + 1
    fig = plt.figure(figsize=(7.0, 6.4 + 0.13 * n_key))
    key_h = (0.13 * n_key + 0.1) / (6.4 + 0.13 * n_key)
    ax = fig.add_axes((0.12, key_h + 0.09, 0.84, 0.93 - key_h - 0.09 - 0.02))
    key = fig.add_axes((0.02, 0.0, 0.96, key_h))
    key.axis("off")
    lo = min(min(r["measured"], r["predicted_low"]) for r in pts) / 2
    hi = max(max(r["measured"], r["predicted_high"]) for r in pts) * 2
    xs = [lo, hi]
    ax.plot(xs, xs, "k-", lw=1, label="predicted = measured (1x)")
    ax.fill_between(xs, [x * 0.75 for x in xs], [x * 1.25 for x in xs], color="0.85", label="+-25 %")
    for x, style in ((2, ":"), (3, "--")):
        ax.plot(xs, [v * x for v in xs], "k" + style, lw=0.6)
        ax.plot(xs, [v / x for v in xs], "k" + style, lw=0.6, label=f"{x}x")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    groups = list(dict.fromkeys(r["workload"] for r in pts))
    colours = plt.get_cmap("tab10")
    for r in pts:
        c = colours(groups.index(r["workload"]) % 10)
        yerr = [[r["predicted"] - r["predicted_low"]], [r["predicted_high"] - r["predicted"]]]
        ax.errorbar([r["measured"]], [r["predicted"]], yerr=yerr, fmt="s" if r["calibration"] else "o",
                    color=c, mfc="white" if r["calibration"] else c, capsize=3, ms=5)
    legend = ax.legend(fontsize=7, loc="upper left")
    # one number per place: rows at the same point (within 3 px) share a label "8,12"
    fig.canvas.draw()
    tr = ax.transData.transform
    spots: list[list] = []
    for i, r in enumerate(pts, 1):
        xy = tr((r["measured"], r["predicted"]))
        for s in spots:
            if abs(s[0][0] - xy[0]) < 3 and abs(s[0][1] - xy[1]) < 3:
                s[1].append(i)
                break
        else:
            spots.append([xy, [i]])
    px = fig.dpi / 72.0
    fs = 8
    sizes = [((0.62 * fs * len(",".join(map(str, n))) + 2) * px, (fs + 2) * px) for _, n in spots]
    bb = ax.get_window_extent()
    lb = legend.get_window_extent()
    obstacles = [(lb.x0, lb.y0, lb.x1, lb.y1)]
    obstacles += [(x - 5 * px, y - 5 * px, x + 5 * px, y + 5 * px) for (x, y), _ in spots]
    for r in pts:   # the error bars, caps included
        (x, y0), (_, y1) = tr((r["measured"], r["predicted_low"])), tr((r["measured"], r["predicted_high"]))
        obstacles.append((x - 3.5 * px, y0, x + 3.5 * px, y1))
    corners = place_labels([s[0] for s in spots], sizes, (bb.x0, bb.y0, bb.x1, bb.y1), obstacles, pad=2 * px)
    inv = ax.transData.inverted().transform
    for ((x, y), nums), (cx, cy), (w, h) in zip(spots, corners, sizes):
        ax.annotate(",".join(map(str, nums)), tuple(inv((cx, cy))), fontsize=fs, ha="left", va="bottom",
                    fontweight="bold")
        mx, my = min(max(x, cx), cx + w), min(max(y, cy), cy + h)     # the box's nearest point to the marker
        if math.hypot(mx - x, my - y) > 12 * px:                        # far from its marker: a leader line
            ax.plot(*zip(inv((x, y)), inv((mx, my))), "-", lw=0.5, color="0.4")
    ax.set_xlabel("measured on silicon (log scale; each point in its own unit)")
    ax.set_ylabel("predicted, central with low-high range (log scale)")
    ax.set_title("Energy model vs silicon (open squares: calibration rows)")
    key.text(0.0, 1.0, "key: row, predicted / measured", va="top", ha="left", fontsize=6.6, family="monospace",
             transform=key.transAxes)
    for i, r in enumerate(pts, 1):
        line = (f'{i:>2}  {_short(r)}: {r["predicted"]:.3g} / {r["measured"]:.3g} = '
                f'{r["predicted"] / r["measured"]:.2f}x{"  (calibration)" if r["calibration"] else ""}')
        key.text(0.0, 1.0 - i / n_key, line.replace("jetson-orin-nano", "Jetson"), va="top", ha="left",
                 fontsize=6.6, family="monospace", color=colours(groups.index(r["workload"]) % 10),
                 transform=key.transAxes)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.3g}"


def _markdown(data: dict) -> str:
    out = ["# Energy and latency held against silicon", "",
           "Generated by `python -m simulator energy --validate` (energy/validation.py); do not edit by hand."
           + (" **Reduced run** (few steps): numbers are for testing the command only." if data["reduced"] else ""),
           "See [energy-model.md](energy-model.md) for the model and how it was calibrated.", "",
           "Calibration: the row marked 'yes' (Intel's S4D profiler run, torch version) fixes the model's two free "
           "figures, Loihi 2's energy factor kE (its dynamic energy) and the per-step host floor host_step (its "
           "time; Loihi's per-event times are used unscaled). Every row marked 'no (blind)' is predicted without "
           "it. The floor's max form was chosen knowing the blind sigma-delta run's time (energy-model.md).", "",
           "![predicted vs measured, log-log](images/energy_validation.png)", "",
           "The figure numbers the measured rows as the column # below does.", "",
           "| # | workload | quantity | unit | measured | predicted (low - high) | predicted / measured | "
           "calibration | source |", "|---|---|---|---|---|---|---|---|---|"]
    n = 0
    for r in data["rows"]:
        ratio = "-" if r["ratio"] is None else f'{r["ratio"]:.2f}'
        n += bool(r["measured"])
        out.append(f'| {n if r["measured"] else ""} | {r["workload"]} | {r["quantity"]} | {r["unit"]} | {_fmt(r["measured"])} | '
                   f'{_fmt(r["predicted"])} ({_fmt(r["predicted_low"])} - {_fmt(r["predicted_high"])}) | {ratio} | '
                   f'{"yes" if r["calibration"] else "no (blind)"} | {r["source"]}{"; " + r["note"] if r["note"] else ""} |')
    out += ["", f'Within 2x: {", ".join(data["within_2x"]) or "none"}.', "",
            f'Within 3x: {", ".join(data["within_3x"]) or "none"}.', "",
            f'Within 25 %: {", ".join(data["within_25pct"]) or "none"}.', "",
            f'Outside 3x: {", ".join(data["outside_3x"]) or "none"} (why: energy-model.md, "Calibration and '
            'validation").', ""]
    out += ["## What the measured ratios imply (a diagnostic; nothing here is used by a prediction)", "",
            "Each column holds everything else at our central model and solves for one unknown: the Jetson's "
            "per-operator launch latency that reproduces the measured latency ratio, the Loihi 2 time per token "
            "that reproduces it with our Jetson latency, and the Jetson power the measured pair implies (energy "
            "ratio / latency ratio = Jetson power / Loihi 2 power, whatever the latencies).", "",
            "| workload | measured E / t ratio | our Loihi 2: us per token, W | our Jetson: operators, us per token, W | "
            "implied launch latency (us per operator; assumed low-central-high) | implied Loihi 2 us per token | "
            "implied Jetson power (W; assumed low-central-high) |", "|---|---|---|---|---|---|---|"]
    for d in data["implied"]:
        a, pw = d["assumed_launch_latency_us"], d["assumed_power_w"]
        out.append(f'| {d["workload"]} | {d["measured_energy_ratio"]:g} / {d["measured_latency_ratio"]:g} | '
                   f'{d["loihi_latency_us"]:.3g}, {d["loihi_power_w"]:.3g} | {d["jetson_operators"]}, '
                   f'{d["jetson_latency_us"]:.3g}, {d["jetson_power_w"]:.3g} | {d["implied_launch_latency_us"]:.3g} '
                   f'({a[0]:g}-{a[1]:g}-{a[2]:g}) | {d["implied_loihi_latency_us"]:.3g} | '
                   f'{d["implied_jetson_power_w"]:.3g} ({pw[0]:g}-{pw[1]:g}-{pw[2]:g}) |')
    out += ["", "## Workloads", "",
            "Built in our tool (simulator/cli/energy_workloads.py): networks of the described sizes with random "
            "weights, run by the event engine; counts priced by energy/. Steps simulated: "
            + ", ".join(f"{k} {v}" for k, v in data["steps_simulated"].items()) + ".", ""]
    for name, w in data["workloads"].items():
        out.append(f'* **{name}**: {w["described"]}. Assumed: {w["assumed"]}. Mapping: {w["cores"]}'
                   f'{" cores" if isinstance(w["cores"], int) else ""}.')
    out += ["", "## Loihi 1 per-event constants: Davies et al. 2018 vs SANA-FE", "",
            "The Loihi model uses SANA-FE's silicon-fitted constants as central values; the ranges run down to "
            "Davies et al.'s pre-silicon figures and up by SANA-FE's reported error band (12 % energy, 25 % latency).",
            "", "| constant | unit | used | low | high | source |", "|---|---|---|---|---|---|"]
    for c in data["loihi1_constants"]:
        out.append(f'| {c["key"]} | {c["unit"]} | {c["used"]} | {c["low"]} | {c["high"]} | {c["source"]} |')
    return "\n".join(out) + "\n"
