"""The newer part kinds: lif and relu_sigma_delta activations, linear mixing, s5 and s4d_real SSMs.

Small random networks composed by hand (H=8, three blocks) are held to the numpy reference, the two engines to
each other bit for bit, streaming to whole runs, and the HDF5 format to a bit-exact round trip; tiny cases
check the counts by hand.
"""
import dataclasses

import h5py
import numpy as np
import pytest
from conftest import make_net

from models import checkpoint, reference
from models.errors import CheckpointError, InputError
from models.parts import GELU, LIF, S4D, S5, Heaviside, Linear, ReLUSigmaDelta, S4DReal
from models.spec import validate
from simulator.counting import counts_report
from simulator.engine import Stream, run

H = 8


# ---- random parts -----------------------------------------------------------------------------------------

def linear(rng, relu=False, h=H, sparsity=0.4):
    w = rng.normal(size=(h, h)) / np.sqrt(h)
    w[rng.random((h, h)) < sparsity] = 0.0          # sparse: counted by non-zero weights
    return Linear(weight=w, bias=0.1 * rng.normal(size=h), relu=relu)


def s5(rng, P=6, h=H, sparsity=0.0):
    B = (rng.normal(size=(P, h)) + 1j * rng.normal(size=(P, h))) / np.sqrt(h)
    C = (rng.normal(size=(h, P)) + 1j * rng.normal(size=(h, P))) / np.sqrt(P)
    B[rng.random((P, h)) < sparsity] = 0.0
    C[rng.random((h, P)) < sparsity] = 0.0
    return S5(log_dt=np.log(rng.uniform(0.01, 0.2, P)), inv_A_real=np.log(rng.uniform(0.1, 1.0, P)),
              A_imag=3.0 * rng.normal(size=P), B=B, C=C, D=rng.normal(size=h))


def s4d_real(rng, n=3, h=H, n_ssm=None, directions=1):
    rows = n_ssm or h
    return S4DReal(log_dt=np.log(rng.uniform(0.01, 0.2, h)), inv_A_real=np.log(rng.uniform(0.1, 1.0, (rows, n))),
                   B=rng.normal(size=(rows, n)), C=rng.normal(size=(directions, h, n)) / n, D=rng.normal(size=h))


def compose(disc="bilinear", seed=0, **replacements):
    """A 3-block binary S4D network (postnorm BatchNorm) whose blocks get the given parts:
    replacements = {block index: {field: part}}."""
    base, _ = make_net(kind="binary_s4d", H=H, N=4, n_layers=3, seed=seed, disc=disc)
    blocks = list(base.blocks)
    for i, fields in replacements.items():
        blocks[int(i)] = dataclasses.replace(blocks[int(i)], **fields)
    return validate(dataclasses.replace(base, blocks=tuple(blocks)))


def networks(disc="bilinear"):
    """Name -> network, every new part in at least two of them."""
    r = np.random.default_rng(7)
    meyer = {str(i): dict(ssm=s4d_real(r), activation=ReLUSigmaDelta(0.0), mixing=linear(r, relu=True), norm=None,
                          residual=False) for i in range(3)}
    return {
        "lif": compose(disc, **{"0": dict(activation=LIF(beta=0.8, v_threshold=0.2, reset="hard")),
                                "2": dict(activation=LIF(beta=1.0, v_threshold=0.3, reset="soft"))}),
        "sigma_delta": compose(disc, **{"1": dict(activation=ReLUSigmaDelta(0.0)),
                                        "2": dict(activation=ReLUSigmaDelta(0.05))}),
        "meyer": compose(disc, **meyer),
        "linear_spikes": compose(disc, **{"0": dict(mixing=linear(r)), "1": dict(mixing=linear(r, relu=True))}),
        "s5": compose(disc, **{"0": dict(ssm=s5(r, sparsity=0.3)),
                               "1": dict(ssm=s5(r, P=4), activation=GELU()),
                               "2": dict(ssm=s5(r), activation=LIF(beta=0.5, v_threshold=0.1), mixing=linear(r))}),
        "s4d_real": compose(disc, **{"0": dict(ssm=s4d_real(r)), "2": dict(ssm=s4d_real(r, n_ssm=2))}),
        "s4d_real_bidirectional": compose(disc, **{str(i): dict(ssm=s4d_real(r, directions=2)) for i in range(3)}),
    }


NAMES = list(networks())
UNIDIRECTIONAL = [n for n in NAMES if n != "s4d_real_bidirectional"]


def x_for(seed=3, B=3, L=50):
    x = np.random.default_rng(seed).normal(size=(B, L, 1))
    x[:, 12:20] = 0.0          # a silent stretch: states at rest, nothing sent
    return x


def dense_spikes(result, B, L):
    return [ev.to_dense(B, L, H) for ev in result.spikes]


# ---- reference == event == dense -----------------------------------------------------------------------------

@pytest.mark.parametrize("disc", ["bilinear", "zoh"])
@pytest.mark.parametrize("name", NAMES)
def test_engines_reproduce_reference(name, disc):
    net = networks(disc)[name]
    x = x_for()
    ref = reference.forward(net, x)
    out = {e: run(net, x, engine=e, record_pre=True, batch_size=2) for e in ("event", "dense")}
    B, L, _ = x.shape
    for e, r in out.items():
        np.testing.assert_allclose(r.logits, ref.logits, rtol=1e-9, atol=1e-9, err_msg=e)
        for i, layer in enumerate(ref.layers):
            np.testing.assert_allclose(r.pre[i], layer.pre, rtol=1e-9, atol=1e-9, err_msg=f"{e} layer {i}")
            if layer.spikes.size:
                assert np.array_equal(dense_spikes(r, B, L)[i], layer.spikes), (e, i)
            else:
                assert len(r.spikes[i]) == 0
    ev, de = out["event"], out["dense"]
    assert np.array_equal(ev.logits, de.logits)
    for a, b in zip(ev.spikes, de.spikes):
        assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("sample", "t", "neuron", "value"))
    for layer in ev.counts:
        for field, v in ev.counts[layer].items():
            assert np.array_equal(v, de.counts[layer][field]), (layer, field)
    assert sum(len(s) for s in ev.spikes) > 0 or name == "meyer"     # the spiking networks do spike


@pytest.mark.parametrize("engine", ["event", "dense"])
@pytest.mark.parametrize("name", UNIDIRECTIONAL)
def test_streaming_equals_whole_sequence(name, engine):
    net = networks()[name]
    x = x_for(seed=5, B=2, L=45)
    whole = run(net, x, engine=engine, batch_size=2)
    s = Stream(net, batch=2, engine=engine)
    for t in range(4):
        s.feed(x[:, t])                       # single steps
    s.feed(x[:, 4:17])                        # chunks, one ending inside the silent stretch
    s.feed(x[:, 17:])
    got = s.result()
    assert np.array_equal(got.logits, whole.logits)
    for a, b in zip(got.spikes, whole.spikes):
        assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("sample", "t", "neuron", "value"))
    for layer in whole.counts:
        for f in whole.counts[layer]:
            assert np.array_equal(got.counts[layer][f], whole.counts[layer][f]), (layer, f)


def test_streaming_refuses_bidirectional_real_s4d():
    with pytest.raises(InputError, match="unidirectional"):
        Stream(networks()["s4d_real_bidirectional"])


def test_float32_runs_stay_close():
    for name in ("meyer", "s5", "lif"):
        net = networks()[name]
        x = x_for(B=2, L=30)
        r32 = run(net, x, dtype="float32")
        assert r32.logits.dtype == np.float64
        assert np.allclose(r32.logits, reference.forward(net, x).logits, atol=1e-2), name


# ---- HDF5 format 2 ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_h5_round_trip_is_bit_exact(name, tmp_path):
    net = networks("zoh")[name]
    checkpoint.save(net, tmp_path / "n.h5")
    back = checkpoint.load(tmp_path / "n.h5")
    a, b = net.arrays(), back.arrays()
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) and a[k].dtype == b[k].dtype for k in a)
    for x, y in zip(net.blocks, back.blocks):
        assert x.residual == y.residual
        for role, part in x.parts().items():
            other = y.parts()[role]
            assert type(other) is type(part) and other.settings() == part.settings(), (role, part.kind)
            assert all(type(v) is type(part.settings()[k]) for k, v in other.settings().items())
    assert (back.N, back.n_ssm, back.directions, back.disc) == (net.N, net.n_ssm, net.directions, "zoh")
    x = x_for(B=2, L=20)
    assert np.array_equal(run(back, x).logits, run(net, x).logits)


def test_h5_settings_are_typed_and_ranged(tmp_path):
    net = networks()["lif"]
    path = tmp_path / "lif.h5"
    checkpoint.save(net, path)
    with h5py.File(path) as f:
        assert f["blocks/0/activation"].attrs["reset"] == "hard"
    for value, match in ((1, "'reset'.*expected str"), ("medium", "'reset'.*hard, soft.*'medium'")):
        bad = tmp_path / f"bad_{value}.h5"
        checkpoint.save(net, bad)
        with h5py.File(bad, "a") as f:
            f["blocks/0/activation"].attrs["reset"] = value
        with pytest.raises(CheckpointError, match=match):
            checkpoint.load(bad)
    bad = tmp_path / "beta.h5"
    checkpoint.save(net, bad)
    with h5py.File(bad, "a") as f:
        f["blocks/0/activation"].attrs["beta"] = 1.5
    with pytest.raises(CheckpointError, match=r"'beta'.*\[0, 1\].*1.5"):
        checkpoint.load(bad)


def test_h5_refuses_two_direction_s5(tmp_path):
    net = networks()["s5"]
    path = tmp_path / "s5.h5"
    checkpoint.save(net, path)
    with h5py.File(path, "a") as f:
        c = f["blocks/0/ssm/C"][()]
        del f["blocks/0/ssm/C"]
        f.create_dataset("blocks/0/ssm/C", data=np.stack([c, c]))
    with pytest.raises(CheckpointError, match="unidirectional"):
        checkpoint.load(path)


# ---- settings and shapes refused with clear messages --------------------------------------------------------------

@pytest.mark.parametrize("part, match", [
    (LIF(beta=-0.1), r"activation: beta: expected a finite number in \[0, 1\], found -0.1"),
    (LIF(beta=float("nan")), "activation: beta"),
    (LIF(v_threshold=0.0), "activation: v_threshold: expected a finite number > 0, found 0.0"),
    (LIF(v_threshold=-1.0), "v_threshold"),
    (LIF(reset="medium"), "activation: reset: expected one of hard, soft, found 'medium'"),
    (ReLUSigmaDelta(-0.5), "activation: delta_threshold: expected a finite number >= 0, found -0.5"),
    (ReLUSigmaDelta(float("inf")), "delta_threshold"),
])
def test_activation_settings_out_of_range_are_refused(part, match):
    with pytest.raises(CheckpointError, match=match):
        compose(**{"1": dict(activation=part)})


def test_linear_and_ssm_settings_and_shapes_are_refused():
    r = np.random.default_rng(0)
    good = linear(r)
    with pytest.raises(CheckpointError, match="mixing: relu: expected true or false, found 1"):
        compose(**{"0": dict(mixing=dataclasses.replace(good, relu=1))})
    with pytest.raises(CheckpointError, match=r"mixing/weight: expected shape \(8, 8\), found \(16, 8\)"):
        compose(**{"0": dict(mixing=dataclasses.replace(good, weight=np.zeros((16, 8))))})
    p = s5(r)
    with pytest.raises(CheckpointError, match="2 directions; S5 here is unidirectional only"):
        compose(**{"0": dict(ssm=dataclasses.replace(p, C=np.stack([p.C, p.C])))})
    with pytest.raises(CheckpointError, match=r"ssm/B: expected shape \(6, 8\)"):
        compose(**{"0": dict(ssm=dataclasses.replace(p, B=p.B[:, :4]))})
    with pytest.raises(CheckpointError, match=r"ssm/B: expected dtype complex128"):
        compose(**{"0": dict(ssm=dataclasses.replace(p, B=p.B.real.copy()))})
    # exp(dt * Lambda) rounds to 1 when dt * |Re(Lambda)| is below float64 resolution: refused as unstable
    slow = dataclasses.replace(p, inv_A_real=np.full(6, -40.0), A_imag=np.zeros(6))
    with pytest.raises(CheckpointError, match=r"blocks/0/ssm: unstable dynamics after zoh.*mode 0"):
        compose("zoh", **{"0": dict(ssm=slow)})
    q = s4d_real(r)
    with pytest.raises(CheckpointError, match=r"ssm/B: expected dtype float64"):
        compose(**{"0": dict(ssm=dataclasses.replace(q, B=q.B.astype(complex)))})


# ---- equivalences that tie the new SSMs to S4D -------------------------------------------------------------------

@pytest.mark.parametrize("disc", ["bilinear", "zoh"])
def test_real_s4d_is_s4d_with_zero_imaginary_parts(disc):
    """Same equations, so the same numbers: the real kernels do the complex kernels' operations minus the
    zero terms (bit for bit), and count real mode updates where S4D counts complex ones."""
    net = networks(disc)["s4d_real_bidirectional"]
    as_s4d = dataclasses.replace(net, blocks=tuple(dataclasses.replace(b, ssm=S4D(
        log_dt=b.ssm.log_dt, inv_A_real=b.ssm.inv_A_real, A_imag=np.zeros_like(b.ssm.inv_A_real),
        B=b.ssm.B.astype(complex), C=b.ssm.C.astype(complex), D=b.ssm.D)) for b in net.blocks))
    x = x_for()
    for e in ("event", "dense"):
        real, cplx = run(net, x, engine=e), run(as_s4d, x, engine=e)
        assert np.array_equal(real.logits, cplx.logits)
        for i in range(3):
            c, k = real.counts[f"layer{i}"], cplx.counts[f"layer{i}"]
            assert np.array_equal(c["real_mode_updates"], k["mode_updates"]) and c["mode_updates"].sum() == 0
            for f in ("channel_updates", "messages", "graded_macs", "spikes", "dense_mode_updates"):
                assert np.array_equal(c[f], k[f]), f
    assert [b.ssm.needs() for b in net.blocks] == [{"state": "real"}] * 3


@pytest.mark.parametrize("disc", ["bilinear", "zoh"])
def test_s5_with_block_structure_is_s4d(disc):
    """An S5 whose modes each belong to one channel (B and C block-diagonal) is an S4D layer: with S5's
    y = Re(C x), S4D's C becomes 2C. This checks S5's discretisation and output convention against S4D's."""
    net = make_net(kind="s4d", H=4, N=6, n_layers=1, disc=disc)[0]
    ssm = net.blocks[0].ssm
    n2 = ssm.modes
    P = 4 * n2
    owner = np.repeat(np.arange(4), n2)          # mode p belongs to channel p // n2
    B = np.zeros((P, 4), complex)
    C = np.zeros((4, P), complex)
    B[np.arange(P), owner] = ssm.B.reshape(-1)
    C[owner, np.arange(P)] = 2.0 * ssm.C[0].reshape(-1)
    five = S5(log_dt=ssm.log_dt[owner], inv_A_real=ssm.inv_A_real.reshape(-1), A_imag=ssm.A_imag.reshape(-1),
              B=B, C=C, D=ssm.D)
    s5_net = validate(dataclasses.replace(net, blocks=(dataclasses.replace(net.blocks[0], ssm=five),)))
    x = x_for(B=2, L=40)
    want = reference.forward(net, x)
    np.testing.assert_allclose(reference.forward(s5_net, x).layers[0].pre, want.layers[0].pre, rtol=1e-9, atol=1e-10)
    got = run(s5_net, x, record_pre=True)
    np.testing.assert_allclose(got.pre[0], want.layers[0].pre, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(got.logits, want.logits, rtol=1e-9, atol=1e-10)


# ---- counts by hand ----------------------------------------------------------------------------------------------

def tiny(ssm, activation, mixing, norm="keep", residual=True):
    """H=2, one block, encoder u = [x, -x] (weights 1 and -1, bias 0)."""
    net, _ = make_net(kind="binary_s4d", H=2, N=2, n_layers=1)
    enc = dataclasses.replace(net.encoder, weight=np.array([[1.0], [-1.0]]), bias=np.zeros(2))
    block = dataclasses.replace(net.blocks[0], ssm=ssm or net.blocks[0].ssm, activation=activation,
                                mixing=mixing or net.blocks[0].mixing, residual=residual,
                                **({} if norm == "keep" else {"norm": norm}))
    return validate(dataclasses.replace(net, encoder=enc, blocks=(block,)))


X_TINY = np.array([[[0.0], [0.0], [1.0], [1.0], [0.5]]])    # u changes at t=2 and t=4 in both channels


def layer_counts(result):
    return {k: int(v[0]) for k, v in result.counts["layer0"].items()}


@pytest.mark.parametrize("reset, updates", [("hard", 2), ("soft", 4)])
def test_lif_counts_and_resets_by_hand(reset, updates):
    """Channel 0 is driven by y = [0, 0.8, 0.8, 0, 0], channel 1 never: beta 0.5, threshold 1.
    v = 0.8, then 0.4 + 0.8 = 1.2 > 1: a spike at t=2. Hard reset: v = 0 and the neuron is at rest from
    then on (not updated): 2 updates. Soft: v = 0.2, 0.1, 0.05: 4 updates. One spike either way."""
    from simulator.parts import Context, runner
    part = LIF(beta=0.5, v_threshold=1.0, reset=reset)
    run_ = runner(part, Context(dtype=np.float64, disc="zoh"))
    y = np.zeros((1, 5, 2))
    y[0, 1:3, 0] = 0.8
    st = run_.new_state(1)
    sent, spikes = run_.run(y, st)
    assert np.array_equal(spikes[0, :, 0], [0, 0, 1, 0, 0]) and not spikes[0, :, 1].any()
    assert np.array_equal(part.forward(y)[1], spikes)
    want_v = 0.0 if reset == "hard" else (1.2 - 1.0) * 0.25
    assert st.v[0, 0] == pytest.approx(want_v, abs=1e-15) and st.v[0, 1] == 0.0
    got = {}
    run_.count(lambda f, v: got.__setitem__(f, int(np.sum(v))), 10, np.count_nonzero(spikes, axis=1), st)
    assert got == {"channel_updates": updates, "spikes": 1}


@pytest.mark.parametrize("threshold, sent, messages", [
    (0.1, [0.5, 0.5, 0.0, 0.2, 0.9], 4),
    (0.0, [0.5, 0.55, 0.0, 0.2, 0.9], 5),
    (0.6, [0.0, 0.0, 0.0, 0.0, 0.9], 1),
])
def test_sigma_delta_sends_by_hand(threshold, sent, messages):
    """a = ReLU(y) = [0.5, 0.55, 0, 0.2, 0.9]; a value is sent when it moved >= threshold from the last one sent."""
    from simulator.parts import Context, runner
    part = ReLUSigmaDelta(threshold)
    y = np.array([0.5, 0.55, -1.0, 0.2, 0.9])[None, :, None]
    run_ = runner(part, Context(dtype=np.float64, disc="zoh"))
    st = run_.new_state(1)
    got = np.concatenate([run_.run(y[:, :2], st)[0], run_.run(y[:, 2:], st)[0]], axis=1)   # two chunks
    assert np.array_equal(got[0, :, 0], sent) and np.array_equal(part.forward(y)[0][0, :, 0], sent)
    assert int(np.count_nonzero(np.diff(np.concatenate([[0.0], sent])))) == messages


def test_meyer_block_counts_by_hand():
    """Real S4D (1 mode) -> ReLU sigma-delta (threshold 0.05) -> linear ReLU with W = [[1, 0], [2, 3]], no norm,
    no residual. u changes at t=2 and t=4 in both channels: 4 input messages x 1 mode = 4 graded MACs; states at
    rest for t < 2: 3 steps x 2 channels updated. The linear's input i drives the non-zero entries of column i
    of W: 2 for input 0, 1 for input 1."""
    r = np.random.default_rng(1)
    ssm = s4d_real(r, n=1, h=2)
    mix = Linear(weight=np.array([[1.0, 0.0], [2.0, 3.0]]), bias=np.array([0.1, -0.1]), relu=True)
    net = tiny(ssm, ReLUSigmaDelta(0.05), mix, norm=None, residual=False)
    assert net.blocks[0].norm is None
    res = run(net, X_TINY, record_pre=True)
    c = layer_counts(res)
    held = ReLUSigmaDelta(0.05).forward(res.pre[0])[0][0]
    moved = held != np.vstack([np.zeros((1, 2)), held[:-1]])
    sends = int(moved.sum())
    assert sends > 0
    assert c["real_mode_updates"] == 6 and c["channel_updates"] == 6 and c["mode_updates"] == 0
    assert c["dense_mode_updates"] == 5 * 2 * 1
    assert c["messages"] == 4 + sends
    assert c["graded_macs"] == 4 * 1 + int(moved[:, 0].sum()) * 2 + int(moved[:, 1].sum()) * 1
    assert c["dense_macs"] == 5 * 4
    assert c["residual_adds"] == c["norm_elements"] == c["spikes"] == c["spike_acs"] == 0
    assert c["sigmoid"] == c["gelu"] == c["multiply"] == 0
    np.testing.assert_allclose(res.logits, reference.forward(net, X_TINY).logits, rtol=1e-9, atol=1e-12)


def test_linear_on_spikes_counts_non_zero_weights():
    net = networks()["linear_spikes"]
    x = x_for(B=2, L=30)
    ref = reference.forward(net, x)
    res = run(net, x)
    for i in (0, 1):
        W = net.blocks[i].mixing.weight
        want = int((np.count_nonzero(ref.layers[i].spikes, axis=1) @ np.count_nonzero(W, axis=0)).sum())
        c = {k: int(v.sum()) for k, v in res.counts[f"layer{i}"].items()}
        assert c["spike_acs"] == want and 0 < want
        assert c["dense_macs"] == 2 * 30 * H * H and c["sigmoid"] == 0
    assert net.blocks[1].mixing.needs() == {"elementwise": ["relu"]} and net.blocks[0].mixing.needs() == {}


def test_s5_counts_by_hand():
    """P=3 modes, H=2; B has zeros (input 0 drives 2 modes, input 1 drives 3), C has 4 non-zeros.
    u changes at t=2 and t=4 in both channels: B work = 2 x 2 + 2 x 3 = 10, readout 5 steps x 4 = 20."""
    r = np.random.default_rng(2)
    p = s5(r, P=3, h=2)
    B, C = p.B.copy(), p.C.copy()
    B[1, 0] = 0.0
    C[0, 0] = C[1, 2] = 0.0
    net = tiny(dataclasses.replace(p, B=B, C=C), Heaviside(), None)
    for e in ("event", "dense"):
        c = layer_counts(run(net, X_TINY, engine=e))
        assert c["mode_updates"] == c["dense_mode_updates"] == 5 * 3
        assert c["channel_updates"] == 5 * 2
        assert c["messages"] == 4
        assert c["graded_macs"] == 10 + 20
        assert c["real_mode_updates"] == 0
    report = counts_report(net, run(net, X_TINY))
    layer = report["layers"][1]
    assert layer["modes"] == 3 and layer["needs"]["state"] == "complex" and report["network"]["N"] == 6


# ---- energy: real modes priced as real -----------------------------------------------------------------------------

def test_real_modes_are_priced_as_real():
    from energy import estimate, load_chip
    from energy.mapping import DENSE_REAL_MODE_MACS, REAL_MODE_MACS, REAL_MODE_MULTS
    net = networks()["s4d_real"]
    x = x_for(B=2, L=30)
    counts = counts_report(net, run(net, x))
    layer0 = counts["layers"][1]
    assert layer0["needs"]["state"] == "real" and layer0["counts"]["real_mode_updates"] > 0
    assert layer0["counts"]["mode_updates"] == 0
    r = estimate(counts, "cmos45-fp32")
    chip = load_chip("cmos45-fp32")
    per_inf = layer0["counts"]["real_mode_updates"] / 2
    terms = [t for t in r["terms"] if t["layer"] == "layer0" and t["count"] == "real_mode_updates"]
    want = per_inf * (REAL_MODE_MACS * chip.energy_pj("mac") + REAL_MODE_MULTS * chip.energy_pj("mult"))
    assert sum(t["energy_pj"] for t in terms if t["primitive"] in ("mac", "mult")) == pytest.approx(want, rel=1e-12)
    assert [t["per_event"] for t in terms if t["primitive"] == "mem_state"] == [2]     # 1 read + 1 write
    dense = [t for t in r["ann"]["terms"] if t["layer"] == "layer0" and t["events_per_inference"]
             and t["count"] in ("mode_updates", "real_mode_updates")]
    assert {t["count"] for t in dense} == {"real_mode_updates"}       # the dense ANN's state work is real too
    assert all(t["events_per_inference"] == 30 * H * 3 for t in dense)
    assert any(t["primitive"] == "mac" and t["per_event"] == DENSE_REAL_MODE_MACS for t in dense)
    r = estimate(counts, "loihi")
    feats = {lim["feature"]: lim for lim in r["mapping"]["limitations"]}
    assert feats["real SSM state"]["native"] is True
    nu = [t for t in r["terms"] if t["layer"] == "layer0" and t["count"] == "real_mode_updates"
          and t["primitive"] == "neuron_update"]
    assert len(nu) == 1 and nu[0]["per_event"] == 1 and nu[0]["native"]


# ---- what a sigma-delta threshold costs ------------------------------------------------------------------------------

def test_threshold_cost_against_threshold_zero():
    from simulator.sigma_delta_cost import threshold_cost, with_delta_threshold
    net = networks()["meyer"]
    x = np.random.default_rng(9).normal(size=(12, 30, 1))
    rows = threshold_cost(net, x, [0.0, 0.05, 1e6])
    zero, mid, huge = rows
    assert zero["agreement"] == 1.0 and zero["max_logit_change"] == 0.0 and zero["messages"] == zero["messages_at_0"]
    for row, t in ((mid, 0.05), (huge, 1e6)):
        r = run(with_delta_threshold(net, t), x)
        base = run(net, x)
        assert row["agreement"] == np.mean(r.predictions == base.predictions)
        assert row["max_logit_change"] == np.max(np.abs(r.logits - base.logits))
    assert huge["messages"] < mid["messages"] < zero["messages"]
    assert huge["max_logit_change"] > 0.0
    with pytest.raises(InputError, match="no relu_sigma_delta"):
        threshold_cost(networks()["lif"], x, [0.1])
