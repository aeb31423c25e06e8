"""Energy = counts x per-operation costs + memory accesses + static power x run time.

``estimate(counts, chip)`` returns a JSON-able dict; every energy is PER INFERENCE (one
sample) unless its name says otherwise. The itemised ``terms`` list holds every
(layer, count, primitive) product, so each figure in the summaries can be traced.
"""

from __future__ import annotations

from collections import defaultdict

from .catalogue import Chip, load_chip
from .counts import COUNT_KEYS, firing_rate, get, is_ssm, need, validate_counts
from .mapping import CATEGORIES, Mapping, map_network
from .step_time import step_time

PJ_PER_MW_S = 1e9  # 1 mW x 1 s = 1 mJ = 1e9 pJ


def unit_energy_pj(chip: Chip, mapping: Mapping, counts: dict, layer: dict, primitive: str) -> float:
    """Energy of one primitive on ``chip`` for ``layer`` (memory accesses depend on its size)."""
    if primitive == "route":
        return mapping.route_pj
    if primitive == "graded_synop" and chip.has("energy", "payload_mult"):
        # a graded event scales the weight by its payload: the synaptic read-accumulate plus a multiply whose
        # cost grows with the product of the widths (payload_mult is a 32 x 32-bit multiply)
        bits = need(layer, "message_bits") or chip.count("message_bits")
        return chip.energy_pj("synop") + chip.energy_pj("payload_mult") * bits * chip.count("weight_bits") / 1024
    if primitive.startswith("mem_"):
        dirs = counts["network"]["directions"]
        per_mode = 1 if need(layer, "state") == "real" else 2    # real numbers held per mode
        elements = {"mem_weight": layer["synapses"], "mem_acc": layer["fan_out"],
                    "mem_state": per_mode * layer["modes"] * dirs, "mem_drive": per_mode * layer["modes"] * dirs,
                    "mem_out": layer["neurons"]}[primitive]
        slope = float(chip.q("memory", "access_slope").canonical)
        offset = float(chip.q("memory", "access_offset").canonical)
        return slope * elements * float(chip.q("memory", "word_bits").canonical) + offset
    return chip.energy_pj(primitive)


def dense_counts(counts: dict, layer: dict) -> dict[str, float]:
    """Counts of the same layer run as a dense ANN (every synapse, mode and channel every step)."""
    steps = counts["timesteps"] * counts["n_samples"]
    d = {k: get(layer, k) for k in ("sigmoid", "gelu", "multiply", "norm_elements",
                                    "norm_reductions", "max_reductions", "residual_adds")}
    d["dense_macs"] = get(layer, "dense_macs")
    d["mode_updates"] = layer["counts"].get(
        "dense_mode_updates", layer["modes"] * counts["network"]["directions"] * steps)
    if need(layer, "state") == "real":     # the same state work, on real modes
        d["real_mode_updates"], d["mode_updates"] = d["mode_updates"], 0
    d["channel_updates"] = layer["neurons"] * steps if is_ssm(layer) else 0
    return d


def _itemise(counts, chip, mapping, dense, source) -> list[dict]:
    n = counts["n_samples"]
    terms = []
    for layer in counts["layers"]:
        events_of = source(layer)
        recipes = mapping.recipes_for(layer, dense)
        for key, events in events_of.items():
            for t in recipes.get(key, []):
                unit = unit_energy_pj(chip, mapping, counts, layer, t.primitive)
                per_inf = events / n
                terms.append({"layer": layer["name"], "count": key, "events_per_inference": per_inf,
                              "primitive": t.primitive, "per_event": t.per_event,
                              "unit_energy_pj": unit, "category": t.category, "native": t.native,
                              "energy_pj": per_inf * t.per_event * unit})
    return terms


def _summarise(terms: list[dict], layer_names: list[str]) -> dict:
    by_cat = {c: 0.0 for c in CATEGORIES}
    by_layer = {name: {"energy_pj": 0.0, "by_category": {c: 0.0 for c in CATEGORIES}}
                for name in layer_names}
    by_count: dict[str, float] = defaultdict(float)
    non_native = 0.0
    for t in terms:
        e = t["energy_pj"]
        by_cat[t["category"]] += e
        by_layer[t["layer"]]["energy_pj"] += e
        by_layer[t["layer"]]["by_category"][t["category"]] += e
        by_count[t["count"]] += e
        if not t["native"]:
            non_native += e
    return {"dynamic_energy_pj": sum(by_cat.values()), "by_category_pj": by_cat,
            "by_layer": by_layer, "by_count_pj": dict(by_count), "non_native_energy_pj": non_native}


def _static_mw(chip: Chip, mapping: Mapping) -> tuple[float, str]:
    """Static power of what is powered, and a sentence saying what that is."""
    if chip.static_scope == "core":
        return (chip.power_mw("static_per_core") * mapping.cores,
                f"the {mapping.cores} allocated cores (the rest power-gated)")
    return chip.power_mw("static_per_chip") * mapping.chips, f"{mapping.chips} whole chip(s)"


def _estimate_one(counts: dict, chip: Chip, cores: str | int) -> dict:
    mapping = map_network(counts, chip, cores)
    names = [layer["name"] for layer in counts["layers"]]
    L = counts["timesteps"]
    snn_source = lambda layer: {k: get(layer, k) for k in COUNT_KEYS if k != "dense_macs"}  # noqa: E731
    terms = _itemise(counts, chip, mapping, False, snn_source)
    snn = _summarise(terms, names)
    timing = step_time(counts, chip, mapping, terms)
    step_s = None if timing is None else timing["step_time_s"]
    run_s = None if step_s is None else step_s * L
    static_mw, powered = _static_mw(chip, mapping)
    static_pj = 0.0 if run_s is None else static_mw * run_s * PJ_PER_MW_S
    snn["by_category_pj"]["static"] = static_pj
    # A category with no price in this chip's model is reported as such, never as a measured-looking 0 J.
    priced = {t["category"] for t in terms if t["unit_energy_pj"] * t["per_event"] > 0}
    priced |= {"static"} if static_pj > 0 else set()
    total = snn["dynamic_energy_pj"] + static_pj
    result = {
        "chip": chip.describe(),
        "n_samples": counts["n_samples"], "timesteps": L,
        "energy_pj": total,                                # per inference
        "energy_per_timestep_pj": total / L,
        "energy_per_token_pj": total / L,                  # one token = one time step of one sample
        "dynamic_energy_pj": snn["dynamic_energy_pj"],
        "static_energy_pj": static_pj,
        "non_native_energy_pj": snn["non_native_energy_pj"],
        "by_category_pj": snn["by_category_pj"],
        "unpriced_categories": [c for c in CATEGORIES if c not in priced],
        "by_layer": snn["by_layer"],                       # dynamic only; static is whole-chip
        "by_count_pj": snn["by_count_pj"],
        "step_time_s": step_s, "run_time_s": run_s,
        "latency_per_token_s": step_s,
        "throughput_tokens_per_s": (1.0 / step_s) if step_s else None,
        "step": timing,
        "static_power_mw": static_mw, "static_powered": powered,
        "average_power_mw": (total / PJ_PER_MW_S / run_s) if run_s else None,
        "mapping": mapping.as_dict(),
        "firing_rates": {layer["name"]: firing_rate(counts, layer) for layer in counts["layers"]},
        "terms": terms,
        "ann": None,
    }
    if not chip.neuromorphic:
        dterms = _itemise(counts, chip, mapping, True, lambda layer: dense_counts(counts, layer))
        ann = _summarise(dterms, names)
        ann["by_category_pj"]["static"] = 0.0
        ann["energy_pj"] = ann["dynamic_energy_pj"]
        ann["energy_per_timestep_pj"] = ann["energy_pj"] / L
        ann["terms"] = dterms
        result["ann"] = ann
        result["snn_over_ann"] = total / ann["energy_pj"] if ann["energy_pj"] else None
    return result


RANGED = ("energy_pj", "energy_per_token_pj", "dynamic_energy_pj", "static_energy_pj", "latency_per_token_s",
          "throughput_tokens_per_s")


def estimate(counts: dict, chip: Chip | str, mapping: str | int = "packed") -> dict:
    """Energy of the counted run on one chip; per inference, per token, per layer, per category.

    ``mapping``: "packed", "spread" or a core count (neuromorphic chips with a step model). Every
    figure is computed at the chip's central values; ``range`` holds the low / central / high of the
    headline figures, with every price and time at its low and at its high (chip files' ranges)."""
    warnings = validate_counts(counts)
    chip = load_chip(chip) if not isinstance(chip, Chip) else chip
    result = _estimate_one(counts, chip, mapping)
    result["warnings"] = warnings
    lo, hi = (_estimate_one(counts, chip.corner(c), mapping) for c in ("low", "high"))
    rng = {}
    for key in RANGED:
        vals = [r[key] for r in (lo, result, hi)]
        if None in vals:
            rng[key] = None
        else:   # throughput falls as times rise: order each triple
            rng[key] = {"low": min(vals), "central": vals[1], "high": max(vals)}
    if result["ann"]:
        vals = [r["ann"]["energy_pj"] for r in (lo, result, hi)]
        rng["ann_energy_pj"] = {"low": min(vals), "central": vals[1], "high": max(vals)}
    result["range"] = rng
    return result


def compare(counts: dict, chips: list, mapping: str | int = "packed") -> dict:
    """Estimate on several chips and relate each SNN estimate to every dense-ANN baseline."""
    results = {}
    for c in chips:
        r = estimate(counts, c, mapping)
        results[r["chip"]["name"]] = r
    ann = {name: r["ann"]["energy_pj"] for name, r in results.items() if r["ann"]}
    ratios = {name: {base: (r["energy_pj"] / e if e else None) for base, e in ann.items()}
              for name, r in results.items()}
    return {"chips": results, "ann_energy_pj": ann, "snn_over_ann": ratios}
