"""Brian2 builders of the newer part kinds (s4d_real, s5, lif, relu_sigma_delta, linear) against the numpy
reference and the event engine.

Small networks (H=6, two blocks, 3 samples, L=30 with a silent stretch) are composed by hand as
tests/test_new_parts.py composes them. Each Brian2 run must give the reference's and the event engine's
spikes exactly, in every layer, and pre-activations and logits within 1e-9. Each network also checks that
what its new part does matters (a reset, a threshold, a sign), so a builder that got it wrong would fail.
"""
import dataclasses

import numpy as np
import pytest
from conftest import make_net

pytest.importorskip("brian2")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

from models import reference  # noqa: E402
from models.parts import GELU, LIF, Heaviside, ReLUSigmaDelta, Ternary  # noqa: E402
from models.spec import validate  # noqa: E402
from simulator.brian2_backend import run_brian2  # noqa: E402
from simulator.validate import TOLERANCE, compare, reference_run  # noqa: E402
from test_new_parts import linear, s4d_real, s5  # noqa: E402  (the random parts of the engine tests)

H, L, SAMPLES = 6, 30, 3


def compose(disc="bilinear", seed=0, **replacements):
    """A 2-block binary S4D network (postnorm BatchNorm, GLU) whose blocks get the given parts:
    replacements = {block index: {field: part}}."""
    base, _ = make_net(kind="binary_s4d", H=H, N=4, n_layers=2, seed=seed, disc=disc)
    blocks = list(base.blocks)
    for i, fields in replacements.items():
        blocks[int(i)] = dataclasses.replace(blocks[int(i)], **fields)
    return validate(dataclasses.replace(base, blocks=tuple(blocks)))


def meyer(r, thresholds, disc="bilinear"):
    """Meyer et al.'s Loihi 2 block: real S4D -> ReLU sigma-delta -> linear with ReLU; no norm, no residual."""
    return compose(disc, **{str(i): dict(ssm=s4d_real(r, h=H), activation=ReLUSigmaDelta(th),
                                         mixing=linear(r, relu=True, h=H), norm=None, residual=False)
                            for i, th in enumerate(thresholds)})


def networks(disc="bilinear"):
    r = np.random.default_rng(11)
    return {
        "lif": compose(disc, **{"0": dict(activation=LIF(beta=0.8, v_threshold=0.2, reset="hard")),
                                "1": dict(activation=LIF(beta=1.0, v_threshold=0.3, reset="soft"),
                                          mixing=linear(r, h=H))}),
        "sigma_delta": compose(disc, **{"0": dict(activation=ReLUSigmaDelta(0.0)),
                                        "1": dict(activation=ReLUSigmaDelta(0.05), mixing=linear(r, relu=True, h=H))}),
        "meyer": meyer(r, (0.0, 0.05), disc),
        "meyer_threshold": meyer(r, (0.1, 0.02), disc),
        "s5": compose(disc, **{"0": dict(ssm=s5(r, P=5, h=H, sparsity=0.3)),
                               "1": dict(ssm=s5(r, P=4, h=H), activation=ReLUSigmaDelta(0.0),
                                         mixing=linear(r, relu=True, h=H))}),
        "s5_lif_gelu": compose(disc, **{"0": dict(ssm=s5(r, P=3, h=H), activation=LIF(beta=0.5, v_threshold=0.1),
                                                  mixing=linear(r, h=H)),
                                        "1": dict(ssm=s5(r, P=6, h=H), activation=GELU())}),
        "s4d_real": compose(disc, **{"0": dict(ssm=s4d_real(r, h=H, n_ssm=2), mixing=linear(r, h=H)),
                                     "1": dict(ssm=s4d_real(r, h=H, directions=2))}),
        "linear_ternary": compose(disc, **{"0": dict(activation=Ternary(ratio=0.15), mixing=linear(r, h=H)),
                                           "1": dict(mixing=linear(r, relu=True, h=H))}),
    }


NAMES = list(networks())


def x_for(seed=3):
    x = np.random.default_rng(seed).normal(size=(SAMPLES, L, 1))
    x[:, 10:16] = 0.0          # a silent stretch: states decay, membranes rest, sigma-delta holds
    return x


def check_agrees(net, x, theirs):
    """Brian2 against the reference (arrays, then the report) and against the event engine (the report)."""
    engine = pytest.importorskip("simulator.engine")
    ref = reference.forward(net, x)
    for i, (layer, block) in enumerate(zip(ref.layers, net.blocks)):
        np.testing.assert_allclose(theirs.pre[i], layer.pre, rtol=TOLERANCE, atol=TOLERANCE, err_msg=f"layer {i}")
        if block.spiking:
            np.testing.assert_array_equal(theirs.spikes[i].to_dense(SAMPLES, L, H), layer.spikes,
                                          err_msg=f"layer {i}")
        else:
            assert len(theirs.spikes[i]) == 0
    np.testing.assert_allclose(theirs.logits, ref.logits, rtol=TOLERANCE, atol=TOLERANCE)
    for ours, name in ((reference_run(net, x), "reference"),
                       (engine.run(net, x, engine="event", record_pre=True), "event")):
        report = compare(net, x, ours, theirs, names=(name, "brian2"))
        assert report.passed, report.format()
        assert report.predictions_agree == SAMPLES
    return ref


def swapped(net, layer, **fields):
    """`net` with block `layer`'s activation settings replaced (to show that a setting matters)."""
    blocks = list(net.blocks)
    blocks[layer] = dataclasses.replace(blocks[layer], activation=dataclasses.replace(blocks[layer].activation,
                                                                                        **fields))
    return dataclasses.replace(net, blocks=tuple(blocks))


def test_lif_hard_and_soft_resets():
    net, x = networks()["lif"], x_for()
    ref = check_agrees(net, x, run_brian2(net, x))
    for i in range(2):
        assert 0.05 < np.mean(ref.layers[i].spikes) < 0.95, i
    # The resets matter here: the other reset gives other spikes in each layer.
    for i, other in ((0, "soft"), (1, "hard")):
        assert not np.array_equal(reference.forward(swapped(net, i, reset=other), x).layers[i].spikes,
                                  ref.layers[i].spikes), i


@pytest.mark.parametrize("name", ["sigma_delta", "meyer", "meyer_threshold"])
def test_relu_sigma_delta_into_glu_and_linear(name):
    net, x = networks()[name], x_for()
    ref = check_agrees(net, x, run_brian2(net, x))
    for i, block in enumerate(net.blocks):
        th = block.activation.delta_threshold
        sent, _ = block.activation.forward(ref.layers[i].pre)
        relu = np.maximum(ref.layers[i].pre, 0.0)
        assert np.mean(relu > 0) > 0.2                               # not a silent layer
        if th > 0:   # some changes are withheld, and that changes the logits beyond the tolerance
            assert not np.array_equal(sent, relu), i
            assert np.max(np.abs(reference.forward(swapped(net, i, delta_threshold=0.0), x).logits
                                 - ref.logits)) > 1e-6, i
        else:
            assert np.array_equal(sent, relu), i
    if name.startswith("meyer"):
        assert all(b.norm is None and not b.residual and b.mixing.relu for b in net.blocks)


@pytest.mark.parametrize("name", ["s5", "s5_lif_gelu"])
def test_s5(name):
    net, x = networks()[name], x_for()
    ref = check_agrees(net, x, run_brian2(net, x))
    assert 0.05 < np.mean(ref.layers[0].spikes) < 0.95
    # No factor 2 in the readout: a network whose C is doubled is another network.
    block = net.blocks[0]
    doubled = dataclasses.replace(block, ssm=dataclasses.replace(block.ssm, C=2 * block.ssm.C))
    other = reference.forward(dataclasses.replace(net, blocks=(doubled, *net.blocks[1:])), x)
    assert np.max(np.abs(other.layers[0].pre - ref.layers[0].pre)) > 1e-3


@pytest.mark.parametrize("disc", ["bilinear", "zoh"])
def test_s4d_real_uni_and_bidirectional(disc):
    net, x = networks(disc)["s4d_real"], x_for()
    assert [b.ssm.directions for b in net.blocks] == [1, 2]
    ref = check_agrees(net, x, run_brian2(net, x))
    for i in range(2):
        assert 0.05 < np.mean(ref.layers[i].spikes) < 0.95, i


def test_linear_on_ternary_and_binary_spikes():
    net, x = networks()["linear_ternary"], x_for()
    assert [type(b.activation) for b in net.blocks] == [Ternary, Heaviside]
    theirs = run_brian2(net, x)
    ref = check_agrees(net, x, theirs)
    assert (ref.layers[0].spikes < 0).any() and (ref.layers[0].spikes > 0).any()
    assert set(np.unique(theirs.spikes[0].value)) == {-1, 1}


# ---- thresholds met exactly: strict or not, as the reference ----------------------------------------------------

DYADIC = np.array([-0.5, -0.25, 0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 1.0])


def passthrough(activation, seed=5):
    """One block whose SSM passes its input through exactly (real S4D with C = 0 and D = 1: y = u) behind an
    identity encoder, so y takes dyadic values (exact in float64) that meet the thresholds exactly."""
    r = np.random.default_rng(seed)
    base, _ = make_net(kind="binary_s4d", H=H, N=4, n_layers=1, d_input=H, seed=seed)
    ssm = s4d_real(r, h=H)
    ssm = dataclasses.replace(ssm, C=np.zeros_like(ssm.C), D=np.ones(H))
    block = dataclasses.replace(base.blocks[0], ssm=ssm, activation=activation, mixing=linear(r, relu=True, h=H),
                                norm=None, residual=False)
    encoder = dataclasses.replace(base.encoder, weight=np.eye(H), bias=np.zeros(H))
    return validate(dataclasses.replace(base, encoder=encoder, blocks=(block,)))


@pytest.mark.parametrize("activation, setting, toward", [
    (LIF(beta=0.5, v_threshold=0.5, reset="hard"), "v_threshold", 0.0),        # v > th: one ulp lower fires
    (LIF(beta=0.5, v_threshold=0.5, reset="soft"), "v_threshold", 0.0),
    (ReLUSigmaDelta(0.25), "delta_threshold", np.inf),                      # |d| >= th: one ulp higher holds
], ids=["lif-hard", "lif-soft", "sigma-delta"])
def test_thresholds_met_exactly(activation, setting, toward):
    net = passthrough(activation)
    x = np.random.default_rng(8).choice(DYADIC, size=(SAMPLES, L, H))
    ref = check_agrees(net, x, run_brian2(net, x))
    np.testing.assert_array_equal(ref.layers[0].pre, x)              # y = u exactly
    # Equalities do occur: the threshold moved by one ulp changes what is sent.
    moved = swapped(net, 0, **{setting: np.nextafter(getattr(activation, setting), toward)})
    assert np.max(np.abs(reference.forward(moved, x).logits - ref.logits)) > 1e-6
