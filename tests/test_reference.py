"""The FFT reference forward pass against an independent step-by-step implementation (tests/direct_recurrence)."""
import numpy as np
import pytest
from conftest import COMBOS, combo_id, make_net

import direct_recurrence
from models import reference


@pytest.mark.parametrize("combo", COMBOS, ids=combo_id)
def test_reference_matches_direct_recurrence(combo, rng):
    kind, dirs, disc, norm, pre, n_ssm = combo
    net, sd = make_net(kind=kind, directions=dirs, disc=disc, norm=norm, prenorm=pre, n_ssm=n_ssm)
    x = rng.normal(size=(3, 40, 1))
    ref = reference.forward(net, x)
    logits, ys, spikes = direct_recurrence.forward(sd, x, kind=kind, disc=disc)
    assert np.max(np.abs(ref.logits - logits)) <= 1e-10 * max(1.0, np.abs(logits).max())
    for layer, y, sp in zip(ref.layers, ys, spikes):
        assert np.max(np.abs(layer.pre - y)) < 1e-10
        if sp is not None:
            assert np.array_equal(layer.spikes, sp.astype(np.int8))
            assert 0 < np.count_nonzero(sp) < sp.size  # non-trivial activity


@pytest.mark.parametrize("decoder", ["pool", "last"])
def test_decoder_modes_and_embedding(decoder, rng):
    net, sd = make_net(kind="binary_s4d", decoder=decoder, encoder="embedding", d_input=12)
    tokens = rng.integers(0, 12, size=(2, 30))
    logits, _, _ = direct_recurrence.forward(sd, tokens, decoder=decoder)
    assert np.allclose(reference.forward(net, tokens).logits, logits, atol=1e-10, rtol=0)


def test_long_sequence_kernel_is_accurate(rng):
    """FFT with 2L padding: no wrap-around, and Ab**l stays accurate at L in the thousands."""
    net, sd = make_net(kind="binary_s4d", directions=2, H=4, N=4, n_layers=1)
    x = rng.normal(size=(1, 3000, 1))
    logits, ys, _ = direct_recurrence.forward(sd, x)
    ref = reference.forward(net, x)
    assert np.max(np.abs(ref.layers[0].pre - ys[0])) < 1e-9
