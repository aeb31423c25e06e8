"""Engine speed, all in one process on the same inputs (issue 3):

* roofline: the bare SSM recurrence kernel (no bookkeeping), the ceiling for mode updates on this machine;
* dense engine, event engine (whole network, float64);
* a plain numpy per-step loop (vectorised over batch, channels and modes; a loop over time);
* the mixing stage alone at a controlled firing rate (event vs dense kernel on the same spike trains).

* the shipped smnist_binary_s4d against PyTorch's FFT forward, fused kernel against walker, float32 against
  float64 (benchmarks/fused.py, interleaved rounds);
* start-up of the main job with an empty and with a warm kernel cache (separate processes);
* a sparse-input workload (silence, then a burst) where skipping idle SSM channels pays.

Reports complex mode updates per second and synaptic events per second, and the ratios the targets name.
Usage: python benchmarks/engine.py [--quick] [--pathx] [--json OUT.json]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.init import s4d_state_dict  # noqa: E402
from models.paper_layout import network_from_state_dict  # noqa: E402
from models.reference import apply_norm, glu  # noqa: E402
from simulator import kernels, vector_ssm  # noqa: E402
from simulator.compiled import compile_network  # noqa: E402
from simulator.engine import run  # noqa: E402
from simulator.fused import fixed_shapes  # noqa: E402


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def fixed_size_kernels(H: int, n2: int) -> dict:
    """The rooflines and the SSM stage as the fused kernel runs them: with the sizes written in
    (simulator/fused/fixed_shapes.py), and the state in vector registers (simulator/vector_ssm.py). A roofline
    that did not get the same help would flatter the engine."""
    ns = dict(vars(kernels))   # each source imports what else it reads (fixed_shapes.source)
    for fn, name in ((kernels.ssm_roofline, "fixed_roofline"), (vector_ssm.ssm_roofline, "vector_roofline")):
        exec(fixed_shapes.source(fn, name, "a_re", (n2,)).replace("cache=True", "cache=False"), ns)   # noqa: S102
    return {"fixed_roofline": ns["fixed_roofline"], "vector_roofline": ns["vector_roofline"],
            "forward": vector_ssm.walker_kernels(H, n2).ssm_forward}


def numpy_loop(net, x):
    """The baseline a researcher would write first: numpy, one time step at a time (unidirectional)."""
    cn = compile_network(net)
    h = x @ net.encoder.weight.T + net.encoder.bias
    B, L, H = h.shape
    for block, layer in zip(net.blocks, cn.layers):
        ssm, mix = layer.ssm, layer.mixing
        A = ssm.a_re + 1j * ssm.a_im
        Bb = ssm.b_re + 1j * ssm.b_im
        C = ssm.c_re[0] + 1j * ssm.c_im[0]
        s = np.zeros((B, H, A.shape[1]), complex)
        out = np.empty_like(h)
        for t in range(L):
            u = h[:, t]
            s = A * s + Bb * u[:, :, None]
            y = 2 * (C * s).sum(-1).real + ssm.d * u
            sp = (y > 0).astype(np.float64)
            out[:, t] = glu(sp @ mix.w_rows + mix.bias)
        h = apply_norm(block.norm, h + out)
    return (h.mean(1) @ net.decoder.weight.T + net.decoder.bias)


def startup(samples: int = 16) -> dict:
    """Wall time of `python -m simulator run --samples N` with an empty kernel cache, then with it warm."""
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, SSM_SNN_CACHE=cache)
        env.pop("NUMBA_CACHE_DIR", None)
        for label in ("cold", "warm"):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "simulator", "run", "--samples", str(samples)], cwd=ROOT, env=env,
                           check=True, capture_output=True)
            out[f"{label}_s"] = time.perf_counter() - t0
    return out


def sparse_inputs(rng, quiet: float = 0.9, S: int = 16, L: int = 784, H: int = 128, N: int = 64, repeats: int = 3):
    """Silence, then a burst: with zero biases and no norm a silent input keeps every state at exactly zero, and
    the event engine skips those channels (the dense engine updates them). Event vs dense time, and the share of
    mode updates skipped."""
    sd = s4d_state_dict(kind="binary_s4d", H=H, N=N, n_layers=4, norm="none", seed=3, perturb=0.1)
    for k in sd:
        if k.endswith("output_linear.0.bias") or k == "encoder.0.bias":
            sd[k] = sd[k] * 0.0
    net = network_from_state_dict(sd, source="sparse", kind="binary_s4d")
    x = np.zeros((S, L, 1))
    start = int(quiet * L)
    x[:, start:] = rng.uniform(0, 1, (S, L - start, 1))
    res = {}
    for engine in ("event", "dense"):
        run(net, x[:2], engine=engine)
        res[engine] = best_of(lambda e=engine: res.__setitem__(e + "_r", run(net, x, engine=e, batch_size=S)), repeats)
    done = sum(int(c["mode_updates"].sum()) for k, c in res["event_r"].counts.items() if k.startswith("layer"))
    dense = sum(int(c["dense_mode_updates"].sum()) for k, c in res["event_r"].counts.items() if k.startswith("layer"))
    assert np.array_equal(res["event_r"].logits, res["dense_r"].logits)
    return {"quiet_share": quiet, "event_s": res["event"], "dense_s": res["dense"],
            "event_over_dense": res["event"] / res["dense"], "mode_updates_done_share": done / dense}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--pathx", action="store_true", help="also time a Path-X-size model")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    layers, H, N, L, S = (2, 32, 16, 200, 8) if args.quick else (4, 128, 64, 784, 32)
    rng = np.random.default_rng(0)
    net = network_from_state_dict(s4d_state_dict(kind="binary_s4d", H=H, N=N, n_layers=layers, seed=1, perturb=0.1),
                                  source="benchmark", kind="binary_s4d")
    x = rng.uniform(0, 1, (S, L, 1))
    print(f"model: Binary S4D, {layers} layers, H={H}, N={N} ({N // 2} modes), L={L}, {S} samples; "
          f"{os.cpu_count()} cores")

    # warm up (compile) every kernel once
    run(net, x[:2, :10], engine="event"); run(net, x[:2, :10], engine="dense")  # noqa: E702
    cn = compile_network(net)
    lay, mix = cn.layers[0].ssm, cn.layers[0].mixing
    u = np.ascontiguousarray(rng.normal(size=(S, L, H)))
    y = np.zeros_like(u)
    coef = (lay.a_re, lay.a_im, lay.b_re, lay.b_im, lay.c_re[0], lay.c_im[0])
    fixed = fixed_size_kernels(H, N // 2)
    roofs = {"general": lambda: kernels.ssm_roofline(u, *coef, lay.d, y),
             "fixed sizes": lambda: fixed["fixed_roofline"](u, *coef, lay.d, y),
             "vector state": lambda: fixed["vector_roofline"](u, *coef, lay.d, y)}
    modes_per_layer = S * L * H * (N // 2)

    def stage(forward):   # an engine's SSM kernel (ssm_block: skipping, counts, streaming state) on the same input
        st = lay.new_state(S)
        forward(u, *coef, lay.d, st.s_re, st.s_im, st.u_prev, st.zero, True, y, np.zeros((S, 3), np.int64))
    stages = {"general": lambda: stage(kernels.ssm_forward), "vector state": lambda: stage(fixed["forward"])}
    for fn in (*roofs.values(), *stages.values()):
        fn()
    t_roofs, t_stages = dict.fromkeys(roofs, float("inf")), dict.fromkeys(stages, float("inf"))
    for _ in range(3):                         # interleaved, best of 3 each
        for k in roofs:
            t_roofs[k] = min(t_roofs[k], best_of(roofs[k], 1))
        for k in stages:
            t_stages[k] = min(t_stages[k], best_of(stages[k], 1))
    # The ceiling is the fastest bare recurrence; each SSM stage is held against the roofline of its own kind
    # (kernels.ssm_forward, any size; the state in vector registers, as the fused kernel and the walker run it).
    t_roof = min(t_roofs.values())
    t_stage = t_stages["vector state"]
    rate_roof = modes_per_layer / t_roof

    res = {}
    for engine in ("dense", "event"):
        t = best_of(lambda: res.__setitem__(engine, run(net, x, engine=engine, batch_size=S)), 3)
        res[engine + "_s"] = t
    ev = res["event"]
    total_modes = sum(int(c["mode_updates"].sum()) for k, c in ev.counts.items() if k.startswith("layer"))
    syn_events = sum(int(c["spike_acs"].sum()) for k, c in ev.counts.items() if k.startswith("layer"))
    assert np.array_equal(ev.logits, res["dense"].logits)
    n_np = min(S, 8)
    t_np = best_of(lambda: numpy_loop(net, x[:n_np]), 1) * S / n_np  # batched over samples, scaled to S
    t_np1 = best_of(lambda: numpy_loop(net, x[:1]), 1) * S          # one sample at a time, scaled to S

    # mixing stage alone at controlled firing rates, same spike trains for both kernels
    mixing = {}
    z = np.empty((S, L, 2 * H))
    for rate in (0.05, 0.5):
        spikes = (rng.uniform(size=(S, L, H)) < rate).astype(np.int8)
        kernels.spikes_mix(spikes, mix.w_rows, mix.bias, True, z)
        kernels.spikes_mix(spikes, mix.w_rows, mix.bias, False, z)
        te = best_of(lambda: kernels.spikes_mix(spikes, mix.w_rows, mix.bias, True, z), 3)
        td = best_of(lambda: kernels.spikes_mix(spikes, mix.w_rows, mix.bias, False, z), 3)
        mixing[rate] = (te, td, int(spikes.sum()) * 2 * H)

    rates = {
        "roofline_mode_updates_per_s": rate_roof,
        "event_mode_updates_per_s": total_modes / res["event_s"],
        "dense_mode_updates_per_s": total_modes / res["dense_s"],
        "numpy_mode_updates_per_s": layers * modes_per_layer / t_np,
        "numpy_per_sample_s_scaled": t_np1,
        "event_speedup_vs_numpy_per_sample": t_np1 / res["event_s"],
        "event_synaptic_events_per_s": syn_events / res["event_s"],
        "event_s": res["event_s"], "dense_s": res["dense_s"], "numpy_s_scaled": t_np,
        "firing_rates": ev.firing_rates(),
        "event_vs_roofline": (total_modes / res["event_s"]) / rate_roof,
        "ssm_stage_vs_roofline": t_roof / t_stage,
        "roofline_s": t_roofs, "ssm_stage_s": t_stages,
        "general_ssm_stage_vs_general_roofline": t_roofs["general"] / t_stages["general"],
        "event_speedup_vs_numpy": t_np / res["event_s"],
        "dense_speedup_vs_numpy": t_np / res["dense_s"],
        "mixing": {str(r): {"event_s": te, "dense_s": td, "event_over_dense": te / td,
                            "synaptic_events_per_s_event": n / te} for r, (te, td, n) in mixing.items()},
    }
    each = ", ".join(f"{k} {modes_per_layer / t / 1e6:.1f}" for k, t in t_roofs.items())
    print(f"roofline SSM kernel      {rate_roof / 1e6:9.1f} M mode updates/s (the fastest of: {each})")
    print(f"SSM stage (ssm_block)    {modes_per_layer / t_stage / 1e6:9.1f} M mode updates/s "
          f"= {rates['ssm_stage_vs_roofline']:.2f} x roofline (state in vector registers, as the engines run it; the "
          f"general kernel kernels.ssm_forward {rates['general_ssm_stage_vs_general_roofline']:.2f} x the general "
          f"roofline)")
    print(f"event engine (all)       {rates['event_mode_updates_per_s'] / 1e6:9.1f} M mode updates/s "
          f"= {rates['event_vs_roofline']:.2f} x roofline; {rates['event_synaptic_events_per_s'] / 1e6:.1f} M "
          f"synaptic events/s; {res['event_s']:.3f} s; firing {np.mean(ev.firing_rates()):.2f}")
    print(f"dense engine (all)       {rates['dense_mode_updates_per_s'] / 1e6:9.1f} M mode updates/s; {res['dense_s']:.3f} s")
    print(f"numpy per-step loop      {rates['numpy_mode_updates_per_s'] / 1e6:9.1f} M mode updates/s; "
          f"{t_np:.2f} s (batched over {n_np} samples, scaled to {S}); event {rates['event_speedup_vs_numpy']:.1f}x, "
          f"dense {rates['dense_speedup_vs_numpy']:.1f}x faster")
    print(f"numpy loop, 1 sample at a time: {t_np1:.2f} s (scaled to {S}); event "
          f"{rates['event_speedup_vs_numpy_per_sample']:.1f}x faster")
    for r, m in rates["mixing"].items():
        print(f"mixing stage at {float(r):.0%} firing: event {m['event_s'] * 1e3:.1f} ms, dense "
              f"{m['dense_s'] * 1e3:.1f} ms, ratio {m['event_over_dense']:.3f}; "
              f"{m['synaptic_events_per_s_event'] / 1e6:.0f} M synaptic events/s")

    if args.pathx:
        px = network_from_state_dict(s4d_state_dict(kind="binary_s4d", H=256, N=64, n_layers=6, directions=2,
                                                    norm="batch", prenorm=True, dt_min=1e-4, seed=2),
                                     source="pathx", kind="binary_s4d")
        xp = rng.uniform(0, 1, (2, 16384, 1))
        run(px, xp[:, :16])
        t = best_of(lambda: run(px, xp, batch_size=2), 3)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rates["pathx_s_per_sample"] = t / 2
        rates["peak_rss_mib"] = peak
        print(f"Path-X size (6 layers, H=256, N=64, L=16384, bidirectional): {t / 2:.2f} s per sample "
              f"(2 samples in parallel, best of 3), peak RSS {peak:.0f} MiB")
    sp = sparse_inputs(rng, S=4 if args.quick else 16, L=L, H=H, N=N)
    rates["sparse_inputs"] = sp
    print(f"sparse input ({sp['quiet_share']:.0%} silence, then a burst; zero biases, no norm): event "
          f"{sp['event_s'] * 1e3:.1f} ms, dense {sp['dense_s'] * 1e3:.1f} ms, ratio {sp['event_over_dense']:.2f}; "
          f"{sp['mode_updates_done_share']:.0%} of the dense engine's mode updates done")

    import fused as trained_bench   # benchmarks/fused.py
    m = trained_bench.measure(samples=16 if args.quick else 256, rounds=1 if args.quick else 5, batch=64)
    trained_bench.report(m)
    rates["trained"] = m

    st = startup()
    rates["startup"] = st
    print(f"start-up, python -m simulator run --samples 16 (separate processes): {st['cold_s']:.1f} s with an empty "
          f"kernel cache, {st['warm_s']:.1f} s warm")
    if args.json:
        Path(args.json).write_text(json.dumps(rates, indent=1, default=float))


if __name__ == "__main__":
    main()
