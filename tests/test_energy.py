"""Energy model: every term checked by hand on a network small enough to price on paper.

The tiny fixture: H=2 channels, N=2 (one complex mode per channel), L=3 steps, one
Binary S4D layer, one sample. Every expected number below is written out from the
chip files' figures so a reader can redo it with a pencil.
"""

import copy
import json
import math

from pathlib import Path

import pytest

from energy import CountsError, estimate, load_chip, map_network, validate_counts
from energy.report import fmt_energy, fmt_power, fmt_time

ZERO = dict.fromkeys(("mode_updates", "channel_updates", "spikes", "spike_acs", "messages",
                      "graded_macs", "graded_acs", "sigmoid", "gelu", "multiply", "norm_elements",
                      "norm_reductions", "max_reductions", "residual_adds", "dense_macs"), 0)


def tiny_counts(n_samples: int = 1) -> dict:
    k = n_samples  # every count is a total over samples
    return {
        "n_samples": n_samples, "timesteps": 3,
        "network": {"kind": "binary_s4d", "n_layers": 1, "H": 2, "N": 2, "directions": 1,
                    "d_input": 1, "classes": 2, "encoder": "linear", "norm": "batch",
                    "prenorm": False, "parameter_count": 40, "footprint_bytes": 320},
        "layers": [
            {"name": "encoder", "kind": "encoder", "neurons": 2, "modes": 0, "synapses": 2,
             "fan_out": 2, "counts": {**ZERO, "messages": 3 * k, "graded_macs": 6 * k,
                                      "dense_macs": 6 * k}},
            {"name": "layer0", "kind": "ssm", "neurons": 2, "modes": 2, "synapses": 8, "fan_out": 4,
             "needs": {"state": "complex", "message": "binary", "norm": "affine",
                       "elementwise": ["multiply", "sigmoid"]},
             "counts": {**ZERO, "mode_updates": 5 * k, "channel_updates": 6 * k,
                                      "spikes": 3 * k, "spike_acs": 12 * k, "messages": 2 * k,
                                      "graded_macs": 2 * k, "sigmoid": 6 * k, "multiply": 6 * k,
                                      "norm_elements": 6 * k, "residual_adds": 6 * k,
                                      "dense_macs": 24 * k}},
            {"name": "decoder", "kind": "decoder", "neurons": 2, "modes": 0, "synapses": 4,
             "fan_out": 2, "counts": {**ZERO, "residual_adds": 6 * k, "messages": 2 * k,
                                      "graded_macs": 4 * k, "dense_macs": 4 * k}},
        ],
    }


def close(a, b):
    return a == pytest.approx(b, rel=1e-12, abs=1e-9)


def check_invariants(r):
    """Itemised terms add up to the summaries, and the summaries to the total."""
    assert close(sum(t["energy_pj"] for t in r["terms"]), r["dynamic_energy_pj"])
    assert close(sum(v["energy_pj"] for v in r["by_layer"].values()) + r["static_energy_pj"], r["energy_pj"])
    assert close(sum(r["by_category_pj"].values()), r["energy_pj"])
    assert close(sum(r["by_count_pj"].values()), r["dynamic_energy_pj"])
    for layer in r["by_layer"].values():
        assert close(sum(layer["by_category"].values()), layer["energy_pj"])


# -- Loihi: binary spikes only, fixed neurons, graded values bit-serial with 8 bits ------------

BEFORE = Path(__file__).parent / "data" / "chips_before"   # the chip files before issue 15's repricing


def test_loihi_by_hand():
    """The recipe arithmetic, priced with Davies et al.'s figures (the chip file of before issue 15)."""
    r = estimate(tiny_counts(), BEFORE / "loihi.toml")
    check_invariants(r)
    syn, nu, route, host, b = 23.6, 81.0, 1.7, 900.0, 8   # pJ; 3 cores on one tile: 0 hops
    assert r["mapping"]["cores"] == 3 and r["mapping"]["chips"] == 1
    assert close(r["mapping"]["route_pj"], route)
    mode = 2 * nu + 5 * b * syn + 3 * b * route      # emulated complex mode: 1146.8 pJ
    graded_syn = b * syn                             # one graded synaptic event, bit-serial
    msg = b * route
    residual = msg + graded_syn
    encoder = 3 * msg + 6 * graded_syn
    layer0 = (5 * mode + 6 * nu + 3 * route + 12 * syn + 2 * msg + 2 * graded_syn
              + 6 * 4 * host + 6 * host + 6 * nu + 6 * residual)
    decoder = 6 * residual + 2 * msg + 4 * graded_syn
    assert close(r["by_layer"]["encoder"]["energy_pj"], encoder)
    assert close(r["by_layer"]["layer0"]["energy_pj"], layer0)
    assert close(r["by_layer"]["decoder"]["energy_pj"], decoder)
    assert close(r["dynamic_energy_pj"], 38783.9)
    # step (max-affine): barrier 465 ns + the slowest pipelined stage of the busiest core (layer0):
    # neuron updates (10 + 6 + 6)/3 per step x 8.4 ns = 61.6 ns, synops (5*40 + 12 + 2*8 + 6*8)/3 per step
    # x 3.5 ns = 322 ns: the synaptic stage bounds it
    step = 465e-9 + max(22 / 3 * 8.4e-9, 276 / 3 * 3.5e-9)
    assert close(r["step_time_s"] * 1e9, step * 1e9)
    assert close(r["run_time_s"] * 1e9, 3 * step * 1e9)
    static = 104.0 * 3 * step * 1e9                  # mW x s -> pJ
    assert close(r["static_energy_pj"], static)
    assert close(r["energy_pj"], 38783.9 + static)
    assert close(r["energy_per_timestep_pj"], r["energy_pj"] / 3)
    assert close(r["by_category_pj"]["host"], 6 * 4 * host + 6 * host)
    assert close(r["average_power_mw"], r["energy_pj"] / 1e9 / r["run_time_s"])
    assert r["ann"] is None


def test_loihi2_by_hand():
    """A programmable chip WITHOUT native complex modes (the Loihi 2 file of before issue 15): 2 updates per mode."""
    r = estimate(tiny_counts(), BEFORE / "loihi2.toml")
    check_invariants(r)
    syn, gsyn, nu, route = 23.6, 26.7, 81.0, 1.7
    mode = 2 * nu + gsyn + route                     # two state variables + readout C
    residual = route + gsyn
    layer0 = (5 * mode + 6 * nu + 3 * route + 12 * syn + 2 * route + 2 * gsyn
              + 6 * nu + 6 * nu + 6 * nu + 6 * residual)
    assert close(r["by_layer"]["encoder"]["energy_pj"], 3 * route + 6 * gsyn)
    assert close(r["by_layer"]["layer0"]["energy_pj"], layer0)
    assert close(r["by_layer"]["decoder"]["energy_pj"], 6 * residual + 2 * route + 4 * gsyn)
    assert close(r["dynamic_energy_pj"], 3857.4)
    step = 465e-9 + max(34 / 3 * 8.4e-9, 25 / 3 * 3.5e-9)      # max-affine: the neuron stage bounds it
    assert close(r["static_energy_pj"], 104.0 * 3 * step * 1e9)
    assert r["non_native_energy_pj"] == 0


def test_truenorth_by_hand():
    r = estimate(tiny_counts(), "truenorth")
    check_invariants(r)
    syn, host, b = 26.0, 900.0, 8    # all-in synop; neuron updates and routes are inside it
    mode = 5 * b * syn               # coupling + readout, bit-serial (not weight-sliced)
    sliced = b * b * syn             # graded value into bit-sliced real weights
    layer0 = 5 * mode + 12 * b * syn + 2 * sliced + 6 * 4 * host + 6 * host + 6 * b * syn
    assert close(r["by_layer"]["encoder"]["energy_pj"], 6 * sliced)
    assert close(r["by_layer"]["layer0"]["energy_pj"], layer0)
    assert close(r["by_layer"]["decoder"]["energy_pj"], 6 * b * syn + 4 * sliced)
    assert close(r["energy_pj"], 57160.0)
    assert r["static_energy_pj"] == 0 and r["step_time_s"] == pytest.approx(1e-3)
    feats = {lim["feature"]: lim for lim in r["mapping"]["limitations"]}
    for f in ("complex SSM state", "graded (multi-bit) messages", "real-valued weights",
              "sigmoid (GLU)", "elementwise products", "static power"):
        assert not feats[f]["native"], f


def test_spinnaker_by_hand():
    r = estimate(tiny_counts(), "spinnaker")
    check_invariants(r)
    syn, nu = 13300.0, 26000.0       # graded synaptic events assumed equal to binary ones
    mode = 2 * nu + syn
    layer0 = 5 * mode + 6 * nu + 12 * syn + 2 * syn + 3 * 6 * nu + 6 * syn
    assert close(r["by_layer"]["layer0"]["energy_pj"], layer0)
    assert close(r["by_layer"]["encoder"]["energy_pj"], 6 * syn)
    assert close(r["by_layer"]["decoder"]["energy_pj"], 6 * syn + 4 * syn)


# -- conventional baselines: SNN (event-driven) and dense ANN ----------------------------------

def test_cpu_by_hand():
    r = estimate(tiny_counts(), "cpu")
    check_invariants(r)
    op = 8600.0
    # encoder 6 MAC; layer0: mode 5x(4 MAC + 2 mult), channel 6x(MAC + add), 12 AC, 2 MAC,
    # sigmoid 6x4 MAC, 6 mult, 6 BatchNorm MAC, 6 adds; decoder 6 adds + 4 MAC
    ops = 6 + (5 * 6 + 6 * 2 + 12 + 2 + 24 + 6 + 6 + 6) + (6 + 4)
    assert ops == 114
    assert close(r["energy_pj"], ops * op)
    # dense ANN: 6 + [24 dense MAC + 6 mode updates x (5 MAC + 2 mult) + 6 x 2 + 24 + 6 + 6 + 6] + 10
    dense = 6 + (24 + 6 * 7 + 12 + 24 + 18) + 10
    assert dense == 136
    assert close(r["ann"]["energy_pj"], dense * op)
    assert close(r["snn_over_ann"], 114 / 136)


def test_cmos45_fp32_by_hand():
    r = estimate(tiny_counts(), "cmos45-fp32")
    check_invariants(r)
    add, mult, mac = 0.9, 3.7, 4.6

    def mem(elements):  # Lemaire et al. 2022: 1.09e-5 pJ x elements x 32 bits + 13.2 pJ
        return 1.09e-5 * elements * 32 + 13.2

    enc = 6 * (mac + mem(2) + 2 * mem(2))
    l0 = (5 * (4 * mac + 2 * mult + 4 * mem(4))          # state size 2 x modes x directions = 4
          + 6 * (mac + add + mem(2))                     # output write, 2 neurons
          + 12 * (add + mem(8) + 2 * mem(4))             # weight read (8 synapses), acc rd+wr (fan-out 4)
          # the 2 drive MACs (Bb*u: graded_macs of a spiking layer) read their B entry (2 complex modes = 4
          # words) and nothing else: their sum lands in the state, whose read and write the 5 mode updates
          # above already charge (was mac + mem(8) + 2 * mem(4) each: those state accesses twice)
          + 2 * (mac + mem(4))
          + 6 * 4 * mac + 6 * mult + 6 * mac + 6 * add)
    dec = 6 * add + 4 * (mac + mem(4) + 2 * mem(2))
    assert close(r["by_layer"]["encoder"]["energy_pj"], enc)
    assert close(r["by_layer"]["layer0"]["energy_pj"], l0)
    assert close(r["by_layer"]["decoder"]["energy_pj"], dec)
    ann = (6 * (mac + mem(2))
           + 24 * (mac + mem(8)) + 6 * (5 * mac + 2 * mult + 4 * mem(4)) + 6 * (mac + add + mem(2))
           + 6 * 4 * mac + 6 * mult + 6 * mac + 6 * add
           + 4 * (mac + mem(4)) + 6 * add)
    assert close(r["ann"]["energy_pj"], ann)
    assert r["by_category_pj"]["memory"] > 0 and r["static_energy_pj"] == 0


def test_int8_uses_8_bit_words():
    r = estimate(tiny_counts(), "cmos45-int8")
    t = next(t for t in r["terms"] if t["primitive"] == "mem_weight" and t["layer"] == "layer0")
    assert close(t["unit_energy_pj"], 1.09e-5 * 8 * 8 + 13.2)
    assert any(lim["feature"] == "quantisation" for lim in r["mapping"]["limitations"])


# -- general properties ------------------------------------------------------------------------

@pytest.mark.parametrize("chip", ["loihi", "loihi2", "truenorth", "spinnaker", "spinnaker2",
                                  "cmos45-fp32", "cmos45-int8", "cpu", "gpu"])
def test_per_inference_does_not_depend_on_sample_count(chip):
    one, two = estimate(tiny_counts(1), chip), estimate(tiny_counts(2), chip)
    assert close(one["energy_pj"], two["energy_pj"])
    check_invariants(two)


def test_every_count_key_has_a_recipe_on_every_chip():
    from energy.counts import COUNT_KEYS
    from energy.catalogue import list_chips
    for name in list_chips():
        m = map_network(tiny_counts(), load_chip(name))
        assert set(m.recipes) == set(COUNT_KEYS) - {"dense_macs"}, name


def test_units_are_converted():
    assert load_chip("cpu").energy_pj("mac") == pytest.approx(8600.0)          # nJ -> pJ
    assert load_chip("spinnaker2").energy_pj("neuron_update") == pytest.approx(2190.0)
    assert load_chip("loihi").time_s("barrier_sync") == pytest.approx(299e-9)  # ns -> s (SANA-FE's barrier)
    assert load_chip("truenorth").time_s("step_time") == pytest.approx(1e-3)   # ms -> s
    assert load_chip("loihi").power_mw("static_per_chip") == pytest.approx(104.0)


def test_si_formatting():
    assert fmt_energy(1234.0) == "1.23 nJ"
    assert fmt_energy(5e5) == "500 nJ"
    assert fmt_energy(2.5e9) == "2.5 mJ"
    assert fmt_energy(0.5) == "500 fJ"
    assert fmt_energy(0) == "0 J"
    assert fmt_energy(3e6) == "3 µJ"
    assert fmt_power(104.0) == "104 mW"
    assert fmt_power(0.25) == "250 µW"
    assert fmt_time(848.6e-9) == "849 ns"
    assert fmt_time(2.5e-3) == "2.5 ms"


def test_bidirectional_and_layernorm_and_gsu_are_listed():
    from synthetic_counts import synthetic_counts
    c = synthetic_counts(kind="gsu", directions=2, norm="layer", L=20, H=8, N=4, n_layers=2)
    for chip in ("loihi", "loihi2", "cmos45-fp32"):
        r = estimate(c, chip)
        check_invariants(r)
        feats = {lim["feature"]: lim for lim in r["mapping"]["limitations"]}
        assert "bidirectional layers" in feats
    feats = {lim["feature"]: lim for lim in estimate(c, "loihi")["mapping"]["limitations"]}
    assert not feats["GSU per-step max over channels"]["native"]
    assert not feats["LayerNorm mean/variance reductions"]["native"]
    assert not feats["ternary spikes"]["native"]
    feats = {lim["feature"]: lim for lim in estimate(c, "loihi2")["mapping"]["limitations"]}
    assert feats["GSU per-step max over channels"]["native"]
    assert "assumed energies" not in feats   # its energies are derived and calibrated; host_op (assumed) goes unused


def test_mapping_splits_large_layers_over_cores():
    from synthetic_counts import synthetic_counts
    c = synthetic_counts(H=512, N=64, L=4, n_samples=1, n_layers=1)
    m = map_network(c, load_chip("truenorth"))
    layer = next(lm for lm in m.layers if lm.name == "layer0")
    # 512 x 32 modes x 2 compartments + 512 + 1024 targets = 34304 neurons over 256 per core
    assert layer.compartments == 512 * 32 * 2 + 512 + 1024
    assert layer.cores >= math.ceil(layer.compartments / 256)
    assert layer.cores >= math.ceil(layer.synaptic_bits / 65536)
    assert any(lim.feature == "fan-in of layer0" for lim in m.limitations)   # 512 x 8 axons > 256


def test_dense_mode_updates_from_engine_are_used():
    c = tiny_counts()
    c["layers"][1]["counts"]["dense_mode_updates"] = 600        # engines may emit it
    r = estimate(c, "cpu")
    mode_terms = [t for t in r["ann"]["terms"] if t["count"] == "mode_updates" and t["layer"] == "layer0"]
    assert mode_terms and all(t["events_per_inference"] == 600 for t in mode_terms)


def test_counts_validation_messages():
    c = tiny_counts()
    bad = copy.deepcopy(c)
    bad["layers"][1]["counts"]["spikez"] = 1
    with pytest.raises(CountsError, match="spikez"):
        validate_counts(bad)
    bad = copy.deepcopy(c)
    bad["layers"][1]["counts"]["spikes"] = -1
    with pytest.raises(CountsError, match="spikes"):
        validate_counts(bad)
    bad = copy.deepcopy(c)
    del bad["network"]
    with pytest.raises(CountsError, match="network"):
        estimate(bad, "loihi")
    bad = copy.deepcopy(c)
    del bad["layers"][0]["counts"]["gelu"]
    assert validate_counts(bad) == ["layer encoder: count 'gelu' missing, read as 0"]
    assert "layer encoder: count 'gelu' missing, read as 0" in estimate(bad, "loihi")["warnings"]


# Counts as simulator/counting.py's counts_report wrote them for a random 2-layer,
# H=16, N=8, bidirectional GSU with LayerNorm (4 samples x 100 steps): the format the
# engines emit (encoder kind "linear", decoder "pool", dense_mode_updates present); the
# layers' hardware needs are added below, as the GSU's parts declare them.
ENGINE_COUNTS_GSU = json.loads('{"n_samples":4,"timesteps":100,"network":{"kind":"gsu","n_layers":2,"H":16,"N":8,"directions":2,"d_input":1,"classes":10,"encoder":"linear","norm":"layer","prenorm":false,"parameter_count":1962,"footprint_bytes":7848},"layers":[{"name":"encoder","kind":"linear","neurons":16,"modes":0,"synapses":16,"fan_out":16,"counts":{"mode_updates":0,"dense_mode_updates":0,"channel_updates":0,"spikes":0,"spike_acs":0,"messages":400,"graded_macs":6400,"graded_acs":0,"sigmoid":0,"gelu":0,"multiply":0,"norm_elements":0,"norm_reductions":0,"max_reductions":0,"residual_adds":0,"dense_macs":6400}},{"name":"layer0","kind":"gsu","neurons":16,"modes":64,"synapses":512,"fan_out":16,"counts":{"mode_updates":51200,"dense_mode_updates":51200,"channel_updates":6400,"spikes":3455,"spike_acs":55280,"messages":12800,"graded_macs":25600,"graded_acs":89200,"sigmoid":0,"gelu":6400,"multiply":6400,"norm_elements":12800,"norm_reductions":12800,"max_reductions":6400,"residual_adds":6400,"dense_macs":204800}},{"name":"layer1","kind":"gsu","neurons":16,"modes":64,"synapses":512,"fan_out":16,"counts":{"mode_updates":51200,"dense_mode_updates":51200,"channel_updates":6400,"spikes":3572,"spike_acs":57152,"messages":12800,"graded_macs":25600,"graded_acs":88400,"sigmoid":0,"gelu":6400,"multiply":6400,"norm_elements":12800,"norm_reductions":12800,"max_reductions":6400,"residual_adds":6400,"dense_macs":204800}},{"name":"decoder","kind":"pool","neurons":10,"modes":0,"synapses":160,"fan_out":10,"counts":{"mode_updates":0,"dense_mode_updates":0,"channel_updates":0,"spikes":0,"spike_acs":0,"messages":64,"graded_macs":640,"graded_acs":0,"sigmoid":0,"gelu":0,"multiply":0,"norm_elements":0,"norm_reductions":0,"max_reductions":0,"residual_adds":6400,"dense_macs":640}}]}')
for _layer in ENGINE_COUNTS_GSU["layers"][1:3]:
    _layer["needs"] = {"state": "complex", "message": "ternary", "norm": "normalise",
                       "elementwise": ["gelu", "multiply", "normalise"],
                       "reductions": ["max |y| across channels", "mean and variance across channels"]}


@pytest.mark.parametrize("chip", ["loihi", "loihi2", "truenorth", "spinnaker", "spinnaker2",
                                  "cmos45-fp32", "cmos45-int8", "cpu", "gpu"])
def test_engine_counts_are_accepted(chip):
    r = estimate(ENGINE_COUNTS_GSU, chip)
    assert r["warnings"] == []
    check_invariants(r)
    assert r["energy_pj"] > 0
    feats = {lim["feature"] for lim in r["mapping"]["limitations"]}
    assert "bidirectional layers" in feats
    if r["ann"]:
        modes = [t for t in r["ann"]["terms"] if t["count"] == "mode_updates" and t["layer"] == "layer0"]
        assert modes[0]["events_per_inference"] == 16 * 4 * 2 * 100   # H x N/2 x directions x L


def test_cmos45_shared_modes_by_hand():
    """A layer whose modes are shared by all channels (S5): its readout is in graded_macs, so the SNN's mode
    update is Ab*s only; the dense ANN's drives and reads every mode from and into all H channels."""
    c = tiny_counts()
    c["layers"][1]["needs"] = {"state": "complex", "modes": "shared", "message": "graded"}
    r = estimate(c, "cmos45-fp32")
    check_invariants(r)
    add, mult, mac = 0.9, 3.7, 4.6

    def mem(elements):
        return 1.09e-5 * elements * 32 + 13.2
    modes = [t for t in r["terms"] if t["layer"] == "layer0" and t["count"] == "mode_updates"]
    assert close(sum(t["energy_pj"] for t in modes), 5 * (2 * mac + 2 * mult + 4 * mem(4)))
    # graded layer: the 2 graded MACs keep weight read + accumulator read and write
    g = [t for t in r["terms"] if t["layer"] == "layer0" and t["count"] == "graded_macs"]
    assert close(sum(t["energy_pj"] for t in g), 2 * (mac + mem(8) + 2 * mem(4)))
    H = 2
    dense = [t for t in r["ann"]["terms"] if t["layer"] == "layer0" and t["count"] == "mode_updates"]
    # 6 dense mode updates (modes x steps), each 2 + 2H MAC, 2 mult, 4 state accesses, 2H weight reads
    assert close(sum(t["energy_pj"] for t in dense), 6 * ((2 + 2 * H) * mac + 2 * mult + 4 * mem(4) + 2 * H * mem(8)))
