"""Step time (max-affine), mappings, static scope, ranges, native complex modes and width-priced messages,
each checked by hand on the tiny network of test_energy.py and a toy chip whose numbers are written here."""
import pytest
from test_energy import close, tiny_counts

from energy import estimate, load_chip, map_network

TOY = """
[chip]
name = "toy"
display_name = "Toy programmable chip"
family = "neuromorphic"
step_model = "loihi"
static_scope = "{scope}"

[energy]
synop = {{ value = 10.0, unit = "pJ", kind = "assumed", secondary = false, source = "test toy chip" }}
payload_mult = {{ value = 3.2, unit = "pJ", kind = "assumed", secondary = false, source = "test toy chip" }}
neuron_update = {{ value = 100.0, low = 50.0, high = 200.0, unit = "pJ", kind = "assumed", secondary = false, source = "test toy chip" }}
spike_within_tile = {{ value = 1.0, unit = "pJ", kind = "assumed", secondary = false, source = "test toy chip" }}
tile_hop = {{ value = 2.0, unit = "pJ", kind = "assumed", secondary = false, source = "test toy chip" }}

[power]
static_per_chip = {{ value = 1000.0, unit = "mW", kind = "assumed", secondary = false, source = "test toy chip" }}
static_per_core = {{ value = 10.0, unit = "mW", kind = "assumed", secondary = false, source = "test toy chip" }}

[timing]
barrier_sync = {{ value = 100.0, low = 50.0, high = 200.0, unit = "ns", kind = "assumed", secondary = false, source = "test toy chip" }}
neuron_update_time = {{ value = 10.0, unit = "ns", kind = "assumed", secondary = false, source = "test toy chip" }}
synop_time = {{ value = 1.0, unit = "ns", kind = "assumed", secondary = false, source = "test toy chip" }}
spike_out_time = {{ value = 2.0, unit = "ns", kind = "assumed", secondary = false, source = "test toy chip" }}
hop_time = {{ value = 3.0, unit = "ns", kind = "assumed", secondary = false, source = "test toy chip" }}

[capacity]
cores_per_chip = {{ value = 16, unit = "cores", kind = "assumed", secondary = false, source = "test toy chip" }}
cores_per_tile = {{ value = 4, unit = "cores", kind = "assumed", secondary = false, source = "test toy chip" }}
neurons_per_core = {{ value = 1024, unit = "neurons", kind = "assumed", secondary = false, source = "test toy chip" }}
synaptic_memory_per_core = {{ value = 1000000, unit = "bits", kind = "assumed", secondary = false, source = "test toy chip" }}
weight_bits = {{ value = 8, unit = "bits", kind = "assumed", secondary = false, source = "test toy chip" }}
state_bits = {{ value = 24, unit = "bits", kind = "assumed", secondary = false, source = "test toy chip" }}
message_bits = {{ value = 24, unit = "bits", kind = "assumed", secondary = false, source = "test toy chip" }}
emulation_bits = {{ value = 8, unit = "bits", kind = "assumed", secondary = false, source = "test toy chip" }}

[capabilities]
graded_spikes = {{ value = true, unit = "bool", kind = "assumed", secondary = false, source = "test toy chip" }}
programmable_neurons = {{ value = true, unit = "bool", kind = "assumed", secondary = false, source = "test toy chip" }}
complex_state = {{ value = true, unit = "bool", kind = "assumed", secondary = false, source = "test toy chip" }}
"""


@pytest.fixture
def toy(tmp_path):
    def make(scope="chip"):
        p = tmp_path / f"toy-{scope}.toml"
        p.write_text(TOY.format(scope=scope), encoding="utf-8")
        return load_chip(p)
    return make


def counts16():
    c = tiny_counts()
    c["layers"][1]["needs"]["message_bits"] = 16      # layer0 declares 16-bit messages (fixed-point mode)
    return c


def test_native_complex_modes_and_width_priced_messages_by_hand(toy):
    r = estimate(counts16(), toy())
    gsyn16, gsyn24 = 10 + 3.2 * 16 * 8 / 1024, 10 + 3.2 * 24 * 8 / 1024     # 10.4 pJ and 10.6 pJ
    # layer0: neuron updates: modes 5 (ONE each, native) + channels 6 + sigmoid 6 + multiply 6 + norm 6 = 29;
    # graded events: modes 5 + graded_macs 2 + residual 6 = 13; binary synops 12; routes 5 + 3 + 2 + 6 = 16
    layer0 = 29 * 100 + 13 * gsyn16 + 12 * 10 + 16 * 1
    assert close(r["by_layer"]["layer0"]["energy_pj"], layer0)
    assert close(r["by_layer"]["encoder"]["energy_pj"], 3 * 1 + 6 * gsyn24)
    assert close(r["by_layer"]["decoder"]["energy_pj"], 8 * 1 + 10 * gsyn24)
    assert close(r["dynamic_energy_pj"], 3351.8)


def test_max_affine_step_packed_by_hand(toy):
    r = estimate(counts16(), toy())
    # per step (L = 3), layer0 on one core: neurons 29/3 x 10 ns = 96.67 ns, synaptic 25/3 x 1 ns, send 16/3 x 2 ns
    assert r["mapping"]["cores"] == 3
    assert close(r["step_time_s"] * 1e9, 100 + 290 / 3)
    assert r["step"]["bound"] == "neuron"
    assert r["step"]["busiest_core"]["layer"] == "layer0"
    assert r["step"]["stages_s"]["link"] == 0          # three cores on one tile: no mesh link used
    assert close(r["throughput_tokens_per_s"], 1 / r["step_time_s"])
    assert close(r["static_energy_pj"], 1000 * 3 * r["step_time_s"] * 1e9)   # one whole chip, 3 steps


def test_spread_hands_cores_to_the_bottleneck_by_hand(toy):
    chip = toy()
    m = map_network(counts16(), chip, "spread")
    # water filling: layer0 (96.67 ns of neuron work) takes cores up to its 8 compartments (2 modes + 2 channels +
    # 4 mixing targets); decoder and encoder take a second core each (2 compartments); the rest stays unused
    assert [lm.cores for lm in m.layers] == [2, 8, 2] and m.cores == 12
    r = estimate(counts16(), chip, "spread")
    # 12 cores = 3 tiles on a 2 x 2 mesh: mean hops 2(4 - 1)/(3 x 2) = 1, route 1 + 1 x 2 = 3 pJ
    assert close(r["mapping"]["route_pj"], 3.0)
    assert close(r["step_time_s"] * 1e9, 100 + 290 / 3 / 8)
    # link: 27 messages / 3 steps, half cross the bisection, 2 links each way x 2 directions, 3 ns each
    assert close(r["step"]["stages_s"]["link"] * 1e9, 9 * 0.5 / 4 * 3)
    assert r["step_time_s"] < estimate(counts16(), chip, "packed")["step_time_s"]


def test_a_user_core_count(toy):
    chip = toy()
    assert map_network(counts16(), chip, 5).cores == 5
    with pytest.raises(ValueError, match="needs at least 3 cores"):
        map_network(counts16(), chip, 2)
    with pytest.raises(ValueError, match="'packed', 'spread' or a positive"):
        map_network(counts16(), chip, "tight")


def test_static_power_of_the_allocated_cores(toy):
    r = estimate(counts16(), toy("core"), 5)
    assert "5 allocated cores" in r["static_powered"]
    assert close(r["static_energy_pj"], 10 * 5 * 3 * r["step_time_s"] * 1e9)


def test_ranges_are_the_low_and_high_corners(toy):
    r = estimate(counts16(), toy())
    rng = r["range"]
    assert close(rng["dynamic_energy_pj"]["low"], 3351.8 - 29 * 50)        # neuron_update 100 -> 50 pJ
    assert close(rng["dynamic_energy_pj"]["high"], 3351.8 + 29 * 100)      # -> 200 pJ
    assert close(rng["latency_per_token_s"]["low"] * 1e9, 50 + 290 / 3)    # barrier 100 -> 50 ns
    assert close(rng["latency_per_token_s"]["high"] * 1e9, 200 + 290 / 3)
    assert rng["energy_pj"]["low"] < r["energy_pj"] < rng["energy_pj"]["high"]


def test_host_floor_is_one_more_piece_of_the_max(toy, tmp_path):
    """host_step: a per-step floor the cores' work hides only when it is longer (max, not sum)."""
    host = ('host_step = { value = 500.0, low = 150.0, high = 600.0, unit = "ns", kind = "assumed", '
            'secondary = false, source = "test toy chip" }\n')
    p = tmp_path / "toy-host.toml"
    p.write_text(TOY.format(scope="chip").replace("[timing]\n", "[timing]\n" + host), encoding="utf-8")
    r = estimate(counts16(), load_chip(p))
    cores = 100 + 290 / 3                                 # 196.67 ns: the packed step of the toy chip
    assert close(r["step"]["cores_s"] * 1e9, cores)
    assert close(r["step_time_s"] * 1e9, 500) and r["step"]["bound"] == "host"
    assert close(r["static_energy_pj"], 1000 * 3 * 500e-9 * 1e9)
    # low corner: floor 150 ns < the cores' 50 + 96.67 ns? no: 146.67 ns, so the floor still binds
    assert close(r["range"]["latency_per_token_s"]["low"] * 1e9, 150)
    assert close(r["range"]["latency_per_token_s"]["high"] * 1e9, 600)
    no_host = estimate(counts16(), toy())
    assert no_host["step"]["host_s"] == 0 and close(no_host["step_time_s"] * 1e9, cores)
    assert no_host["dynamic_energy_pj"] == r["dynamic_energy_pj"]   # the floor costs time (static), not events


def s5_counts():
    """tiny_counts with layer0 as an S5 layer: 2 shared complex modes, graded messages; its 2 graded_macs
    already hold the readout (the engines count C's non-zeros there)."""
    c = counts16()
    layer = c["layers"][1]
    layer["needs"] = {"state": "complex", "modes": "shared", "message": "graded", "message_bits": 16}
    return c


def test_shared_modes_readout_is_not_charged_twice_by_hand(toy):
    r = estimate(s5_counts(), toy())
    gsyn16 = 10 + 3.2 * 16 * 8 / 1024
    # as test_native_complex_modes..., but the 5 mode updates carry no readout synop: 13 - 5 = 8 graded events
    layer0 = 29 * 100 + 8 * gsyn16 + 12 * 10 + 16 * 1
    assert close(r["by_layer"]["layer0"]["energy_pj"], layer0)
    per_channel = estimate(counts16(), toy())
    assert close(per_channel["by_layer"]["layer0"]["energy_pj"] - r["by_layer"]["layer0"]["energy_pj"], 5 * gsyn16)


def test_shared_modes_reserve_b_and_c_as_matrices(toy):
    m = map_network(s5_counts(), toy())
    # 8 mixing synapses + 2 modes x (B column + C row: 2 x H = 4 entries) = 16 (per-channel modes: 8 + 2 x 2)
    assert m.layers[1].synapse_entries == 8 + 2 * 2 * 2
    assert map_network(counts16(), toy()).layers[1].synapse_entries == 8 + 2 * 2
