"""Synthetic operation counts in the engines' format, for the energy tests.

These are NOT simulation results: they are built from a network's shape and assumed
activity (by default the firing rates measured on a 3-layer, H=48 Binary S4D trained with the
paper's code on MNIST: 0.59, 0.49, 0.49; docs/semantics.md, "Activity of trained networks").
Use the simulator's counts for real estimates.
"""

from __future__ import annotations

from models.parts import part_class
from models.presets import PRESETS


def layer_needs(kind: str, norm: str) -> dict:
    """The needs a layer of preset `kind` declares, as simulator.counting.counts_report merges them."""
    needs: dict = {}
    parts = [("ssm", "s4d"), ("activation", PRESETS[kind][0]), ("mixing", PRESETS[kind][1])]
    for role, name in parts + ([("norm", norm)] if norm != "none" else []):
        for key, value in part_class(role, name, "synthetic counts").NEEDS.items():
            needs[key] = sorted(set(needs.get(key, [])) | set(value)) if isinstance(value, list) else value
    return needs


def synthetic_counts(kind: str = "binary_s4d", n_layers: int = 3, H: int = 48, N: int = 64,
                     L: int = 784, n_samples: int = 4, directions: int = 1, d_input: int = 1,
                     classes: int = 10, rates=(0.59, 0.49, 0.49), change_fraction: float = 0.6,
                     norm: str = "batch") -> dict:
    """Counts for a sequential-MNIST-like run; ``change_fraction`` = share of graded values resent."""
    steps = L * n_samples
    modes = H * (N // 2)
    gsu = kind == "gsu"
    rates = list(rates) + [rates[-1]] * (n_layers - len(rates))
    zero = dict.fromkeys(("mode_updates", "channel_updates", "spikes", "spike_acs", "messages",
                          "graded_macs", "graded_acs", "sigmoid", "gelu", "multiply",
                          "norm_elements", "norm_reductions", "max_reductions", "residual_adds",
                          "dense_macs"), 0)
    enc_msgs = int(steps * d_input * 0.5)  # pixels that change between steps
    layers = [{"name": "encoder", "kind": "linear", "neurons": H, "modes": 0,
               "synapses": d_input * H, "fan_out": H, "needs": {},
               "counts": {**zero, "messages": enc_msgs, "graded_macs": enc_msgs * H,
                          "dense_macs": steps * d_input * H}}]
    params = d_input * H + H
    for i in range(n_layers):
        fan_out = H if gsu else 2 * H
        spikes = int(rates[i] * H * steps)
        msgs = int(change_fraction * H * steps)
        in_msgs = int(change_fraction * H * steps)   # the layer's input values that changed
        c = {**zero,
             "mode_updates": int(0.98 * modes * directions * steps),  # a few all-zero states skipped
             "dense_mode_updates": modes * directions * steps,
             "channel_updates": H * steps, "spikes": spikes, "spike_acs": spikes * fan_out,
             # as the engines count: input drive Bb*u is one graded MAC per mode per changed input
             "messages": in_msgs, "graded_macs": in_msgs * (N // 2),
             "norm_elements": H * steps if norm != "none" else 0,
             "residual_adds": H * steps, "dense_macs": H * fan_out * steps}
        out_msgs = int(change_fraction * H * steps)   # graded outputs that changed (GSU gate, S4D)
        if gsu:
            c.update(messages=in_msgs + out_msgs, graded_acs=out_msgs * (2 * H // 3),
                     multiply=H * steps, gelu=H * steps,
                     norm_elements=c["norm_elements"] + H * steps, norm_reductions=H * steps,
                     max_reductions=H * steps, dense_macs=2 * H * H * steps)
        elif kind == "s4d":
            c.update(spikes=0, spike_acs=0, gelu=H * steps, messages=in_msgs + out_msgs,
                     graded_macs=c["graded_macs"] + out_msgs * fan_out,
                     sigmoid=H * steps, multiply=H * steps)
        else:
            c.update(sigmoid=H * steps, multiply=H * steps)
        if norm == "layer":
            c["norm_reductions"] += H * steps
        synapses = H * fan_out + (H * H if gsu else 0)   # GSU: weights + ternary gate matrix
        layers.append({"name": f"layer{i}", "kind": "ssm", "neurons": H, "modes": modes,
                       "synapses": synapses, "fan_out": fan_out, "needs": layer_needs(kind, norm), "counts": c})
        params += H * fan_out + fan_out + 4 * modes + H * (directions + 1) + 2 * H
    layers.append({"name": "decoder", "kind": "pool", "neurons": classes, "modes": 0,
                   "synapses": H * classes, "fan_out": classes, "needs": {},
                   "counts": {**zero, "residual_adds": H * steps, "messages": H * n_samples,
                              "graded_macs": H * classes * n_samples,
                              "dense_macs": H * classes * n_samples}})
    params += H * classes + classes
    return {"n_samples": n_samples, "timesteps": L,
            "network": {"kind": kind, "n_layers": n_layers, "H": H, "N": N,
                        "directions": directions, "d_input": d_input, "classes": classes,
                        "encoder": "linear", "norm": norm, "prenorm": False,
                        "parameter_count": params, "footprint_bytes": 8 * params},
            "layers": layers}
