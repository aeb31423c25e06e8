"""Run outputs: the console summary and the sparse spike file."""
from __future__ import annotations

from pathlib import Path

import h5py


def _si(n: float) -> str:
    for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.3g} {suffix}"
    return f"{n:.3g}"


def console_summary(s: dict) -> str:
    net = s["network"]
    lines = [f"{s['checkpoint']}: {net['kind']}, {net['n_layers']} layers, H={net['H']}, N={net['N']}"
             f"{', bidirectional' if net['directions'] == 2 else ''}",
             f"input: {s['input']}: {s['samples']} samples x {s['timesteps']} steps; "
             f"{s['engine']} engine, {s['dtype']}, {s['wall_time_s']:.2f} s"]
    if "accuracy" in s:
        correct = int(round(s["accuracy"] * s["samples"]))
        lines.append(f"accuracy: {100 * s['accuracy']:.2f} % ({correct}/{s['samples']})")
    if s["firing_rates"] is None:
        lines.append("firing rate: none (this network does not spike: its activations send graded messages)")
    else:
        lines.append("firing rate per layer (spikes per step per channel): "
                     + ", ".join(f"{r:.3f}" for r in s["firing_rates"]))
    if "precision" in s:
        lines.extend(precision_lines(s["precision"]))
    cols = ("spikes", "spike_acs", "messages", "graded_macs", "graded_acs", "mode_updates", "dense_macs")
    lines.append("operations per sample:")
    lines.append(f"  {'layer':<8}" + "".join(f"{c:>14}" for c in cols))
    n = max(1, s["samples"])
    for layer, fields in s["op_counts"].items():
        lines.append(f"  {layer:<8}" + "".join(f"{_si(fields[c] / n):>14}" for c in cols))
    return "\n".join(lines)


def precision_lines(p: dict) -> list[str]:
    """The precision section in a few lines: accuracy, agreement with float64, spikes, first divergence."""
    name = p["precision"]["name"]
    lines = [f"precision {name}: calibrated on {p['calibration'].get('source', '?')}"]
    if "accuracy" in p:
        lines.append(f"  accuracy {100 * p['accuracy']:.2f} % ({name}) vs {100 * p['accuracy_float64']:.2f} % "
                     f"(float64); predictions agreeing with float64: {100 * p['prediction_agreement_with_float64']:.2f} %")
    else:
        lines.append(f"  predictions agreeing with float64: {100 * p['prediction_agreement_with_float64']:.2f} %")
    spikes = [f"{100 * a:.3f} %" if a is not None else "graded" for a in p["spike_agreement"]]
    lines.append("  spike agreement per layer: " + ", ".join(spikes))
    fd = p["first_divergence"]
    lines.append("  first spike divergence: " + ("none" if fd is None else
                                                  f"layer {fd['layer']}, sample {fd['sample']}, step {fd['step']}"))
    lines.append("  saturations: " + ", ".join(f"{k} {v}" for k, v in p["saturations"].items()))
    return lines


def write_spikes(path: Path, result) -> None:
    """Sparse events per layer (sample, t, neuron, value) and per-layer spike counts per sample."""
    from simulator.spike_file import SpikeFileWriter
    writer = SpikeFileWriter(path, result.samples, result.timesteps, result.channels, len(result.spikes))
    try:
        writer.append(result.spikes)
        writer.close()
    except BaseException:
        writer.abort()
        raise


def read_spikes(path: Path):
    """The inverse of write_spikes: list of SpikeEvents and (samples, timesteps, channels)."""
    from simulator.recording import SpikeEvents
    with h5py.File(path, "r") as f:
        n = len([k for k in f.keys() if k.startswith("layer")])
        events = [SpikeEvents(*(f[f"layer{i}/{name}"][()] for name in ("sample", "t", "neuron", "value")))
                  for i in range(n)]
        shape = (int(f.attrs["samples"]), int(f.attrs["timesteps"]), int(f.attrs["channels"]))
    return events, shape
