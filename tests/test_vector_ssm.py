"""The walker's recurrences with the state in vector registers (simulator/vector_ssm.py) give the general
kernels' bits (simulator/kernels.py): outputs, carried state and counts, forward and backward, event and dense,
both dtypes, mode counts below, at and off a multiple of the four running sums, and inputs that start silent."""
import numpy as np
import pytest

from simulator import kernels, vector_ssm


def _bits(a):
    return a.view({8: np.int64, 4: np.int32}[a.itemsize])


def _coefficients(rng, H, n2, dtype):
    r = rng.uniform(0.5, 0.99, (H, n2))
    th = rng.uniform(0, np.pi, (H, n2))
    arr = lambda a: np.ascontiguousarray(a, dtype=dtype)  # noqa: E731
    return (arr(r * np.cos(th)), arr(r * np.sin(th)), arr(rng.normal(size=(H, n2))), arr(rng.normal(size=(H, n2))),
            arr(rng.normal(size=(H, n2))), arr(rng.normal(size=(H, n2))), arr(rng.normal(size=H)))


def _compare(u, ar, ai, br, bi, cr, ci, d, event):
    """Both kernels' forward (in two chunks: the state carries over) and backward passes, bit for bit."""
    dtype = u.dtype
    B, L, H = u.shape
    n2 = ar.shape[1]
    walker = vector_ssm.walker_kernels(H, n2)
    out = {}
    for name, fwd_fn, bwd_fn in (("general", kernels.ssm_forward, kernels.ssm_backward),
                                 ("vector", walker.ssm_forward, walker.ssm_backward)):
        s_re, s_im = np.zeros((B, H, n2), dtype), np.zeros((B, H, n2), dtype)
        u_prev, zero = np.zeros((B, H), dtype), np.ones((B, H), np.bool_)
        y, fwd, bwd = np.zeros_like(u), np.zeros((B, 3), np.int64), np.zeros((B, 1), np.int64)
        for t0, t1 in ((0, 17), (17, L)):        # two chunks: the state carries over
            yc = np.zeros((B, t1 - t0, H), dtype)
            fwd_fn(np.ascontiguousarray(u[:, t0:t1]), ar, ai, br, bi, cr, ci, d, s_re, s_im, u_prev, zero, event, yc,
                   fwd)
            y[:, t0:t1] = yc
        bwd_fn(u, ar, ai, br, bi, cr, ci, event, y, bwd)
        out[name] = (y, s_re, s_im, zero, fwd, bwd)
    for a, b in zip(out["general"], out["vector"]):
        if a.dtype.kind == "f":
            assert np.array_equal(_bits(a), _bits(b))
        else:
            assert np.array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n2", [3, 8, 32])
@pytest.mark.parametrize("event", [True, False])
def test_walker_recurrences_give_the_general_kernels_bits(dtype, n2, event):
    rng = np.random.default_rng(n2)
    u = rng.normal(size=(3, 50, 5)).astype(dtype)
    u[0, :20] = 0        # silent start (forward) ...
    u[1, 30:] = 0        # ... and silent end (the backward pass starts there)
    u[2, :, 1] = 0       # a channel silent throughout
    _compare(u, *_coefficients(rng, 5, n2, dtype), event)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_walker_recurrences_on_trained_weights(dtype):
    """The shipped sMNIST network's trained coefficients, every layer, fed the encoder's output for real
    held-out digits (whole sequences of 784 steps; the first layer's C serves the backward pass too)."""
    import scenarios
    from models.loading import load_network
    from simulator.compiled import compile_network
    cn = compile_network(load_network(scenarios.CHECKPOINT_DIR / "smnist_binary_s4d.h5"), dtype)
    x, _ = scenarios.get("smnist").load("test", n=3)
    u = np.ascontiguousarray(x.astype(dtype) * cn.enc_rows[0] + cn.enc_bias)
    for layer in cn.layers:
        r = layer.ssm
        _compare(u, r.a_re, r.a_im, r.b_re, r.b_im, r.c_re[0], r.c_im[0], r.d, True)


def test_walker_kernels_refuse_other_sizes():
    """The per-sample kernels in the generated module check the coefficients' sizes (the walker asks for the
    module of its layer's sizes)."""
    walker = vector_ssm.walker_kernels(4, 8)
    z = np.zeros((4, 6))
    u = np.zeros((10, 4))
    with pytest.raises(ValueError, match="compiled for other sizes"):
        walker.backward_sample_4x8(u, z, z, z, z, z, z, True, np.zeros_like(u), np.zeros((1, 1), np.int64), 0)
