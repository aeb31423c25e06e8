"""Both engines against the FFT reference, each other, a hand count, and the streaming API."""
import numpy as np
import pytest
from conftest import COMBOS, combo_id, make_net

from models import reference
from models.errors import InputError
from simulator.engine import Stream, run


def _spike_mismatches(result, ref):
    B, L, H = ref.layers[0].pre.shape
    return [int(np.count_nonzero(ev.to_dense(B, L, H) != layer.spikes)) for ev, layer in zip(result.spikes, ref.layers)
            if layer.spikes.size]


@pytest.mark.parametrize("combo", COMBOS, ids=combo_id)
def test_engines_reproduce_reference(combo, rng):
    kind, dirs, disc, norm, pre, n_ssm = combo
    net, _ = make_net(kind=kind, directions=dirs, disc=disc, norm=norm, prenorm=pre, n_ssm=n_ssm)
    x = rng.normal(size=(3, 60, 1))
    x[:, 10:20] = 0.0  # silent stretch: exercises sigma-delta reuse
    ref = reference.forward(net, x)
    out = {e: run(net, x, engine=e, record_pre=True, batch_size=2) for e in ("event", "dense")}
    for e, r in out.items():
        assert np.max(np.abs(r.logits - ref.logits)) <= 1e-9 * np.abs(ref.logits).max(), e
        assert all(m == 0 for m in _spike_mismatches(r, ref)), e
        for p, layer in zip(r.pre, ref.layers):
            assert np.max(np.abs(p - layer.pre)) < 1e-9
    ev, de = out["event"], out["dense"]
    assert np.array_equal(ev.logits, de.logits)
    for i in range(len(ev.spikes)):
        for f in ("sample", "t", "neuron", "value"):
            assert np.array_equal(getattr(ev.spikes[i], f), getattr(de.spikes[i], f))
    assert ev.counts.keys() == de.counts.keys()
    for layer in ev.counts:
        for field, v in ev.counts[layer].items():
            assert np.array_equal(v, de.counts[layer][field]), (layer, field)


def test_decoder_last_and_embedding(rng):
    net, _ = make_net(kind="gsu", decoder="last", encoder="embedding", d_input=9, directions=2)
    tokens = rng.integers(0, 9, size=(4, 33))
    ref = reference.forward(net, tokens)
    for e in ("event", "dense"):
        r = run(net, tokens, engine=e)
        assert np.allclose(r.logits, ref.logits, rtol=1e-9, atol=1e-12)
        assert all(m == 0 for m in _spike_mismatches(r, ref))


def test_float32_option_stays_close(rng):
    net, _ = make_net(kind="binary_s4d")
    x = rng.normal(size=(2, 50, 1))
    r32 = run(net, x, dtype="float32")
    assert np.allclose(r32.logits, reference.forward(net, x).logits, atol=1e-3)


def test_counts_of_a_tiny_network_by_hand():
    """One Binary S4D layer, H=2, N=2 (one mode), L=3, postnorm BatchNorm, one input channel.

    Input x = [0, 0, 1]: encoder messages only at t=2 (one value changes), so the encoder does
    1 message x 2 fan-out = 2 MACs. The SSM input u = W_enc x + b changes... we force b = 0 and make every
    channel silent until t=2, so states are exactly zero at t=0,1: skipped. At t=2 both channels update:
    2 channel updates, 2 x 1 mode updates, 2 input messages (u went 0 -> nonzero) x 1 mode = 2 MACs.
    """
    net, sd = make_net(kind="binary_s4d", H=2, N=2, n_layers=1)
    from dataclasses import replace
    enc = replace(net.encoder, weight=np.array([[1.0], [-1.0]]), bias=np.zeros(2))
    net = replace(net, encoder=enc)
    x = np.array([[[0.0], [0.0], [1.0]]])
    r = run(net, x, engine="event", record_pre=True)
    y = r.pre[0][0]
    assert np.all(y[:2] == 0.0) and np.all(y[2] != 0.0)
    spikes_t2 = int(np.sum(y[2] > 0))
    c = {k: int(v[0]) for k, v in r.counts["layer0"].items()}
    e = {k: int(v[0]) for k, v in r.counts["encoder"].items()}
    d = {k: int(v[0]) for k, v in r.counts["decoder"].items()}
    assert e["messages"] == 1 and e["graded_macs"] == 2 and e["dense_macs"] == 3 * 2 * 1
    assert c["channel_updates"] == 2 and c["mode_updates"] == 2 and c["dense_mode_updates"] == 3 * 2 * 1
    assert c["messages"] == 2 and c["graded_macs"] == 2
    assert c["spikes"] == spikes_t2 and c["spike_acs"] == spikes_t2 * 4     # fan-out 2H = 4
    assert c["sigmoid"] == c["multiply"] == c["residual_adds"] == c["norm_elements"] == 3 * 2
    assert c["norm_reductions"] == c["gelu"] == c["max_reductions"] == c["graded_acs"] == 0
    assert c["dense_macs"] == 3 * 4 * 2                                    # L x (2H x H)
    assert d["residual_adds"] == 3 * 2 and d["graded_macs"] == 10 * 2 and d["messages"] == 2


def test_gsu_counts_by_hand(rng):
    """GSU: spikes are the nonzero ternary values; the gate's fan-out is the nonzero ternary weights."""
    net, _ = make_net(kind="gsu", H=4, N=2, n_layers=1, norm="layer")
    x = rng.normal(size=(1, 5, 1))
    r = run(net, x, record_pre=True)
    ref = reference.forward(net, x)
    sp = ref.layers[0].spikes[0]
    W = net.blocks[0].mixing
    fan = np.count_nonzero(W.weight, axis=1)
    wt_fan = np.count_nonzero(W.ternary_weight(), axis=1)
    y = ref.layers[0].pre[0]
    changed = y != np.vstack([np.zeros((1, 4)), y[:-1]])
    c = {k: int(v[0]) for k, v in r.counts["layer0"].items()}
    assert c["spikes"] == np.count_nonzero(sp)
    assert c["spike_acs"] == int(((sp != 0) * fan).sum())
    assert c["graded_acs"] == int((changed * wt_fan).sum())
    assert c["max_reductions"] == c["gelu"] == c["multiply"] == 5 * 4
    assert c["norm_elements"] == c["norm_reductions"] == 2 * 5 * 4          # inner LayerNorm + block LayerNorm
    assert c["dense_macs"] == 5 * 2 * 4 * 4


@pytest.mark.parametrize("kind", ["binary_s4d", "gsu", "s4d"])
@pytest.mark.parametrize("engine", ["event", "dense"])
def test_streaming_equals_whole_sequence(kind, engine, rng):
    net, _ = make_net(kind=kind, norm="layer", prenorm=True)
    x = rng.normal(size=(2, 45, 1))
    whole = run(net, x, engine=engine, batch_size=2)
    s = Stream(net, batch=2, engine=engine)
    for t in range(5):
        s.feed(x[:, t])                      # single steps
    s.feed(x[:, 5:20])                       # a chunk
    s.feed(x[:, 20:])
    got = s.result()
    assert np.array_equal(got.logits, whole.logits)
    for a, b in zip(got.spikes, whole.spikes):
        assert np.array_equal(a.t, b.t) and np.array_equal(a.neuron, b.neuron) and np.array_equal(a.sample, b.sample)
    for layer in whole.counts:
        for f in whole.counts[layer]:
            assert np.array_equal(got.counts[layer][f], whole.counts[layer][f]), (layer, f)


def test_streaming_refuses_bidirectional():
    net, _ = make_net(directions=2)
    with pytest.raises(InputError, match="unidirectional"):
        Stream(net)


def test_recording_is_sparse_and_traces_pick_neurons(rng):
    net, _ = make_net(kind="binary_s4d")
    x = rng.normal(size=(2, 30, 1))
    r = run(net, x, trace_neurons=[1, 5])
    assert r.pre is None
    ref = reference.forward(net, x)
    assert np.array_equal(r.traces[0], ref.layers[0].pre[:, :, [1, 5]]) or np.allclose(r.traces[0], ref.layers[0].pre[:, :, [1, 5]], atol=1e-12)
    assert len(r.spikes[1]) == int(ref.layers[1].spikes.sum())


def test_neurobench_fields_by_hand(rng):
    from simulator.neurobench import neurobench_metrics
    net, _ = make_net(kind="binary_s4d", H=4, N=2, n_layers=2)
    x = rng.normal(size=(2, 6, 1))
    r = run(net, x)
    ref = reference.forward(net, x)
    m = neurobench_metrics(net, r)
    spikes = sum(int(layer.spikes.sum()) for layer in ref.layers)
    assert m["ActivationSparsity"] == pytest.approx(1 - spikes / (2 * 6 * 4 * 2))
    acs = sum(int((layer.spikes * np.count_nonzero(b.mixing.weight, axis=0)).sum()) for layer, b in zip(ref.layers, net.blocks))
    assert m["SynapticOperations"]["Effective_ACs"] == pytest.approx(acs / 2)
    assert m["SynapticOperations"]["Dense"] == 6 * 4 * 1 + 2 * 6 * 8 * 4 + 10 * 4
    assert m["ConnectionSparsity"] == 0.0 and m["ParameterCount"] == net.parameter_count


def _bits(a):
    return a.view(np.int64 if a.dtype == np.float64 else np.int32)


@pytest.mark.parametrize("rate", [0.005, 0.03, 0.2, 0.7])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("m", [24, 72, 160])
def test_event_and_dense_mixing_give_the_plain_loop_sums(rate, dtype, m):
    """The mixing kernel (register tiles of outputs over a step's listed inputs, simulator/vector_mix.py) gives
    bit for bit what a plain loop over inputs in ascending order gives: event, a +1 spike's row added and a -1
    spike's subtracted; dense, every row times its spike value. Ternary spikes, blocks of several lengths, and
    output counts below a tile, of whole tiles and a rest."""
    from simulator import kernels
    rng = np.random.default_rng(int(rate * 1000) + m)
    H, L = 40, 70
    draw = rng.uniform(size=(2, L, H))
    spikes = np.where(draw < rate / 2, -1, np.where(draw < rate, 1, 0)).astype(np.int8)
    w = rng.standard_normal((H, m)).astype(dtype)
    bias = rng.standard_normal(m).astype(dtype)
    for t0, t1 in [(0, 32), (32, 64), (64, 70), (3, 4)]:
        dense, event = np.empty((t1 - t0, m), dtype), np.empty((t1 - t0, m), dtype)
        kernels._spike_block(spikes, w, bias, 1, t0, t1, dense, False)
        kernels._spike_block(spikes, w, bias, 1, t0, t1, event, True)
        plain_event, plain_dense = np.tile(bias, (t1 - t0, 1)), np.tile(bias, (t1 - t0, 1))
        for k in range(t1 - t0):
            for i in range(H):
                v = spikes[1, t0 + k, i]
                plain_dense[k] += w[i] * dtype(v)
                if v > 0:
                    plain_event[k] += w[i]
                elif v < 0:
                    plain_event[k] -= w[i]
        assert np.array_equal(_bits(dense), _bits(plain_dense))
        assert np.array_equal(_bits(event), _bits(plain_event))
        assert np.array_equal(dense, event)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(64, 128), (3, 5), (0, 4)])
def test_mixing_weights_start_on_a_cache_line(dtype, shape):
    """The runners' weight rows start on a 64-byte boundary (vector loads that cross a cache line cost two) and
    hold the values NumPy's cast gives."""
    from simulator.vector_mix import aligned_rows
    a = np.random.default_rng(0).normal(size=shape)
    out = aligned_rows(a, dtype)
    assert (out.size == 0 or out.ctypes.data % 64 == 0) and out.flags.c_contiguous and out.dtype == dtype
    assert np.array_equal(out, a.astype(dtype))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_compiled_mixing_weights_are_aligned(dtype):
    import scenarios
    from models.loading import load_network
    from simulator.compiled import compile_network
    for name in ("smnist_binary_s4d", "smnist_gsu"):
        net = load_network(scenarios.CHECKPOINT_DIR / f"{name}.h5")
        for layer in compile_network(net, dtype).layers:
            assert layer.mixing.w_rows.ctypes.data % 64 == 0, name


@pytest.mark.parametrize("cpu, features, width", [("generic", "", 16), ("haswell", "+avx,+avx2,+fma", 32),
                                                  ("znver4", "+avx,+avx2,+avx512f", 64), (None, None, None)])
def test_mixing_tile_follows_the_compile_target(monkeypatch, cpu, features, width):
    """The mixing tile is eight of the widest vector registers of the CPU Numba compiles for: a named target's
    features, else the host's (which the CI's first pass runs on; the second names the generic target)."""
    from llvmlite import binding as llvm
    from numba.core import config
    from simulator import vector_mix
    monkeypatch.setattr(config, "CPU_NAME", cpu)
    monkeypatch.setattr(config, "CPU_FEATURES", features)
    if width is None:
        host = llvm.get_host_cpu_features()
        width = 64 if host.get("avx512f") else 32 if host.get("avx") else 16
    assert vector_mix._vector_bytes() == width
