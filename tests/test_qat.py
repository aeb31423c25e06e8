"""Quantisation-aware fine-tuning (scenarios/qat.py): its rounding is the engine's, gradients pass straight
through, and its forward on a small random network is the engine's fixed-point run."""
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from models.precision import Precision  # noqa: E402
from scenarios import qat  # noqa: E402
from simulator.calibrate import calibrate  # noqa: E402
from simulator.cli.precision import lookup_precision  # noqa: E402
from simulator.engine import run  # noqa: E402
from simulator.compiled_fixed import block_scales  # noqa: E402
from simulator.fixed_point import FLOOR, TRUNCATE, frac_for, make_table, lut, quantise, rshift  # noqa: E402
from simulator.parts.fixed_activation import lif_fixed  # noqa: E402

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from test_torch_new_parts import _cfg, _randomised  # noqa: E402

LOIHI2 = lookup_precision("loihi2")
VALUES = [-2.5, -1.3, -0.26, -0.0625, 0.0, 0.26, 1.3, 1.75, 300.0, -300.0]


def test_round_to_floors_truncates_and_saturates_by_hand():
    x = torch.tensor(VALUES, dtype=torch.float64)
    # at 2 fractional bits (steps of 1/4), 4 signed bits: integers -8..7, values -2..1.75
    floor = [-2.0, -1.5, -0.5, -0.25, 0.0, 0.25, 1.25, 1.75, 1.75, -2.0]
    trunc = [-2.0, -1.25, -0.25, 0.0, 0.0, 0.25, 1.25, 1.75, 1.75, -2.0]
    assert qat.round_to(x, 2, "floor", 4).tolist() == floor
    assert qat.round_to(x, 2, "truncate", 4).tolist() == trunc
    assert qat.round_to(x, 2, "floor").tolist()[-2:] == [300.0, -300.0]     # no width: no saturation


@pytest.mark.parametrize("rounding", ["floor", "truncate"])
@pytest.mark.parametrize("frac,bits", [(2, 4), (5, 8), (-3, 6), (12, None)])
def test_round_to_is_the_engines_quantise(rounding, frac, bits):
    x = np.concatenate([VALUES, np.random.default_rng(0).normal(0, 3, 200)])
    want = np.ldexp(quantise(x, frac, rounding, bits).astype(np.float64), -frac)
    assert qat.round_to(torch.from_numpy(x), frac, rounding, bits).numpy().tolist() == want.tolist()


@pytest.mark.parametrize("mode,name", [(FLOOR, "floor"), (TRUNCATE, "truncate")])
def test_rshift_is_the_engines(mode, name):
    xs = [-1025, -1024, -7, -5, -1, 0, 1, 5, 7, 1023]
    for k in (-2, 0, 1, 3, 10):
        got = qat.rshift(torch.tensor(xs, dtype=torch.float64), k, name).tolist()
        assert got == [rshift(np.int64(v), k, mode) for v in xs]
    assert qat.rshift(torch.tensor([-5.0]), 1, "floor").item() == -3          # floor, not toward zero
    assert qat.rshift(torch.tensor([-5.0]), 1, "truncate").item() == -2


def test_weights_get_one_shared_exponent_truncated():
    w = torch.tensor([0.9, -0.5, 0.013, -0.013], dtype=torch.float64)
    # max 0.9: f = 8 - 2 - floor(log2 0.9) = 7; steps of 1/128, toward zero
    assert (qat.fq_weight(w, 8, LOIHI2) * 128).tolist() == [115.0, -64.0, 1.0, -1.0]


def test_straight_through_gradient():
    x = torch.tensor(VALUES, dtype=torch.float64, requires_grad=True)
    y = qat.fq(x, 2, "floor", 4)
    (y * torch.arange(len(VALUES))).sum().backward()
    assert x.grad.tolist() == list(range(len(VALUES)))         # identity, also where it saturated
    assert y.tolist() != x.tolist()                              # while the forward did round


@pytest.mark.parametrize("rounding", ["floor", "truncate"])
def test_sigmoid_table_is_the_engines(rounding):
    from models.parts.mixing import sigmoid
    p = Precision(name="t", weight_bits=8, state_bits=24, message_bits=24, rounding=rounding, lut_bits=6)
    f_z = 9
    zi = np.arange(-20 * 2 ** f_z, 20 * 2 ** f_z, 37, dtype=np.int64)
    t = make_table(sigmoid, qat.SIGMOID_DOMAIN, p.lut_bits, f_z, p.coef_bits, rounding, False)
    want = [lut(v, t.values, t.k, t.offset, t.f_in, t.f_out, False, FLOOR if rounding == "floor" else TRUNCATE)
            for v in zi]
    got = qat.sigmoid_table(torch.from_numpy(np.ldexp(zi.astype(np.float64), -f_z)), f_z, p)
    assert (got.detach().numpy() * 2 ** p.coef_bits).tolist() == [float(v) for v in want]


@pytest.mark.parametrize("hard", [False, True])
def test_integer_lif_is_the_engines(hard):
    rng = np.random.default_rng(3)
    yi = rng.integers(-3000, 5000, size=(3, 40, 5)).astype(np.int64)
    f_y, f_beta, f_v, bq, vq = 10, 12, 11, 3686, 2100        # beta 0.9 at 12 bits, threshold ~1.03
    q = dict(f_y=f_y, f_beta=f_beta, f_v=f_v, k_y=f_y - (f_beta + f_v), bits=16, rnd="floor", bq=float(bq),
             vq=float(vq), hard=hard, alpha=2.0)
    got = qat.QLIF.apply(torch.from_numpy(np.ldexp(yi.astype(np.float64), -f_y)), q)
    want = np.empty(yi.shape, np.int8)
    lif_fixed(yi, bq, f_beta, q["k_y"], vq, hard, FLOOR, -2 ** 15, 2 ** 15 - 1, True, np.zeros((3, 5), np.int64),
              want, np.zeros(3, np.int64), np.zeros(3, np.int64))
    assert 0.05 < want.mean() < 0.95
    assert np.array_equal(got.numpy().astype(np.int8), want)


# Engine vs the fake-quantised forward, eval mode, small random networks, loihi2. LIF: logits equal to 1e-9
# (every rounding is reproduced; the SSM state's per-step rounding, not reproduced, did not change a y here).
# Sigma-delta: the graded y is read from the unrounded state, so logits differ by up to ~2e-5 (measured), far
# below the 1e-2..1e-1 by which fixed point differs from float; predictions equal.
NETS = [("lif_s4d", {}, 1e-9), ("lif_s4d", dict(lif_reset="hard", lif_beta=0.7, lif_threshold=0.4, disc="zoh"), 1e-9),
        ("sigma_delta_s4d", {}, 1e-3), ("sigma_delta_s4d", dict(norm="batch", residual=True), 1e-3)]


@pytest.mark.parametrize("arch,kw,tol", NETS, ids=[f"{a}-{i}" for i, (a, _, _) in enumerate(NETS)])
def test_fake_quantised_forward_is_the_engines_fixed_point_run(arch, kw, tol):
    m = _randomised(_cfg(arch, **kw))
    rng = np.random.default_rng(1)
    xc, xt = rng.random((8, 60, 1)), rng.random((16, 60, 1))
    net = qat.to_network(m)
    fp = calibrate(net, xc, LOIHI2, check=False)
    res = run(net, xt, engine="dense", dtype=fp)
    mine = qat.calibrate_scales(m, xc, LOIHI2)                  # its own ranges, the engine's rule: same bits
    assert (mine.f_x, mine.f_u) == (frac_for(fp.range("x"), 24), frac_for(fp.range("h0"), 24))
    for li, b in enumerate(mine.blocks):
        e = block_scales(fp, net, li)
        assert (b.f_in, b.f_y, b.f_out, b.f_next) == (e.f_in, e.f_y, e.f_out, e.f_next)
        for name in ("activation.v", "mixing.z"):
            assert b.frac(name) == e.frac(name)
    with torch.no_grad():
        got = qat.forward(m, torch.from_numpy(xt), mine).numpy()
        flt = m(torch.from_numpy(xt)).numpy()
    assert np.abs(res.logits - flt).max() > 1e-2                # fixed point is visibly not float here
    assert np.abs(res.logits - got).max() <= tol
    assert np.array_equal(res.logits.argmax(1), got.argmax(1))


def test_qat_gradients_reach_the_weights():
    m = _randomised(_cfg("lif_s4d")).train()
    qat.freeze_norms(m)
    x = torch.from_numpy(np.random.default_rng(1).random((4, 30, 1)))
    sc = qat.calibrate_scales(m, x.numpy(), LOIHI2)
    qat.forward(m, x, sc).sum().backward()
    for name in ("encoder.0.weight", "model.layers.0.layer.output_linear.0.weight",
                 "model.layers.0.layer.kernel.kernel.C", "model.layers.1.layer.kernel.kernel.log_dt"):
        g = dict(m.named_parameters())[name].grad
        assert g is not None and g.abs().sum() > 0, name


@pytest.mark.parametrize("name", ["loihi2", "spinnaker", "spinnaker2", "w8s24", "truenorth"])
def test_training_reads_the_format_the_simulator_reads(name):
    from models.precision import fixed_format
    assert fixed_format(name) == lookup_precision(name)


@pytest.mark.parametrize("bad,msg", [("loihi3", "--qat loihi3: expected"), ("float64", "fixed-point format"),
                                     ("truenorth", "no payload"), ("cpu", "no [precision] section")])
def test_qat_flag_refuses_what_it_cannot_run(bad, msg, capsys):
    from scenarios import train
    with pytest.raises(SystemExit) as e:
        train.main(["digits", "--arch", "lif_s4d", "--qat", bad, "--epochs", "1"])
    assert msg in str(e.value)


def test_qat_flag_refuses_an_arch_without_a_quantised_forward():
    from scenarios import train
    with pytest.raises(SystemExit, match="has no fake-quantised forward"):
        train.main(["digits", "--arch", "gsu", "--qat", "loihi2", "--epochs", "1", "--n-train", "10"])


def test_a_coefficient_quantised_to_zero_gives_powers_not_nan():
    ab = torch.tensor([[0.0, -0.5, 0.9]], dtype=torch.float64)
    v = qat._powers(torch.complex(ab, torch.zeros_like(ab)), torch.arange(4, dtype=torch.float64)).real
    torch.testing.assert_close(v[0], torch.tensor([[1.0, 0, 0, 0], [1, -0.5, 0.25, -0.125], [1, 0.9, 0.81, 0.729]],
                                                  dtype=torch.float64))
