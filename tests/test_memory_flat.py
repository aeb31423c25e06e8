"""The run path holds memory flat in the number of samples: spike events are written and dropped per shard,
never gathered (the measured table is in docs/scale.md, from benchmarks/memory.py)."""
import tracemalloc

import numpy as np
import pytest
from conftest import make_net

from simulator.results_store import ShardStore
from simulator.runner import evaluate


def peak_bytes(net, x, folder, keep_spikes):
    store = ShardStore(folder, {"n": len(x)}, resume=False) if folder is not None else None
    evaluate(net, x[:4], shard_size=4, progress=False, keep_spikes=keep_spikes)  # compile and warm up first
    tracemalloc.start()
    try:
        evaluate(net, x, shard_size=4, store=store, progress=False, keep_spikes=keep_spikes)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("with_out", [False, True])
def test_peak_memory_does_not_grow_with_samples(tmp_path, with_out):
    H, L, layers = 256, 300, 2
    net, _ = make_net(kind="binary_s4d", H=H, N=8, n_layers=layers)
    x = np.random.default_rng(3).normal(size=(96, L, 1))
    spike_bytes = layers * L * H // 8                 # a sample's spikes as bit masks (1 bit per slot)
    small = peak_bytes(net, x[:8], tmp_path / "a" if with_out else None, keep_spikes=False)
    large = peak_bytes(net, x, tmp_path / "b" if with_out else None, keep_spikes=False)
    # Gathering the spikes of the 88 extra samples would add ~88 x 19 kB; what may grow is per-sample
    # logits and counts (~1 kB a sample, whatever H is).
    assert large - small < 20 * spike_bytes, (small, large)
    base = small if not with_out else peak_bytes(net, x[:8], None, keep_spikes=False)
    kept = peak_bytes(net, x, None, keep_spikes=True)  # the in-memory API does gather them: the test can tell
    assert kept - base > 60 * spike_bytes, (base, kept)
