"""Fixed-point execution (issue 14): the engines agree bit for bit, the parts match integer references written
here from their documented semantics (not from the kernels), and bad precisions are refused in one line."""
import dataclasses
import json

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, call
from conftest import COMBOS, ROOT, combo_id, make_net
from test_new_parts import networks, x_for

from energy.catalogue import ChipFileError, load_chip
from models.discretize import discretize
from models.errors import InputError
from models.loading import load_network
from models.precision import W8S24, Precision
from simulator.calibrate import calibrate, check_widths
from simulator.compiled import compile_network
from simulator.engine import Stream, run
from simulator.fixed_check import engines_agree
from simulator.fixed_point import FLOOR, FixedPoint
from simulator.parts.fixed_activation import sigma_delta_fixed

SHIPPED = ("smnist_binary_s4d", "smnist_gsu", "smnist_s4d", "smnist_lif_s4d", "smnist_s5", "smnist_sigma_delta_s4d")


# ---- precision from the catalogue ------------------------------------------------------------------------------

def test_loihi2_precision_states_its_sourced_widths():
    chip = load_chip("loihi2")
    p = chip.precision()
    # Meyer et al. 2024 / Lava's fixed-point sigma-delta: 8-bit weights with an exponent, 24-bit state and messages
    assert (p.weight_bits, p.state_bits, p.message_bits, p.weight_exponent) == (8, 24, 24, "shared")
    assert p.coef_bits == 12                       # Intel's S4D port: 12 fractional bits for A, B, C
    assert p.weight_rounding == "truncate"
    for key, q in chip.precision_table.items():
        assert q.source.strip() and q.kind in ("measured", "simulated", "derived", "assumed"), key


@pytest.mark.parametrize("chip", ["loihi", "loihi2", "truenorth", "spinnaker", "spinnaker2"])
def test_every_neuromorphic_chip_file_states_its_arithmetic(chip):
    assert set(load_chip(chip).precision_table) >= {"weight_bits", "state_bits", "message_bits", "rounding",
                                                    "saturate", "lut_bits"}


def test_a_malformed_precision_section_names_file_and_key(tmp_path):
    text = (ROOT / "energy" / "chips" / "loihi2.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('state_bits = { value = 24, unit = "bits", kind = "measured", source = "Lava',
                                'state_bits = { value = 24, unit = "pJ", kind = "measured", source = "Lava'))
    with pytest.raises(ChipFileError, match=r"bad.toml: \[precision\] state_bits: unit must be 'bits'"):
        load_chip(bad)
    bad.write_text(text.replace("lut_bits = {", "lut_width = {"))
    with pytest.raises(ChipFileError, match=r"\[precision\] lut_width: unknown key"):
        load_chip(bad)


def test_precision_values_are_range_checked():
    with pytest.raises(InputError, match="state_bits must be an integer in"):
        Precision(name="x", weight_bits=8, state_bits=1, message_bits=24)
    with pytest.raises(InputError, match="rounding must be one of floor, truncate"):
        Precision(name="x", weight_bits=8, state_bits=24, message_bits=24, rounding="nearest")


@pytest.mark.parametrize("argv, needles", [
    (("run", "--precision", "cpu", "--samples", "2"), ("cpu", "has no [precision] section")),
    (("run", "--precision", "nochip", "--samples", "2"), ("--precision nochip", "unknown chip")),
    (("run", "--precision", "loihi", "--samples", "2"), ("--precision loihi", "1 bit")),
    (("run", "--precision", "w8s24", "--calibration", "0", "--samples", "2"), ("--calibration",)),
    (("run", "--precision", "w8s24", "--dtype", "float32", "--samples", "2"), ("--precision w8s24 and --dtype",)),
    (("validate", "--precision", "float32", "--samples", "2"), ("float32",)),
])
def test_bad_precision_options_get_one_line_and_exit_2(argv, needles):
    assert_one_line_error(call(*argv), *needles)


def test_fixed_point_with_input_needs_training_calibration_data(tmp_path):
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(0).random((2, 784, 1)))
    assert_one_line_error(call("run", ROOT / "scenarios/checkpoints/smnist_binary_s4d.h5", "--input", x,
                               "--precision", "w8s24"), "--calibration-input")
    empty = tmp_path / "empty.npy"
    np.save(empty, np.zeros((0, 784, 1)))
    assert_one_line_error(call("run", ROOT / "scenarios/checkpoints/smnist_binary_s4d.h5", "--input", x,
                               "--precision", "w8s24", "--calibration-input", empty), "calibration split", "empty")


def test_empty_calibration_split_is_refused():
    net, _ = make_net()
    with pytest.raises(InputError, match="calibration split .* is empty"):
        calibrate(net, np.zeros((0, 20, 1)), W8S24)


def test_widths_overflowed_at_every_step_are_refused():
    net, _ = make_net()
    x = x_for(B=2, L=30)
    fp = calibrate(net, x, W8S24)
    tiny = FixedPoint(W8S24, tuple((k, v * 1e-6) for k, v in fp.ranges))   # scales far too fine: all overflow
    with pytest.raises(InputError, match="saturates at every step"):
        check_widths(net, tiny, x)
    res = run(net, x, dtype=tiny)
    assert sum(int(v["saturations"].sum()) for v in res.counts.values()) > 0
    assert engines_agree(net, x, tiny) == []    # saturation too is the same in both engines


# ---- event == dense, bit for bit ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(networks()))
def test_new_parts_event_equals_dense_in_fixed_point(name):
    net = networks()[name]
    x = x_for(B=3, L=40)
    for prec in (W8S24, dataclasses.replace(W8S24, rounding="floor", saturate=False)):
        fp = calibrate(net, x_for(seed=9, B=4, L=40), prec)
        assert engines_agree(net, x, fp) == [], (name, prec)


@pytest.mark.parametrize("combo", COMBOS[::3], ids=combo_id)
def test_paper_parts_event_equals_dense_in_fixed_point(combo):
    kind, dirs, disc, norm, pre, n_ssm = combo
    net, _ = make_net(kind=kind, directions=dirs, disc=disc, norm=norm, prenorm=pre, n_ssm=n_ssm)
    fp = calibrate(net, x_for(seed=5, B=4, L=40), W8S24)
    assert engines_agree(net, x_for(B=3, L=40), fp) == []


def test_streaming_in_fixed_point_equals_a_whole_run():
    net = networks()["lif"]
    x = x_for(B=2, L=40)
    fp = calibrate(net, x_for(seed=9, B=4, L=40), W8S24)
    whole = run(net, x, engine="event", dtype=fp)
    s = Stream(net, batch=2, dtype=fp)
    s.feed(x[:, :13])
    s.feed(x[:, 13:])
    assert np.array_equal(s.logits(), whole.logits)


@pytest.mark.parametrize("name", SHIPPED)
def test_trained_checkpoints_event_equals_dense_in_fixed_point(name):
    import scenarios
    net = load_network(ROOT / "scenarios" / "checkpoints" / f"{name}.h5")
    sc = scenarios.get("smnist")
    fp = calibrate(net, sc.load("train", n=8)[0], load_chip("loihi2").precision())
    x, labels = sc.load("test", n=2)
    assert engines_agree(net, x, fp) == []


# ---- parts against integer references written from their semantics ----------------------------------------------

def _shift(x, k, rounding):
    """x * 2^-k as the precision rounds: floor, or toward zero (k >= 0)."""
    x = np.asarray(x, dtype=object)
    if rounding == "floor":
        return np.vectorize(lambda v: v >> k, otypes=[object])(x)
    return np.vectorize(lambda v: v >> k if v >= 0 else -((-v) >> k), otypes=[object])(x)


def _q(a, frac, rounding):
    x = np.ldexp(np.asarray(a, np.float64), frac)
    return (np.floor(x) if rounding == "floor" else np.trunc(x)).astype(np.int64)


def _frac(m, bits, headroom):
    return bits - 2 - headroom - int(np.floor(np.log2(m)))


@pytest.mark.parametrize("rounding", ["floor", "truncate"])
def test_s4d_part_matches_a_python_integer_recurrence(rounding):
    """One S4D layer in arbitrary-precision Python integers from the documented format: coefficients with 13-bit
    signed mantissas and a shared exponent; each sum formed at the finer of its terms' scales and rounded once
    when committed: the state after each step, y = 2 Re(C s) + D u."""
    prec = dataclasses.replace(W8S24, rounding=rounding, weight_rounding=rounding)
    net, _ = make_net(kind="binary_s4d", n_layers=1)
    x = x_for(B=2, L=25)
    fp = calibrate(net, x, prec)
    cn = compile_network(net, fp)
    sc = cn.layers[0].scales
    u_int = np.asarray(np.random.default_rng(4).integers(-2**20, 2**20, size=(2, 25, net.H)), np.int64)
    u_int[:, 5:9] = 0
    st = cn.layers[0].ssm.new_state(2)
    y, _ = cn.layers[0].ssm.run(u_int, st, True)

    d = discretize(net.blocks[0].ssm, net.disc)
    R = dict(fp.ranges)
    f_s = _frac(R["0.ssm.state"], 24, 1)
    f_y = _frac(R["0.y"], 24, 1)
    f_u = sc.f_z
    coef = lambda z: (_frac_w(np.concatenate([np.ravel(z.real), np.ravel(z.imag)]), 13))  # noqa: E731
    f_a, f_b, f_c, f_d = coef(d.Ab), coef(d.Bb), coef(d.C[0]), _frac_w(d.D, 13)
    ar, ai = _q(d.Ab.real, f_a, rounding), _q(d.Ab.imag, f_a, rounding)
    br, bi = _q(d.Bb.real, f_b, rounding), _q(d.Bb.imag, f_b, rounding)
    cr, ci = _q(d.C[0].real, f_c, rounding), _q(d.C[0].imag, f_c, rounding)
    dq = _q(d.D, f_d, rounding)
    lim = 2**23

    def meet(k, cap):
        """A sum of terms at frac F and F + k: formed at the finer frac (left shifts), at most `cap` bits finer
        than F; a term finer still is rounded first. Returns (shift of the first, pre-round, shift of second)."""
        return (min(k, cap), k - min(k, cap), 0) if k >= 0 else (0, 0, -k)

    la, pb, lb = meet(f_b + f_u - (f_a + f_s), 22)
    ly, pd, ld = meet(f_d + f_u - (f_c + f_s), 16)
    expect = np.zeros_like(y)
    for b in range(2):
        sr = [[0] * ar.shape[1] for _ in range(net.H)]
        si = [[0] * ar.shape[1] for _ in range(net.H)]
        for t in range(25):
            for h in range(net.H):
                x_ = int(u_int[b, t, h])
                acc = 0
                for n in range(ar.shape[1]):
                    drive_r = _align(int(br[h, n]) * x_, pb, rounding) << lb
                    drive_i = _align(int(bi[h, n]) * x_, pb, rounding) << lb
                    re = _align(((int(ar[h, n]) * sr[h][n] - int(ai[h, n]) * si[h][n]) << la) + drive_r, f_a + la,
                                rounding)
                    im = _align(((int(ar[h, n]) * si[h][n] + int(ai[h, n]) * sr[h][n]) << la) + drive_i, f_a + la,
                                rounding)
                    sr[h][n], si[h][n] = min(max(re, -lim), lim - 1), min(max(im, -lim), lim - 1)
                    acc += int(cr[h, n]) * sr[h][n] - int(ci[h, n]) * si[h][n]
                total = ((2 * acc) << ly) + (_align(int(dq[h]) * x_, pd, rounding) << ld)
                expect[b, t, h] = min(max(_align(total, f_c + f_s + ly - f_y, rounding), -lim), lim - 1)
    assert np.array_equal(y, expect)


def _frac_w(a, bits):
    return bits - 2 - int(np.floor(np.log2(np.max(np.abs(a)))))


def _align(v, k, rounding):
    if k <= 0:
        return v << -k
    if rounding == "floor" or v >= 0:
        return v >> k
    return -((-v) >> k)


def lava_sigma_delta(a_in, vth, state_exp):
    """Lava's fixed-point sigma-delta neuron step as documented (lava-nc src/lava/proc/sdn/models.py, the
    'corrected' fixed model): sigma += a_in; act = ReLU(sigma); delta = act - act_prev; s_out = (delta where
    |delta| >= vth, else 0) >> state_exp; act_prev += s_out << state_exp. Written here, from that description."""
    T, N = a_in.shape
    sigma = np.zeros(N, np.int64)
    act_prev = np.zeros(N, np.int64)
    out = np.zeros((T, N), np.int64)
    for t in range(T):
        sigma = sigma + a_in[t]
        act = np.maximum(sigma, 0)
        delta = act - act_prev
        s_out = np.right_shift(np.where(np.abs(delta) >= vth, delta, 0), state_exp)
        act_prev = act_prev + np.left_shift(s_out, state_exp)
        out[t] = s_out
    return out


@pytest.mark.parametrize("vth, state_exp, scale", [(0, 0, 2**14), (5, 0, 8), (2000, 0, 2**14), (0, 3, 2**14),
                                                   (300, 6, 2**14), (4, 1, 8)])
def test_sigma_delta_part_matches_lavas_fixed_point_step(vth, state_exp, scale):
    rng = np.random.default_rng(vth + state_exp)
    T, N = 60, 16
    a_in = rng.integers(-scale, scale, size=(T, N))        # small steps: changes equal to vth occur
    a_in[20:30] = 0
    s_out = lava_sigma_delta(a_in, vth, state_exp)
    # Our part reads the sigma-decoded value (the SSM's y) and gives what the receiver holds.
    y = np.cumsum(a_in, axis=0)[None].astype(np.int64)
    held = np.zeros((1, N), np.int64)
    got = np.empty_like(y)
    sigma_delta_fixed(y, vth, np.full(N, state_exp, np.int64), FLOOR, held, got)
    assert np.array_equal(got[0], np.cumsum(s_out, axis=0))                      # what the receiver sums
    sent = np.diff(np.concatenate([np.zeros((1, N), np.int64), got[0]]), axis=0) != 0
    assert np.array_equal(sent, s_out != 0)                                      # messages at the same steps
    assert np.array_equal(held[0], np.cumsum(s_out << state_exp, axis=0)[-1])     # sender's state, 24-bit
    assert np.all(np.abs(held) < 2**23)


def test_lif_part_matches_an_integer_membrane():
    """v = trunc((beta_q v + y << s) / 2^f_beta), spike when v > vth_q, soft reset: from the LIF's equations."""
    from models.parts import LIF
    from simulator.fixed_point import BlockScales
    from simulator.parts.fixed_activation import FixedLIFRun
    from simulator.parts.base import Context
    part = LIF(beta=0.9, v_threshold=0.5, reset="soft")
    fx = BlockScales(W8S24, f_in=16, f_z=16, f_y=16, f_sent=16, f_out=16, f_next=16, internal={"activation.v": 3.0})
    r = FixedLIFRun(part, Context(dtype=np.int64, disc="bilinear", message="binary", fixed=fx))
    y = np.random.default_rng(2).integers(-2**15, 2**16, size=(1, 40, 3)).astype(np.int64)
    st = r.new_state(1)
    spikes, _ = r.run(y, st)
    f_v = 24 - 2 - 1 - 1          # max |v| 3.0 -> floor(log2 3) = 1
    f_b = 13 - 2 - (-1)           # beta 0.9 -> floor(log2 0.9) = -1
    bq, vq = int(np.trunc(0.9 * 2**f_b)), int(np.trunc(0.5 * 2**f_v))
    for h in range(3):
        v = 0
        for t in range(40):
            v = _align(bq * v + _align(int(y[0, t, h]), 16 - (f_b + f_v), "truncate"), f_b, "truncate")
            fired = v > vq
            assert spikes[0, t, h] == int(fired), (h, t)
            if fired:
                v -= vq


# ---- reports ----------------------------------------------------------------------------------------------------

def test_run_writes_a_precision_section(tmp_path):
    code, out, _ = call("run", "--precision", "w8s24", "--samples", "3", "--calibration", "4", "--out", tmp_path / "r")
    assert code == 0, out
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    p = s["precision"]
    assert s["dtype"] == "w8s24" and p["precision"]["state_bits"] == 24
    assert p["calibration"]["samples"] == 4 and "training" in p["calibration"]["source"]
    assert set(p) >= {"accuracy", "accuracy_float64", "prediction_agreement_with_float64", "spike_agreement",
                      "first_divergence", "saturations"}
    assert len(p["spike_agreement"]) == 4 and all(0.5 < a <= 1 for a in p["spike_agreement"])
    counts = json.loads((tmp_path / "r" / "counts.json").read_text())
    assert all(layer["needs"].get("message_bits") == 24 for layer in counts["layers"][1:-1])
    assert "saturations" not in counts["layers"][1]["counts"]


def test_energy_report_carries_the_precision(tmp_path):
    code, out, _ = call("energy", "--precision", "loihi2", "--samples", "2", "--calibration", "4", "--chips", "loihi2",
                        "--out", tmp_path / "e")
    assert code == 0, out
    data = json.loads((tmp_path / "e" / "energy.json").read_text())
    assert data["precision"]["precision"]["name"] == "loihi2"
    assert "Simulated at `loihi2`" in (tmp_path / "e" / "energy.md").read_text()


def test_validate_in_fixed_point_checks_the_engines(tmp_path):
    code, out, _ = call("validate", "--precision", "w8s24", "--samples", "2", "--calibration", "4")
    assert code == 0, out
    assert "event = dense engine, bit for bit: yes" in out


def test_float_dtype_alias_still_runs():
    code, out, _ = call("run", "--dtype", "float32", "--samples", "2")
    assert code == 0 and "float32" in out


def test_message_exponents_equalise_row_ranges_by_hand():
    from simulator.fixed_point import message_exponents
    rows = np.array([[240.0, -3.0], [2.0, 0.5], [0.0, 0.0], [-0.001, 0.0]])
    # 240/240 -> 0; 240/2 = 120 -> 6 (2 * 64 = 128 in (120, 240]); silent row -> 0; 240/0.001 -> capped at 12
    assert message_exponents(rows, 12).tolist() == [0, 6, 0, 12]


def test_sigma_delta_checkpoint_keeps_its_predictions_at_loihi2():
    """The 8-bit shared-exponent weights of its folded-norm linear layers span 0.04..280: without per-channel
    message exponents most weights quantise to 0 (15 % accuracy measured); with them predictions hold."""
    import scenarios
    net = load_network(ROOT / "scenarios" / "checkpoints" / "smnist_sigma_delta_s4d.h5")
    sc = scenarios.get("smnist")
    fp = calibrate(net, sc.load("train", n=16)[0], load_chip("loihi2").precision())
    x, _ = sc.load("test", n=24)
    agree = np.mean(run(net, x, dtype=fp).predictions == run(net, x).predictions)
    assert agree >= 22 / 24
