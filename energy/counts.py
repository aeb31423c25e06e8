"""The operation-count format the simulator engines emit, and its validation.

Every count is an integer TOTAL over ``n_samples`` samples. See docs/energy-model.md for
the meaning of each key; the energy model never runs kernels, it only reads these.
"""

from __future__ import annotations

import math

COUNT_KEYS = (
    "mode_updates", "channel_updates", "spikes", "spike_acs", "messages", "graded_macs",
    "graded_acs", "sigmoid", "gelu", "multiply", "norm_elements", "norm_reductions",
    "max_reductions", "residual_adds", "dense_macs", "real_mode_updates",
)
# Keys added after counts files were first written: a file without them simply had none (no warning).
LATER_KEYS = ("real_mode_updates",)
# Optional keys the engines may add; read when present, never required.
OPTIONAL_KEYS = ("dense_mode_updates",)  # modes x directions x steps: the dense-ANN state work
NETWORK_KEYS = ("n_layers", "H", "N", "directions")
LAYER_KEYS = ("name", "neurons", "modes", "synapses", "fan_out", "counts")
# A layer's hardware needs, as its parts declare them (models/parts): energy reads these facts, never a
# layer kind's name. An SSM layer (modes > 0) must state what it sends ("message").
NEED_VALUES = {"state": ("complex", "real"), "message": ("binary", "ternary", "graded"),
               "norm": ("affine", "normalise"),
               # "shared": every mode is driven by all channels and read by all (S5: B is P x H, C is H x P); the
               # readout C x is then counted in graded_macs, not inside mode_updates. Absent: one channel's modes.
               "modes": ("per_channel", "shared")}
NEED_LISTS = ("elementwise", "reductions")
# Widths in bits a layer may declare (fixed-point mode): what its messages carry; energy prices graded
# synaptic events by it.
NEED_INTS = ("message_bits",)


class CountsError(ValueError):
    """The counts dict does not have the documented form; the message says where."""


def validate_counts(counts: dict) -> list[str]:
    """Check ``counts``; raise CountsError on a fault, return warnings (missing keys read as 0)."""
    warnings: list[str] = []
    if not isinstance(counts, dict):
        raise CountsError(f"counts must be a dict, found {type(counts).__name__}")
    for key in ("n_samples", "timesteps"):
        v = counts.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise CountsError(f"counts['{key}'] must be a positive integer, found {v!r}")
    net = counts.get("network")
    if not isinstance(net, dict):
        raise CountsError("counts['network'] is missing (the static description of the network)")
    for key in NETWORK_KEYS:
        if key not in net:
            raise CountsError(f"counts['network'] has no '{key}'")
    if net["directions"] not in (1, 2):
        raise CountsError(f"counts['network']['directions'] must be 1 or 2, found {net['directions']!r}")
    layers = counts.get("layers")
    if not isinstance(layers, list) or not layers:
        raise CountsError("counts['layers'] must be a non-empty list")
    for i, layer in enumerate(layers):
        where = f"counts['layers'][{i}]"
        if not isinstance(layer, dict):
            raise CountsError(f"{where} must be a dict")
        for key in LAYER_KEYS:
            if key not in layer:
                raise CountsError(f"{where} ({layer.get('name', '?')}) has no '{key}'")
        for key in ("neurons", "modes", "synapses", "fan_out"):
            v = layer[key]
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise CountsError(f"{where}['{key}'] must be a non-negative integer, found {v!r}")
        _check_needs(layer, where)
        c = layer["counts"]
        unknown = sorted(set(c) - set(COUNT_KEYS) - set(OPTIONAL_KEYS))
        if unknown:
            raise CountsError(f"{where}['counts'] has unknown keys {unknown}; known: {', '.join(COUNT_KEYS)}")
        for key in COUNT_KEYS + OPTIONAL_KEYS:
            if key not in c:
                if key in COUNT_KEYS and key not in LATER_KEYS:
                    warnings.append(f"layer {layer['name']}: count '{key}' missing, read as 0")
                continue
            v = c[key]
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise CountsError(f"{where}['counts']['{key}'] must be a non-negative integer, found {v!r}")
    names = [layer["name"] for layer in layers]
    if len(set(names)) != len(names):
        raise CountsError(f"counts['layers'] has duplicate names: {names}")
    return warnings


def _check_needs(layer: dict, where: str) -> None:
    needs = layer.get("needs", {})
    if not isinstance(needs, dict):
        raise CountsError(f"{where}['needs'] must be a dict of hardware facts, found {type(needs).__name__}")
    for key, value in needs.items():
        if key in NEED_VALUES:
            if value not in NEED_VALUES[key]:
                raise CountsError(f"{where}['needs']['{key}']: expected one of {', '.join(NEED_VALUES[key])}, "
                                  f"found {value!r}")
        elif key in NEED_INTS:
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 64:
                raise CountsError(f"{where}['needs']['{key}'] must be a whole number of bits (1-64), found {value!r}")
        elif key in NEED_LISTS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise CountsError(f"{where}['needs']['{key}'] must be a list of names, found {value!r}")
        else:
            raise CountsError(f"{where}['needs'] has unknown fact {key!r}; known: "
                              f"{', '.join([*NEED_VALUES, *NEED_LISTS, *NEED_INTS])}")
    if layer.get("modes", 0) and "message" not in needs:
        raise CountsError(f"{where} ({layer.get('name', '?')}): an SSM layer must state needs['message'] "
                          "(binary, ternary or graded: what it sends to its mixing); counts.json files from earlier versions "
                          "of this simulator lack it: regenerate them")


def need(layer: dict, key: str):
    """A declared hardware fact of a layer (None, or [] for the lists, when not declared)."""
    return layer.get("needs", {}).get(key, [] if key in NEED_LISTS else None)


def get(layer: dict, key: str) -> int:
    """A layer's count, 0 if missing (validate_counts reports missing keys)."""
    return int(layer["counts"].get(key, 0))


def is_ssm(layer: dict) -> bool:
    """A layer with state modes (an SSM); encoder and decoder have none."""
    return layer["modes"] > 0


def totals(counts: dict) -> dict[str, int]:
    """Every count key summed over layers."""
    return {k: sum(get(layer, k) for layer in counts["layers"]) for k in COUNT_KEYS}


def fan_in(layer: dict) -> int:
    """Inputs per target of the mixing stage: synapses / fan-out (H for an H x 2H GLU)."""
    return math.ceil(layer["synapses"] / layer["fan_out"]) if layer["fan_out"] else 0


def firing_rate(counts: dict, layer: dict) -> float | None:
    """Spikes per (neuron x time step x sample); None for layers that do not spike."""
    if not is_ssm(layer) or layer["neurons"] == 0 or need(layer, "message") == "graded":
        return None
    slots = layer["neurons"] * counts["timesteps"] * counts["n_samples"]
    return get(layer, "spikes") / slots
