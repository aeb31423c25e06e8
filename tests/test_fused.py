"""The fused kernel (simulator/fused/) gives the walker's bits: logits, spikes and every count, for every part
composition it takes, both engines, float64 and float32, any batch and any chunking; what it does not take
(bidirectional SSMs, recorded pre-activations) runs on the walker."""
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
