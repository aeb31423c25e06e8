"""Brian2 cross-validation (issue 7): the Brian2 build agrees with the FFT reference, and the validator catches faults.

Networks are small (H=6, N=4, L=30, 3 samples) and share shapes, so Brian2's compiled Cython is reused from
its disk cache after the first run (the first-ever run compiles for about a minute).
"""
import dataclasses
import json
from dataclasses import dataclass

import numpy as np
import pytest

pytest.importorskip("brian2")
# Brian2 2.9 calls pyparsing APIs that pyparsing 3.2 marks deprecated: noise, not our concern.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

from models.errors import InputError  # noqa: E402
from models.init import s4d_state_dict  # noqa: E402
from models.paper_layout import network_from_state_dict  # noqa: E402
from models.parts import GELU, Heaviside, Part, Ternary  # noqa: E402
from models.reference import forward  # noqa: E402
from simulator.brian2_backend import run_brian2  # noqa: E402
from simulator.recording import RunResult, SpikeEvents  # noqa: E402
from simulator.validate import TOLERANCE, compare, reference_run, validate_main  # noqa: E402

H, N, L, SAMPLES, D_IN = 6, 4, 30, 3, 2


def make_net(kind="binary_s4d", directions=1, norm="batch", prenorm=False, n_ssm=None, disc="bilinear",
             decoder="pool", encoder="linear", seed=0, n_layers=2):
    sd = s4d_state_dict(kind=kind, H=H, N=N, n_layers=n_layers, n_ssm=n_ssm, directions=directions, norm=norm,
                        prenorm=prenorm, d_input=D_IN if encoder == "linear" else 11, encoder=encoder,
                        perturb=0.3, seed=seed, dtype=np.float64)
    return network_from_state_dict(sd, source="test", kind=kind, disc=disc, decoder=decoder)


def inputs(net, seed=1):
    rng = np.random.default_rng(seed)
    if net.encoder.kind == "embedding":
        return rng.integers(0, net.d_input, size=(SAMPLES, L))
    return rng.normal(size=(SAMPLES, L, D_IN))


CASES = {
    "binary-uni-batch-post": dict(kind="binary_s4d"),
    "binary-bi-layer-pre-zoh": dict(kind="binary_s4d", directions=2, norm="layer", prenorm=True, disc="zoh"),
    "binary-uni-embedding-last": dict(kind="binary_s4d", encoder="embedding", decoder="last", seed=3),
    "gsu-uni-batch-pre-nssm2": dict(kind="gsu", prenorm=True, n_ssm=2),
    "gsu-bi-layer-post": dict(kind="gsu", directions=2, norm="layer", seed=2),
    "s4d-bi-batch-post-last": dict(kind="s4d", directions=2, decoder="last"),
    "s4d-uni-layer-pre": dict(kind="s4d", norm="layer", prenorm=True, seed=4),
}


@pytest.mark.parametrize("case", list(CASES))
def test_brian2_matches_reference(case):
    net = make_net(**CASES[case])
    x = inputs(net)
    ref = forward(net, x)
    run = run_brian2(net, x)
    assert run.logits.shape == ref.logits.shape and run.timesteps == L and run.channels == H
    for layer, rec in enumerate(ref.layers):
        np.testing.assert_allclose(run.pre[layer], rec.pre, rtol=0, atol=1e-12)
        if net.kind == "s4d":
            assert len(run.spikes[layer]) == 0
        else:
            # Exact spike trains; and the test is not vacuous: every layer fires, and not everywhere.
            np.testing.assert_array_equal(run.spikes[layer].to_dense(SAMPLES, L, H), rec.spikes)
            assert 0.05 < np.mean(rec.spikes != 0) < 0.95
            if net.kind == "gsu":
                assert (rec.spikes < 0).any() and (rec.spikes > 0).any()
    np.testing.assert_allclose(run.logits, ref.logits, rtol=TOLERANCE, atol=TOLERANCE)
    report = compare(net, x, reference_run(net, x), run)
    assert report.passed, report.format()
    assert report.predictions_agree == SAMPLES


@pytest.mark.parametrize("case", ["binary-bi-layer-pre-zoh", "gsu-uni-batch-pre-nssm2", "s4d-bi-batch-post-last"])
def test_engines_match_brian2(case):
    """Our Numba engines (time-stepped and event-driven) against Brian2, through validate_main."""
    engine = pytest.importorskip("simulator.engine")
    net = make_net(**CASES[case])
    x = inputs(net)
    for name in ("dense", "event"):
        report = validate_main(net, x, None, lambda n, xx: engine.run(n, xx, engine=name, record_pre=True), None,
                               engine_name=name)
        assert report.passed, report.format()


def test_events_are_sorted_and_signed():
    net = make_net(kind="gsu", directions=2, norm="layer", seed=2)
    ev = run_brian2(net, inputs(net), record_pre=False)
    for e in ev.spikes:
        keys = (e.sample.astype(np.int64) * L + e.t) * H + e.neuron
        assert np.all(np.diff(keys) > 0)
        assert set(np.unique(e.value)) == {-1, 1}
    assert ev.pre is None


def perturbed(net, layer, scale=0.2):
    """The same network with block `layer`'s forward C changed: its spikes (and later ones) move."""
    block = net.blocks[layer]
    C = block.ssm.C.copy()
    C[0] *= 1 + scale
    blocks = list(net.blocks)
    blocks[layer] = dataclasses.replace(block, ssm=dataclasses.replace(block.ssm, C=C))
    return dataclasses.replace(net, blocks=tuple(blocks))


def first_mismatch(a, b):
    return tuple(int(i) for i in np.argwhere(a != b)[0])


def test_validator_reports_first_divergence():
    net = make_net(kind="binary_s4d", seed=5)
    bad = perturbed(net, layer=1)
    x = inputs(net)
    ref, ref_bad = forward(net, x), forward(bad, x)
    report = compare(net, x, reference_run(net, x), run_brian2(bad, x), names=("reference", "brian2"))
    assert not report.passed
    l0, l1 = report.layers
    assert l0.spikes_identical and l0.max_pre_diff < 1e-12
    assert not l1.spikes_identical and l1.max_pre_diff > 1e-3 and not l1.pre_within
    assert report.first_diverging_layer() == 1
    # np.argwhere is row-major over (sample, t, neuron): the same order as the report's.
    assert l1.first_divergence == first_mismatch(ref.layers[1].spikes, ref_bad.layers[1].spikes)
    s, t, n = l1.first_divergence
    assert l1.spike_at_divergence == (ref.layers[1].spikes[s, t, n], ref_bad.layers[1].spikes[s, t, n])
    assert l1.pre_at_divergence[0] == ref.layers[1].pre[s, t, n]
    assert l1.mismatched == int(np.sum(ref.layers[1].spikes != ref_bad.layers[1].spikes))
    text = report.format()
    assert "DIFFER" in text and f"sample {s}, t {t}, neuron {n}" in text and "FAILED" in text
    d = json.loads(json.dumps(report.to_dict()))
    assert d["passed"] is False and d["first_diverging_layer"] == 1
    assert d["layers"][1]["first_divergence"] == [s, t, n]


def _result(spikes, logits, pre=None):
    return RunResult(logits=np.asarray(logits, float), spikes=[SpikeEvents.from_dense(s) for s in spikes],
                     counts={}, timesteps=spikes[0].shape[1], channels=spikes[0].shape[2], pre=pre)


def test_compare_without_brian2():
    """compare() alone: ternary value flips, missing and extra events, logit tolerance, absent pre values."""
    net = make_net(kind="gsu")
    a = np.zeros((2, 4, H), np.int8)
    a[0, 1, 2], a[1, 0, 5], a[1, 3, 0] = 1, -1, 1
    b = a.copy()
    b[1, 3, 0] = -1          # value flip at (1, 3, 0)
    b[1, 2, 4] = 1           # extra event at (1, 2, 4): earlier in time, so the first divergence
    logits = np.ones((2, 10))
    r = compare(net, None, _result([a, a], logits), _result([a, b], logits + 1e-12))
    assert r.layers[0].spikes_identical and r.layers[0].max_pre_diff is None
    assert r.layers[1].mismatched == 2 and r.layers[1].first_divergence == (1, 2, 4)
    assert r.layers[1].spike_at_divergence == (0, 1) and r.logits_within and not r.passed
    ok = compare(net, None, _result([a, a], logits), _result([a, a], logits * (1 + 1e-10)))
    assert ok.passed and "PASSED" in ok.format()
    far = compare(net, None, _result([a, a], logits), _result([a, a], logits + 1e-6))
    assert not far.passed and "OUT OF TOLERANCE" in far.format()


def test_validate_main_writes_report(tmp_path):
    net = make_net(kind="binary_s4d", directions=2, norm="layer", prenorm=True)
    x = inputs(net)
    labels = np.arange(SAMPLES) % net.classes
    report = validate_main(net, x, labels, reference_run, str(tmp_path), engine_name="reference")
    assert report.passed
    saved = json.loads((tmp_path / "validation.json").read_text())
    assert saved["passed"] is True and len(saved["layers"]) == 2
    assert {"reference_wall_s", "brian2_wall_s", "reference_accuracy", "brian2_accuracy"} <= set(saved["extra"])
    assert "PASSED" in (tmp_path / "validation.txt").read_text()


def test_numpy_target_fallback():
    """Brian2's numpy target (no C compiler) builds the same model and gives the same spikes."""
    net = make_net(kind="gsu", directions=2, norm="layer", seed=2)
    x = inputs(net)
    a, b = run_brian2(net, x, target="numpy"), run_brian2(net, x, target="cython")
    for ea, eb in zip(a.spikes, b.spikes):
        np.testing.assert_array_equal(ea.to_dense(SAMPLES, L, H), eb.to_dense(SAMPLES, L, H))
    np.testing.assert_allclose(a.logits, b.logits, rtol=0, atol=1e-13)


# ---- blocks as parts: each part kind has its own Brian2 builder ----------------------------------------

def mixed_network():
    """As tests/test_parts_seam.py builds it: Binary S4D, then S4D (GELU), then GSU without residual."""
    nets = {k: make_net(kind=k, n_layers=3, seed=i) for i, k in enumerate(("binary_s4d", "s4d", "gsu"))}
    base = nets["binary_s4d"]
    blocks = (base.blocks[0], nets["s4d"].blocks[1], dataclasses.replace(nets["gsu"].blocks[2], residual=False))
    return dataclasses.replace(base, blocks=blocks)


def test_blocks_that_differ_in_kind_validate_against_brian2():
    engine = pytest.importorskip("simulator.engine")
    net = mixed_network()
    assert [type(b.activation) for b in net.blocks] == [Heaviside, GELU, Ternary]
    x = inputs(net)
    theirs = run_brian2(net, x)
    report = compare(net, x, engine.run(net, x, engine="event", record_pre=True), theirs, names=("event", "brian2"))
    assert report.passed, report.format()
    np.testing.assert_allclose(theirs.logits, forward(net, x).logits, rtol=TOLERANCE, atol=TOLERANCE)
    # Not vacuous: the spiking layers fire (the ternary one both ways), the graded one sends no spikes.
    binary, ternary = (theirs.spikes[i].to_dense(SAMPLES, L, H) for i in (0, 2))
    assert 0.05 < np.mean(binary) < 0.95 and len(theirs.spikes[1]) == 0
    assert (ternary < 0).any() and (ternary > 0).any()


def test_activation_and_mixing_combine_by_message():
    """A mixing reads what the activation sends: GLU on ternary spikes (+1 and -1 synapses), GSU on binary
    spikes (the +1 source only). Neither combination is a paper network."""
    engine = pytest.importorskip("simulator.engine")
    binary, gsu = make_net(kind="binary_s4d", seed=6), make_net(kind="gsu", seed=7)
    blocks = (dataclasses.replace(binary.blocks[0], activation=gsu.blocks[0].activation),
              dataclasses.replace(gsu.blocks[1], activation=binary.blocks[1].activation))
    net = dataclasses.replace(binary, blocks=blocks)
    assert [type(b.activation) for b in net.blocks] == [Ternary, Heaviside]
    x = inputs(net)
    theirs = run_brian2(net, x)
    for ours, name in ((reference_run(net, x), "reference"), (engine.run(net, x, record_pre=True), "event")):
        report = compare(net, x, ours, theirs, names=(name, "brian2"))
        assert report.passed, report.format()
    assert (theirs.spikes[0].value < 0).any() and len(theirs.spikes[1]) > 0


@dataclass(frozen=True, eq=False)
class Relu(Part):
    """An activation part kind with no Brian2 builder (deliberately not registered as a kind)."""

    role = "activation"
    kind = "relu"
    MESSAGE = "graded"

    def forward(self, y):
        return np.maximum(y, 0.0), None


def test_a_part_without_a_brian2_builder_is_refused():
    net = make_net(kind="s4d")
    blocks = (net.blocks[0], dataclasses.replace(net.blocks[1], activation=Relu()))
    with pytest.raises(InputError, match="activation kind 'relu' has no Brian2 implementation"):
        run_brian2(dataclasses.replace(net, blocks=blocks), inputs(net))
    # A known kind in a combination its builder cannot take: the GSU sums spikes, GELU sends none.
    gsu = make_net(kind="gsu")
    graded = dataclasses.replace(gsu.blocks[0], activation=net.blocks[0].activation)
    with pytest.raises(InputError, match="'gsu' has no Brian2 implementation for graded input"):
        run_brian2(dataclasses.replace(gsu, blocks=(graded, gsu.blocks[1])), inputs(gsu))
