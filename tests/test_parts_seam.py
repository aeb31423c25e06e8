"""Layers as parts: the registry, checkpoint format 2 with a reader for format 1, blocks that differ in
kind, and the paper's networks giving the same results and energy reports as before the seam."""
import dataclasses
import json
import shutil

import h5py
import numpy as np
import pytest
from conftest import ROOT, make_net

from models import checkpoint, reference
from models.errors import CheckpointError
from models.parts import GELU, GLU, Heaviside, Ternary, kinds, part_class
from simulator.engine import run

SHIPPED = ROOT / "scenarios" / "checkpoints"


def test_unknown_kind_names_where_and_the_known_kinds():
    with pytest.raises(CheckpointError) as e:
        part_class("activation", "relu6", "file.h5: /blocks/3/activation")
    assert "file.h5: /blocks/3/activation" in str(e.value) and "relu6" in str(e.value)
    for known in kinds("activation"):
        assert known in str(e.value)


@pytest.mark.parametrize("name", ["smnist_binary_s4d", "smnist_gsu", "smnist_s4d", "psmnist_binary_s4d"])
def test_format_1_files_load_and_resave_as_format_2_unchanged(name, tmp_path):
    with h5py.File(SHIPPED / f"{name}.h5") as f:
        assert f.attrs["format_version"] == 1          # the shipped files are version 1: the v1 reader runs
    net = checkpoint.load(SHIPPED / f"{name}.h5")
    assert net.kind == name.split("_", 1)[1]
    checkpoint.save(net, tmp_path / "v2.h5")
    with h5py.File(tmp_path / "v2.h5") as f:
        assert f.attrs["format_version"] == 2 and "kind" not in f.attrs
        assert {"ssm", "activation", "mixing", "norm"} == set(f["blocks/0"])
    back = checkpoint.load(tmp_path / "v2.h5")
    a, b = net.arrays(), back.arrays()
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert [blk.activation.settings() for blk in back.blocks] == [blk.activation.settings() for blk in net.blocks]


def test_format_1_unknown_layer_kind_is_refused(tmp_path):
    path = tmp_path / "v1.h5"
    shutil.copy(SHIPPED / "smnist_binary_s4d.h5", path)
    with h5py.File(path, "a") as f:
        f.attrs["kind"] = "lstm"
    with pytest.raises(CheckpointError, match="'kind'.*binary_s4d, gsu, s4d.*'lstm'"):
        checkpoint.load(path)


def mixed_network():
    """Three blocks of three different kinds, with a graded block in the middle and no residual on the last."""
    nets = {k: make_net(kind=k, H=8, N=4, n_layers=3, seed=i)[0] for i, k in enumerate(("binary_s4d", "s4d", "gsu"))}
    base = nets["binary_s4d"]
    blocks = (base.blocks[0], nets["s4d"].blocks[1], dataclasses.replace(nets["gsu"].blocks[2], residual=False))
    return dataclasses.replace(base, blocks=blocks)


def test_blocks_may_differ_in_kind(tmp_path):
    net = mixed_network()
    assert [type(b.activation) for b in net.blocks] == [Heaviside, GELU, Ternary]
    assert "heaviside" in net.kind and "gelu" in net.kind          # not one of the presets
    x = np.random.default_rng(0).normal(size=(3, 40, 1))
    ref = reference.forward(net, x)
    event, dense = run(net, x, engine="event", record_pre=True), run(net, x, engine="dense", record_pre=True)
    assert np.array_equal(event.logits, dense.logits)
    np.testing.assert_allclose(event.logits, ref.logits, rtol=1e-9, atol=1e-9)
    for i, layer in enumerate(ref.layers):
        np.testing.assert_allclose(event.pre[i], layer.pre, rtol=1e-9, atol=1e-9)
    assert len(event.spikes[1]) == 0 and len(event.spikes[0]) == int(ref.layers[0].spikes.sum())
    assert len(event.spikes[2]) == int(np.count_nonzero(ref.layers[2].spikes))
    checkpoint.save(net, tmp_path / "mixed.h5")
    back = checkpoint.load(tmp_path / "mixed.h5")
    assert [b.residual for b in back.blocks] == [True, True, False]
    assert np.array_equal(run(back, x).logits, event.logits)


def test_a_block_without_residual_is_not_a_residual_block():
    net = mixed_network()
    x = np.random.default_rng(1).normal(size=(2, 20, 1))
    with_res = dataclasses.replace(net, blocks=net.blocks[:2] + (dataclasses.replace(net.blocks[2], residual=True),))
    assert not np.allclose(reference.forward(net, x).logits, reference.forward(with_res, x).logits)
    counts = run(net, x).counts
    assert counts["layer2"]["residual_adds"].sum() == 0 and counts["layer1"]["residual_adds"].sum() > 0


def test_glu_reads_what_the_activation_sends():
    """The same GLU part runs on binary spikes or graded values: the activation's message decides."""
    net = mixed_network()
    assert isinstance(net.blocks[0].mixing, GLU) and isinstance(net.blocks[1].mixing, GLU)
    counts = run(net, np.random.default_rng(2).normal(size=(2, 20, 1))).counts
    assert counts["layer0"]["spike_acs"].sum() > 0 and counts["layer0"]["graded_macs"].sum() > 0  # SSM input
    assert counts["layer1"]["spike_acs"].sum() == 0 and counts["layer1"]["gelu"].sum() == 2 * 20 * 8


def test_energy_reports_are_those_of_before_the_seam(tmp_path):
    """Energy reads facts now, not kind names: for the paper's networks nothing may move that the seam could
    move. The chip files of that time (tests/data/chips_before/, copies of energy/chips/ as on main at a57c0bc, pricing as at d4c8751)
    price the same counts: every dynamic figure, the cores, the limitations and the dense-ANN baseline stay
    as pinned. Static energy is step time x static power, and the step-time model changed on purpose
    (max-affine, issue 15): it is held to its definition instead of to the old number."""
    from energy.report import build_data
    import scenarios
    from simulator.counting import counts_report
    before = json.loads((ROOT / "tests" / "data" / "energy_before_parts.json").read_text())["reports"]
    chip_dir = ROOT / "tests" / "data" / "chips_before"
    x, _ = scenarios.get("smnist").load("test", n=3)
    for name, chips in before.items():
        net = checkpoint.load(SHIPPED / f"{name}.h5")
        data = build_data(counts_report(net, run(net, x)), [str(chip_dir / f"{c}.toml") for c in chips], title="t")
        for chip, old in chips.items():
            new = data["chips"][chip]
            old_dynamic = old["energy_pj"] - old["by_category_pj"]["static"]
            assert new["dynamic_energy_pj"] == pytest.approx(old_dynamic, rel=1e-12), (name, chip)
            assert new["mapping"]["cores"] == old["cores"], (name, chip)
            assert [lim["feature"] for lim in new["mapping"]["limitations"]] == old["limitations"], (name, chip)
            for cat, value in old["by_category_pj"].items():
                if cat != "static":
                    assert new["by_category_pj"][cat] == pytest.approx(value, rel=1e-12, abs=1e-9), (name, chip, cat)
            if old["ann_energy_pj"] is not None:
                assert new["ann"]["energy_pj"] == pytest.approx(old["ann_energy_pj"], rel=1e-12)
            static = new["static_power_mw"] * new["run_time_s"] * 1e9 if new["run_time_s"] else 0.0
            assert new["by_category_pj"]["static"] == pytest.approx(static, rel=1e-12), (name, chip)
            assert new["energy_pj"] == pytest.approx(new["dynamic_energy_pj"] + static, rel=1e-12), (name, chip)
            if chip in ("truenorth", "spinnaker", "spinnaker2"):    # fixed 1 ms tick: static as before
                assert new["by_category_pj"]["static"] == pytest.approx(old["by_category_pj"]["static"], abs=1e-9)
