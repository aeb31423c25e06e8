"""The fused kernel (simulator/fused/) gives the walker's bits: logits, spikes and every count, for every part
composition it takes, both engines, float64, float32 and fixed point, any batch and any chunking; what it does not take
(bidirectional SSMs, recorded pre-activations) runs on the walker."""
import dataclasses

import numpy as np
import pytest
from conftest import make_net
from test_new_parts import UNIDIRECTIONAL, networks, x_for

from simulator.compiled import compile_network
from simulator.engine import Stream, run
from simulator.fused import driver_for
from simulator.fused.driver import TB

# every kind, norm and placement the paper layout has (disc and n_ssm do not change the kernel's code)
PAPER = [(kind, norm, pre) for kind in ("binary_s4d", "gsu", "s4d") for norm in ("batch", "layer")
         for pre in (False, True)]
L = TB + 19           # two time blocks, the second one short


def assert_same(a, b):
    assert np.array_equal(a.logits, b.logits)
    for ea, eb in zip(a.spikes, b.spikes, strict=True):
        for f in ("sample", "t", "neuron", "value"):
            assert np.array_equal(getattr(ea, f), getattr(eb, f)), f
    assert a.counts.keys() == b.counts.keys()
    for layer in a.counts:
        for field, v in a.counts[layer].items():
            assert np.array_equal(v, b.counts[layer][field]), (layer, field)


def both_paths(net, x, **kw):
    return run(net, x, use_fused=False, **kw), run(net, x, **kw)


@pytest.mark.parametrize("kind,norm,prenorm", PAPER)
def test_paper_compositions(kind, norm, prenorm):
    net, _ = make_net(kind=kind, norm=norm, prenorm=prenorm, n_ssm="shared", N=4)
    assert driver_for(compile_network(net)) is not None      # the fused path is really taken
    x = x_for(L=L)
    for engine in ("event", "dense"):
        walker, fused = both_paths(net, x, engine=engine, batch_size=2)
        assert_same(walker, fused)


@pytest.mark.parametrize("name", UNIDIRECTIONAL)
def test_new_part_compositions(name):
    net = networks()[name]
    assert driver_for(compile_network(net)) is not None
    x = x_for(L=L)
    for engine in ("event", "dense"):
        assert_same(*both_paths(net, x, engine=engine, batch_size=3))


@pytest.mark.parametrize("kind", ["binary_s4d", "gsu", "s4d"])
def test_float32(kind):
    net, _ = make_net(kind=kind)
    x = x_for(L=L)
    for engine in ("event", "dense"):
        assert_same(*both_paths(net, x, engine=engine, dtype="float32"))


def test_tokens_and_last_step_decoder(rng):
    net, _ = make_net(kind="binary_s4d", decoder="last", encoder="embedding", d_input=9)
    tokens = rng.integers(0, 9, size=(4, L))
    tokens[:, 5:9] = 0
    for engine in ("event", "dense"):
        assert_same(*both_paths(net, tokens, engine=engine, batch_size=3))


@pytest.mark.parametrize("name", ["lif", "s5", "meyer"])
def test_chunks_give_the_whole_run(name):
    """State (membranes, held values, S5's cached drive) carries across chunks that split time blocks."""
    net = networks()[name]
    x = x_for(B=2, L=L)
    whole = run(net, x, use_fused=False)
    s = Stream(net, batch=2)
    for a, b in ((0, 13), (13, 14), (14, L)):
        s.feed(x[:, a:b])
    assert_same(whole, s.result())


def test_what_fused_does_not_take_runs_on_the_walker():
    bidirectional, _ = make_net(kind="binary_s4d", directions=2)
    assert driver_for(compile_network(bidirectional)) is None
    net, _ = make_net(kind="binary_s4d")
    x = x_for(L=L)
    with_pre = run(net, x, record_pre=True)      # pre-activations are per-part arrays: the walker keeps them
    assert with_pre.pre is not None
    assert_same(with_pre, run(net, x))


# ---- fixed point: the fused kernel gives the walker's integers ------------------------------------------------

from models.precision import W8S24  # noqa: E402
from simulator.calibrate import calibrate  # noqa: E402

# W8S24 truncates and saturates; the second floors (the SSM's plain path) and wraps instead of saturating
FIXED_PRECISIONS = (W8S24, dataclasses.replace(W8S24, rounding="floor", saturate=False))
FIXED_NETS = ("lif", "sigma_delta", "meyer", "linear_spikes", "s4d_real")


def fixed_both_paths(net, x, prec, calibration, engine, batch_size, shrink=8.0):
    """Walker and fused results in fixed point, with the calibrated ranges shrunk by `shrink` (so that values
    saturate)."""
    fp = calibrate(net, calibration, prec)
    cn = compile_network(net, dataclasses.replace(fp, ranges=tuple((k, v / shrink) for k, v in fp.ranges)))
    assert driver_for(cn) is not None                        # the fused path is really taken
    return (run(net, x, engine=engine, compiled=cn, batch_size=batch_size, use_fused=False),
            run(net, x, engine=engine, compiled=cn, batch_size=batch_size))


def saturations(result) -> int:
    return sum(int(v["saturations"].sum()) for v in result.counts.values())


@pytest.mark.parametrize("kind", ["binary_s4d", "gsu", "s4d", "lif"])
def test_fixed_point_paper_kinds(kind):
    """Postnorm BatchNorm networks of every spiking kind (LIF: a binary S4D with LIF activations)."""
    if kind == "lif":
        net = networks()["lif"]
    else:
        net, _ = make_net(kind=kind, norm="batch", prenorm=False, N=4, n_layers=3)
    sat = 0
    for prec in FIXED_PRECISIONS:
        for engine in ("event", "dense"):
            walker, fused = fixed_both_paths(net, x_for(L=L), prec, x_for(seed=9, B=4, L=L), engine, 2)
            assert_same(walker, fused)
            sat += saturations(walker)
    assert sat > 0           # the saturation counts are compared, not only zeros


def no_norm_residual():
    """meyer's blocks (no norm) with the residual: the fixed join of h and the mixing output."""
    from test_new_parts import compose, linear, s4d_real

    from models.parts import ReLUSigmaDelta
    r = np.random.default_rng(8)
    return compose(**{str(i): dict(ssm=s4d_real(r), activation=ReLUSigmaDelta(0.0), mixing=linear(r, relu=True),
                                   norm=None, residual=True) for i in range(3)})


@pytest.mark.parametrize("name", FIXED_NETS + ("no_norm_residual",))
def test_fixed_point_new_parts(name):
    net = no_norm_residual() if name == "no_norm_residual" else networks()[name]
    for prec in FIXED_PRECISIONS:
        for engine in ("event", "dense"):
            assert_same(*fixed_both_paths(net, x_for(L=L), prec, x_for(seed=9, B=4, L=L), engine, 3))


@pytest.mark.parametrize("name", ["lif", "meyer"])
def test_fixed_point_chunks_give_the_whole_run(name):
    net = networks()[name]
    x = x_for(B=2, L=L)
    fp = calibrate(net, x_for(seed=9, B=4, L=L), W8S24)
    whole = run(net, x, dtype=fp, use_fused=False)
    s = Stream(net, batch=2, dtype=fp)
    assert s.sim.fused is not None
    for a, b in ((0, 13), (13, 14), (14, L)):
        s.feed(x[:, a:b])
    assert_same(whole, s.result())


def test_fixed_point_shipped_binary_s4d():
    import scenarios
    from conftest import ROOT

    from models.loading import load_network
    net = load_network(ROOT / "scenarios" / "checkpoints" / "smnist_binary_s4d.h5")
    sc = scenarios.get("smnist")
    x = sc.load("test", n=3)[0]
    for engine in ("event", "dense"):
        assert_same(*fixed_both_paths(net, x, W8S24, sc.load("train", n=8)[0], engine, 2, shrink=1.0))


def test_fixed_point_without_pieces_runs_on_the_walker():
    for net in (make_net(kind="binary_s4d", norm="layer")[0], make_net(kind="binary_s4d", prenorm=True)[0],
                networks()["s5"]):
        assert driver_for(compile_network(net, calibrate(net, x_for(seed=9, B=4, L=L), W8S24))) is None


def test_fixed_point_tokens_and_last_step_decoder(rng):
    net, _ = make_net(kind="binary_s4d", decoder="last", encoder="embedding", d_input=9)
    tokens = rng.integers(0, 9, size=(4, L))
    tokens[:, 5:9] = 0
    for engine in ("event", "dense"):
        assert_same(*fixed_both_paths(net, tokens, W8S24, rng.integers(0, 9, size=(4, L)), engine, 3))


def test_size_fixed_kernels_refuse_other_sizes_and_kernels_without_a_size_line():
    """simulator/fused/fixed_shapes.py: a copy of a kernel with its sizes written in refuses arrays of other
    sizes (it would index past them), and a kernel that does not read its sizes in one line is refused."""
    from numba import njit

    from simulator import kernels
    from simulator.fused import fixed_shapes
    ns = dict(vars(kernels))
    exec(fixed_shapes.source(kernels.ssm_roofline, "roof_2", "a_re", (2,)).replace("cache=True", "cache=False"), ns)
    u, y = np.ones((1, 5, 3)), np.zeros((1, 5, 3))
    coef = [np.full((3, 2), 0.5) for _ in range(6)]
    ns["roof_2"](u, *coef, np.ones(3), y)                     # the sizes it was written for
    want = y.copy()
    kernels.ssm_roofline(u, *coef, np.ones(3), y)             # the general kernel gives the same values
    assert np.array_equal(y, want)
    with pytest.raises(ValueError, match="compiled for other sizes"):
        ns["roof_2"](u, *[np.full((3, 3), 0.5) for _ in range(6)], np.ones(3), y)
    with pytest.raises(ValueError, match="one line that reads sizes"):
        fixed_shapes.source(njit(lambda a_re: a_re), "x", "a_re", (1,))
