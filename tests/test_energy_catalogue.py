"""Chip catalogue: every number has value, unit, source and kind; user files load; errors name the key."""

import tomllib

import pytest

from energy.catalogue import CHIP_DIR, DEFAULT_CHIPS, KINDS, ChipFileError, list_chips, load_chip

SECTIONS = ("energy", "power", "timing", "capacity", "capabilities", "memory")


def test_catalogue_has_the_nine_chips():
    assert set(list_chips()) == {"loihi", "loihi2", "truenorth", "spinnaker", "spinnaker2",
                                 "cmos45-fp32", "cmos45-int8", "cpu", "gpu"}
    assert sorted(DEFAULT_CHIPS) == list_chips()


@pytest.mark.parametrize("path", sorted(CHIP_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_every_number_is_sourced(path):
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    assert raw["chip"]["name"] == path.stem
    n = 0
    for section in SECTIONS:
        for key, q in raw.get(section, {}).items():
            where = f"{path.name} [{section}] {key}"
            assert isinstance(q, dict), where
            assert {"value", "unit", "source", "kind", "secondary"} <= set(q), where
            assert q["kind"] in KINDS, where
            assert isinstance(q["secondary"], bool), where
            assert len(q["source"]) > 10, where
            assert isinstance(q["value"], (int, float, bool)), where
            n += 1
    assert n >= 7
    chip = load_chip(path.stem)
    assert sum(1 for _ in chip.quantities()) == n


def test_loihi2_energies_are_loihis_times_one_calibrated_factor():
    """Every Loihi 2 energy is Loihi's x kE and every time Loihi's x kT (one factor each, as the file says); the
    calibration run's step beyond the cores' work is a host floor, derived from that run only."""
    l1, l2 = load_chip("loihi"), load_chip("loihi2")
    for section, keys in (("energy", ("synop", "neuron_update", "spike_within_tile", "tile_hop")),
                          ("timing", ("barrier_sync", "neuron_update_time", "synop_time", "spike_out_time",
                                      "hop_time"))):
        factors = {k: l2.q(section, k).canonical / l1.q(section, k).canonical for k in keys}
        assert max(factors.values()) == pytest.approx(min(factors.values()), rel=1e-3), factors
        for k in keys:   # ranges scale alike
            assert l2.q(section, k).canonical_low == pytest.approx(l1.q(section, k).canonical_low * factors[k], rel=1e-3)
            assert ("calibrated on ONE measured" if section == "energy" else "unscaled") in l2.q(section, k).source
    assert l2.q("timing", "barrier_sync").canonical == l1.q("timing", "barrier_sync").canonical   # kT = 1
    host = l2.q("timing", "host_step")
    assert host.canonical == pytest.approx(31.033e-6) and "ONE calibration run" in host.source
    assert host.canonical_low < host.canonical < host.canonical_high
    assert l2.energy_pj("host_op") and l2.q("energy", "host_op").kind == "assumed"
    assert l2.flag("graded_spikes") and l2.flag("programmable_neurons") and l2.flag("complex_state")
    assert l2.count("message_bits") == 24
    assert l2.q("power", "static_per_chip").canonical_low == 109.0 and l2.q("power", "static_per_chip").canonical_high == 142.0


def test_every_shipped_price_has_a_range():
    for name in list_chips():
        chip = load_chip(name)
        for section, key, q in chip.quantities():
            if section in ("energy", "power", "timing") or (section == "memory" and key != "word_bits"):
                assert q.ranged, (name, section, key)
                assert q.canonical_low <= q.canonical <= q.canonical_high, (name, key)


def test_ranges_are_checked_on_load(tmp_path):
    text = (CHIP_DIR / "loihi.toml").read_text(encoding="utf-8")
    for bad, message in (("value = 35.5, low = 23.6, high = 39.8", "value = 35.5, low = 40.0, high = 39.8"),
                         ("value = 35.5, low = 23.6, high = 39.8", "value = 35.5, low = 23.6")):
        p = tmp_path / "bad.toml"
        p.write_text(text.replace(bad, message), encoding="utf-8")
        with pytest.raises(ChipFileError, match="low"):
            load_chip(p)


def test_neuromorphic_chips_have_capacities_and_capabilities():
    for name in ("loihi", "loihi2", "truenorth", "spinnaker", "spinnaker2"):
        chip = load_chip(name)
        for key in ("cores_per_chip", "neurons_per_core", "synaptic_memory_per_core",
                    "weight_bits", "state_bits", "message_bits"):
            assert chip.count(key) > 0, (name, key)
        assert chip.step_model in ("loihi", "fixed")
    assert not load_chip("truenorth").flag("graded_spikes")
    assert load_chip("truenorth").count("fan_in_per_core") == 256


def test_user_chip_file_by_path(tmp_path):
    text = (CHIP_DIR / "loihi.toml").read_text(encoding="utf-8")
    text = text.replace('name = "loihi"', 'name = "my-loihi"').replace("value = 35.5, low = 23.6", "value = 10.0, low = 0.0")
    p = tmp_path / "my-loihi.toml"
    p.write_text(text, encoding="utf-8")
    chip = load_chip(str(p))
    assert chip.name == "my-loihi" and chip.energy_pj("synop") == 10.0
    assert load_chip(p).path == str(p)


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace('unit = "pJ", kind = "derived"', 'unit = "pW", kind = "derived"', 1), "unit 'pW'"),
    (lambda t: t.replace('kind = "derived"', 'kind = "guessed"', 1), "kind must be one of"),
    (lambda t: t.replace('neuron_update = { value = 72.8', 'neuron_updatex = { value = 72.8'), "needs \\[energy\\] neuron_update"),
    (lambda t: t.replace('step_model = "loihi"', 'step_model = "magic"'), "step_model"),
    (lambda t: t.replace("value = 35.5, low = 23.6", "value = -1, low = -2"), "non-negative"),
    (lambda t: t + "\n[weird]\nx = 1\n", "unknown section"),
])
def test_broken_chip_files_say_what_is_wrong(tmp_path, edit, message):
    p = tmp_path / "bad.toml"
    p.write_text(edit((CHIP_DIR / "loihi.toml").read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(ChipFileError, match=message) as exc:
        load_chip(p)
    assert str(p) in str(exc.value)


def test_unknown_chip_name_lists_the_catalogue():
    with pytest.raises(ChipFileError, match="loihi2"):
        load_chip("loihi3")
    with pytest.raises(ChipFileError, match="does not exist"):
        load_chip("/nonexistent/chip.toml")
